"""Cross-checks of an index's keys, read straight from Redis, for either layout: every
structure points at whole articles, in the partition each belongs to."""

from __future__ import annotations

from typing import Any

from dedup_service.keys import key_layout, partition_names
from dedup_service.partitions import Router


def index_violations(r: Any, prefix: str, partitions: int = 1, settled: bool = True) -> list[str]:
    """What is wrong with the index ``prefix`` on ``r`` (a Redis or RedisCluster client).
    ``settled``: no sweep is due either (no tombstone or merge record is left)."""
    parts = [key_layout(name) for name in partition_names(prefix, partitions)]
    router = Router(partitions)

    def home(iid: str) -> dict[str, str]:
        return parts[router.of_iid(iid)]

    def cluster_home(cid: str) -> dict[str, str]:
        return parts[router.of_cluster(cid)]

    bad = []
    live: set[str] = set()
    for k, keys in enumerate(parts):
        for ext, iid in ((e.decode(), i.decode()) for e, i in r.hgetall(keys["ids"]).items()):
            if router.of_id(ext) != k or router.of_iid(iid) != k:
                bad.append(f"{ext} ({iid}) is not in its home partition")
            doc = r.hgetall(keys["doc"] + iid)
            if doc.get(b"x", b"").decode() != ext:
                bad.append(f"ids maps {ext} to a missing or other article")
                continue
            live.add(iid)
            cid = doc[b"c"].decode()
            if not r.sismember(cluster_home(cid)["cluster"] + cid, iid):
                bad.append(f"{ext} is not in its cluster {cid}")
            for nb in (m.decode() for m in r.smembers(keys["link"] + iid)):
                if not r.sismember(home(nb)["link"] + nb, iid):
                    bad.append(f"{ext} links {nb}, which does not link it back")
    for keys in parts:
        for kind in ("band", "anchor"):  # sharded hashes, field -> "iid,iid"
            for key in r.scan_iter(match=keys[kind] + "*", count=1000):
                posted = {m for value in r.hvals(key) for m in value.decode().split(",")}
                if stray := posted - live:
                    bad.append(f"{kind} postings hold deleted articles {sorted(stray)}")
        recent = {m.decode() for m in r.zrange(keys["recent"], 0, -1)}
        for key in r.scan_iter(match=keys["cluster"] + "*", count=1000):
            cid = key.decode()[len(keys["cluster"]) :]
            if cid not in recent:
                bad.append(f"cluster {cid} is not listed")
            for m in (x.decode() for x in r.smembers(key)):
                if r.hget(home(m)["doc"] + m, "c") != cid.encode():
                    bad.append(f"cluster {cid} lists {m}, which is elsewhere")
        for cid in recent:
            if not r.exists(cluster_home(cid)["cluster"] + cid):
                bad.append(f"cluster {cid} is listed and empty")
        if settled and r.exists(keys["gone"], keys["merging"]):
            bad.append("a tombstone or merge record is left")
    return bad
