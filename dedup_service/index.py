"""Redis I/O for the index: every operation is one atomic call of ``lua/index.lua``.

Layout (all keys share the hash tag ``{prefix}``, see ``constants.key_layout``): one hash
per article holding its packed signature, shingle count, text hash, facts, metadata and
cluster id, keyed by a small integer internal id so that LSH buckets and anchor postings
are compact Redis intsets; one set per LSH bucket and per anchor; one set of links per
article and one set per cluster; a sorted set of recently changed clusters; and per
site a bounded sorted set counting how many stories carried each line.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

import numpy as np
import orjson
import redis.exceptions
import xxhash
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from . import constants as c
from .classify import Candidate
from .constants import key_layout
from .errors import IndexUnavailable
from .features import Facts
from .fingerprint import Fingerprint
from .minhash import Signature

_SCRIPT = resources.files(__package__).joinpath("lua/index.lua").read_text(encoding="utf-8")
_ROW = 12  # fields per candidate row returned by the script
_MEMBER_ROW = 7  # fields per cluster member row
_UNAVAILABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    # Redis Cluster: no reachable node, slots not served, or a failover under way
    redis.exceptions.RedisClusterException,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.MasterDownError,
)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Found:
    """Candidates of one search, and how many of the query's anchors were searched."""

    candidates: list[Candidate]
    searched_anchors: int

    @classmethod
    def from_reply(cls, searched: int, rows: Sequence[bytes]) -> Found:
        return cls([_candidate(rows[i : i + _ROW]) for i in range(0, len(rows), _ROW)], int(searched))


@dataclass(frozen=True, slots=True)
class Write:
    """One article to index, with what the caller already verified about it."""

    article_id: str
    fingerprint: Fingerprint
    meta: dict[str, str]
    links: Sequence[str] = ()  # internal ids of its verified copies
    seen: Sequence[str] = ()  # internal ids of every candidate already verified
    site: str | None = None  # count its lines for this site's chrome statistics
    line_keys: Sequence[bytes] = ()


@dataclass(frozen=True, slots=True)
class Finish:
    """The verdict to record for one indexed article: its copies, and its site's lines."""

    iid: str
    links: Sequence[str]
    site: str | None = None
    line_keys: Sequence[bytes] = ()


@dataclass(frozen=True, slots=True)
class UpsertResult:
    status: str  # created | replaced | unchanged
    iid: str
    cluster_id: str
    found: Found


@dataclass(frozen=True, slots=True)
class Stored:
    article: Candidate
    text: str
    ingested_at: float
    found: Found


@dataclass(frozen=True, slots=True)
class Member:
    iid: str
    id: str
    signature: Signature
    text_hash: bytes
    meta: dict[str, str]
    ingested_at: float


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    cluster_id: str
    size: int
    metas: list[dict[str, str]]


def _text(value: bytes) -> str:
    return value.decode("utf-8")


def _u32(values: np.ndarray[Any, Any]) -> bytes:
    return values.astype("<u4").tobytes()


def _from_u32(data: bytes) -> np.ndarray[Any, np.dtype[np.uint32]]:
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def _candidate(row: Sequence[bytes]) -> Candidate:
    iid, ext, sig, size, th, meta, cid, figures, names, vocabulary, shared, anchors = row[:_ROW]
    return Candidate(
        iid=_text(iid),
        id=_text(ext),
        signature=Signature.from_bytes(sig, int(size)),
        text_hash=th,
        meta=orjson.loads(meta),
        cluster_id=_text(cid),
        facts=Facts(_from_u32(figures), _from_u32(names), _from_u32(vocabulary)),
        shared_anchors=int(shared),
        anchors=int(anchors),
    )


def site_key(site: str) -> str:
    """Sites are case-insensitive and hashed, so any site string makes a short key."""
    return xxhash.xxh3_64_hexdigest(site.strip().casefold().encode())


class RedisIndex:
    def __init__(self, redis: Redis | RedisCluster, key_prefix: str, max_candidates: int) -> None:
        self.redis = redis
        self.max_candidates = max_candidates
        keys = key_layout(key_prefix)
        self._match = "{" + key_prefix + "}*"
        self._keys = [keys["ids"]]  # the script derives every other key from this one
        self._base = keys["ids"][: -len("ids")]
        self._script = redis.register_script(_SCRIPT)
        self._search = [max_candidates, c.MIN_SHARED_ANCHORS, c.ANCHOR_MAX_POSTINGS]

    async def _call(self, command: str, *args: Any) -> Any:
        return await _guard(lambda: self._script(keys=self._keys, args=[command, *args]))

    async def upsert(self, article_id: str, fp: Fingerprint, meta: dict[str, str]) -> UpsertResult:
        """Index one article with no prior query: every candidate comes back unverified."""
        return (await self.upsert_many([Write(article_id, fp, meta)]))[0]

    async def upsert_many(self, items: Sequence[Write]) -> list[UpsertResult]:
        """Write articles in order, each whole with its copy links and site line counts in
        one step, UPSERT_CHUNK per script call (one round trip each). Each result carries
        the candidates the caller had not seen (``Write.seen``)."""
        out: list[UpsertResult] = []
        head = [repr(time.time()), c.SITE_LINES_KEPT, *self._search]
        for start in range(0, len(items), c.UPSERT_CHUNK):
            args: list[Any] = []
            for w in items[start : start + c.UPSERT_CHUNK]:
                fp = w.fingerprint
                lines = list(w.line_keys) if w.site else []
                args += [
                    w.article_id, fp.signature.to_bytes(), fp.bands, fp.anchors, fp.text_hash, fp.signature.size,
                    orjson.dumps(w.meta), _u32(fp.facts.figures), _u32(fp.facts.names), _u32(fp.facts.vocabulary),
                    zlib.compress(fp.text.encode("utf-8"), 1), site_key(w.site) if w.site else "",
                    len(lines), *lines, len(w.links), *w.links, len(w.seen), *w.seen,
                ]  # fmt: skip
            for status, iid, cid, searched, rows in await self._call("upsert", *head, *args):
                out.append(UpsertResult(_text(status), _text(iid), _text(cid), Found.from_reply(searched, rows)))
        return out

    async def query(self, fp: Fingerprint, exclude_id: str | None = None) -> Found:
        return (await self.query_many([(exclude_id, fp)]))[0]

    async def query_many(self, items: Sequence[tuple[str | None, Fingerprint]]) -> list[Found]:
        """Candidates of each fingerprint (read-only), leaving out the given article ids."""
        if not items:
            return []
        args: list[Any] = []
        for exclude, fp in items:
            args += [exclude or "", fp.bands, fp.anchors]
        return [Found.from_reply(searched, rows) for searched, rows in await self._call("check", *self._search, *args)]

    async def get(self, article_id: str) -> Stored | None:
        reply = await self._call("get", article_id, *self._search)
        if reply is None:
            return None
        art = _candidate(reply[:_ROW])
        text = zlib.decompress(reply[_ROW]).decode("utf-8")
        return Stored(art, text, float(reply[_ROW + 1]), Found.from_reply(*reply[_ROW + 2 :]))

    async def delete(self, article_id: str) -> bool:
        return bool(await self._call("delete", article_id, repr(time.time())))

    async def expire(self, cutoff: float, at_most: int) -> int:
        """Remove up to ``at_most`` articles ingested before ``cutoff`` (Unix seconds)."""
        return int(await self._call("expire", repr(cutoff), repr(time.time()), at_most))

    async def pending(self, cutoff: float, at_most: int) -> list[str]:
        """Articles indexed before ``cutoff`` whose candidates were never verified and linked
        (the service stopped between the two calls of an ingest)."""
        return [_text(x) for x in await self._call("pending", repr(cutoff), at_most)]

    async def site_line_counts_many(self, items: Sequence[tuple[str, Sequence[bytes]]]) -> list[list[int]]:
        """For each (site, line keys): how many distinct stories of the site carried each line."""
        args: list[Any] = []
        for site, keys in items:
            args += [site_key(site), len(keys), *keys]
        if not items:
            return []
        return [[int(float(x)) for x in counts] for counts in await self._call("site_lines", *args)]

    async def finish(
        self, iid: str, links: Sequence[str], site: str | None = None, line_keys: Sequence[bytes] = ()
    ) -> str | None:
        return (await self.finish_many([Finish(iid, links, site, line_keys)]))[0]

    async def finish_many(self, items: Sequence[Finish]) -> list[str | None]:
        """Record verdicts: count each article's lines for its site (when given), link it to
        its verified copies, merging their clusters; returns the cluster ids (None if gone)."""
        if not items:
            return []
        args: list[Any] = [repr(time.time()), c.SITE_LINES_KEPT]
        for f in items:
            lines = list(f.line_keys) if f.site else []
            args += [f.iid, site_key(f.site) if f.site else "", len(lines), *lines, len(f.links), *f.links]
        return [None if cid is None else _text(cid) for cid in await self._call("finish", *args)]

    def _delivery_key(self, delivery: str) -> str:
        return self._base + "w:" + xxhash.xxh3_128_hexdigest(delivery.encode())

    async def claim_delivery(self, delivery: str) -> bytes | None:
        """None when this call claimed the webhook delivery; else its stored answer
        (empty while the first attempt is still being processed)."""
        key = self._delivery_key(delivery)
        if await _guard(lambda: self.redis.set(key, b"", nx=True, ex=c.DELIVERY_PENDING_TTL)):
            return None
        answer: bytes | None = await _guard(lambda: self.redis.get(key))  # type: ignore[arg-type,return-value]
        return answer or b""

    async def store_delivery(self, delivery: str, answer: bytes) -> None:
        key = self._delivery_key(delivery)
        await _guard(lambda: self.redis.set(key, answer, ex=c.DELIVERY_TTL))

    async def release_delivery(self, delivery: str) -> None:
        key = self._delivery_key(delivery)
        await _guard(lambda: self.redis.delete(key))

    async def clusters(self, article_ids: Sequence[str]) -> list[str | None]:
        reply = await self._call("clusters", *article_ids)
        return [None if cid is None else _text(cid) for cid in reply]

    async def cluster(self, cluster_id: str, max_members: int) -> tuple[int, list[Member]]:
        size, rows = await self._call("cluster", cluster_id, max_members)
        members = []
        for i in range(0, len(rows), _MEMBER_ROW):
            iid, ext, sig, n, th, meta, ingested = rows[i : i + _MEMBER_ROW]
            members.append(
                Member(
                    _text(iid),
                    _text(ext),
                    Signature.from_bytes(sig, int(n)),
                    th,
                    orjson.loads(meta),
                    float(ingested),
                )
            )
        return int(size), members

    async def recent_clusters(
        self, since: float, offset: int, count: int, min_size: int, max_members: int
    ) -> tuple[int, list[ClusterSummary]]:
        """One page of clusters, most recently changed first; the first value is the page's
        raw length, so callers know when the listing is exhausted."""
        scanned, rows = await self._call("recent", repr(since), offset, count, min_size, max_members)
        return int(scanned), [
            ClusterSummary(_text(cid), int(size), [orjson.loads(m) for m in metas if m is not None])
            for cid, size, metas in rows
        ]

    async def drop(self) -> None:
        """Delete every key of this index (for throw-away indexes such as evaluation runs)."""

        async def run() -> None:
            batch = [key async for key in self.redis.scan_iter(match=self._match, count=1000)]
            for start in range(0, len(batch), 1000):
                await self.redis.delete(*batch[start : start + 1000])

        await _guard(run)

    async def count(self) -> int:
        """Articles in the index."""
        return int(await _guard(lambda: self.redis.hlen(self._keys[0])))

    async def ping(self) -> bool:
        return bool(await _guard(self.redis.ping))


async def _guard(call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except _UNAVAILABLE as exc:
        raise IndexUnavailable(f"index unavailable: {exc}") from exc
