"""A partitioned index's story clusters, changed across partitions (I/O): copies linked and
their clusters merged (a verdict), and articles taken out of their postings, links and
cluster, which splits when it falls apart (a delete). What the script's ``link``,
``remove`` and ``split`` do in one call, done in steps under the index's lock.

Every step can be made again, and each change leaves a mark until it is done: a merge
record (and the article's pending mark) for a verdict, a tombstone for a delete. So the
repair sweep finishes whatever a crash cut short."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from . import protocol as p
from .partcalls import PartitionCalls
from .partitions import by_home, connected_pieces


class ClusterGraph:
    def __init__(self, calls: PartitionCalls) -> None:
        self.calls = calls

    async def link(self, iid: str, others: Sequence[str]) -> bytes | None:
        """Link ``iid`` to ``others`` (verified copies) and merge their clusters into the
        largest (the lowest id among equals); the article's pending mark is cleared last.
        Its cluster, or None when it is gone."""
        calls = self.calls
        await self._adjoin(iid, others)
        async with calls.locked():

            def read(pipe: Any) -> None:
                pipe.hmget(calls.of_article("doc", iid), "c", "x")
                for o in others:
                    pipe.hget(calls.of_article("doc", o), "c")

            (own, ext), *theirs = await calls.pipe(read)
            if own is None:
                return None
            present = [(o, cid.decode()) for o, cid in zip(others, theirs, strict=True) if cid is not None]
            clusters: list[str] = list(dict.fromkeys([own.decode(), *(cid for _, cid in present)]))
            counted = await calls.pipe(lambda pipe: [pipe.scard(calls.of_cluster("cluster", c)) for c in clusters])
            sizes = dict(zip(clusters, counted, strict=True))
            best = clusters[0]
            for cid in clusters[1:]:
                if sizes[cid] > sizes[best] or (sizes[cid] == sizes[best] and cid < best):
                    best = cid
            await self.merge(iid, best, [cid for cid in clusters if cid != best], ext)
            return best.encode()  # as the one-slot script answers

    async def _adjoin(self, iid: str, others: Sequence[str]) -> None:
        """Link ``iid`` and ``others`` both ways, outside the lock: links need no cluster
        (a split reads only links between members of its cluster). Each half is added
        only in the home of an article still there; the half beside one that was taken
        out before is taken back, as the script links only articles still there (one
        taken out after has the link in its tombstone, and its burial takes it back)."""
        calls = self.calls
        halves: dict[str, list[str]] = {iid: list(others)}
        for o in others:
            halves.setdefault(o, []).append(iid)
        homes = by_home(halves, calls.router.of_iid)
        replies = await calls.on([calls.call(k, "adjoin", {}, p.ADJOIN_ITEM, [(x, ",".join(halves[x])) for x in at])
                                  for k, at in homes.items()])  # fmt: skip
        gone = {x for at, reply in zip(homes.values(), replies, strict=True) for x, here in zip(at, reply, strict=True)
                if not here}  # fmt: skip
        if gone:
            await calls.pipe(lambda pipe: [pipe.srem(calls.of_article("link", x), *(set(halves[x]) & gone))
                                           for x in halves if x not in gone and set(halves[x]) & gone])  # fmt: skip

    async def merge(self, iid: str, into: str, merged: Sequence[str], ext: bytes | None) -> None:
        """Merge clusters ``merged`` into ``into``, and touch it. Recorded first in the
        home of ``iid``; ``ext``'s pending mark (when given) and the record are cleared
        last. Under the lock."""
        calls = self.calls
        home, now = calls.router.of_iid(iid), time.time()
        record = calls.parts[home]["merging"]
        if merged:

            def start(pipe: Any) -> None:
                pipe.hset(record, iid, ",".join([into, *merged]))
                pipe.srandmember(calls.of_cluster("cluster", into))
                for cid in [into, *merged]:
                    pipe.zscore(calls.of_cluster("first", cid), cid)
                for cid in merged:
                    pipe.smembers(calls.of_cluster("cluster", cid))

            replies = await calls.pipe(start)
            one, firsts, members = replies[1], replies[2 : 3 + len(merged)], replies[3 + len(merged) :]
            if firsts[0] is None and one is not None:  # a lone article's first appearance is its own
                members.append({one})
            # relabelled in their homes: an article taken out meanwhile is not put back
            times = await calls.per_article(
                "relabel", p.relabel_args(into), sorted({m.decode() for s in members for m in s})
            )
            moved = [m for m, t in times.items() if t is not None]
            first = min(float(t) for t in [*firsts, *times.values()] if t is not None)

            def apply(pipe: Any) -> None:
                if moved:
                    pipe.sadd(calls.of_cluster("cluster", into), *moved)
                pipe.zadd(calls.of_cluster("first", into), {into: first})
                for cid in merged:
                    pipe.delete(calls.of_cluster("cluster", cid))
                    pipe.zrem(calls.of_cluster("recent", cid), cid)
                    pipe.zrem(calls.of_cluster("first", cid), cid)

            await calls.pipe(apply)

        def done(pipe: Any) -> None:
            pipe.zadd(calls.of_cluster("recent", into), {into: now})
            if ext is not None:
                pipe.zrem(calls.parts[home]["pending"], ext)
            pipe.hdel(record, iid)

        await calls.pipe(done)

    async def resume_merges(self) -> None:
        """Carry out the merges a crash cut short (their records)."""
        calls = self.calls
        records = await calls.pipe(lambda pipe: [pipe.hkeys(keys["merging"]) for keys in calls.parts])
        for keys, iids in zip(calls.parts, records, strict=True):
            for iid in (x.decode() for x in iids):
                async with calls.locked():  # read again: a live merge may have finished it
                    (clusters,) = await calls.pipe(lambda pipe: pipe.hget(keys["merging"], iid))  # noqa: B023
                    if clusters is not None:
                        into, *merged = clusters.decode().split(",")
                        await self.merge(iid, into, merged, None)

    async def bury(self, partitions: set[int]) -> None:
        """Finish the tombstones of ``partitions``: each article taken out of its home
        leaves its postings, its neighbours' links and its cluster."""
        calls, ks = self.calls, sorted(partitions)
        lists = await calls.pipe(lambda pipe: [pipe.zrange(calls.parts[k]["gone"], 0, -1) for k in ks])
        for k, iids in zip(ks, lists, strict=True):
            for iid in iids:
                await self._bury_one(k, iid.decode())

    async def _bury_one(self, k: int, iid: str) -> None:
        calls = self.calls
        tomb = calls.parts[k]["tomb"] + iid
        ((ext, bands, anchors, cid, ingested, nbrs),) = await calls.pipe(
            lambda pipe: pipe.hmget(tomb, "x", "b", "a", "c", "i", "n")
        )
        if ext is not None:
            (_, by_band), (_, by_anchor) = calls.router.split(bands), calls.router.split(anchors)
            unposts = [
                (j, [(iid, by_band.get(j, b""), by_anchor.get(j, b""))]) for j in by_band.keys() | by_anchor.keys()
            ]
            await calls.on([calls.call(j, "unpost", {}, p.POST_ITEM, items) for j, items in unposts])
            neighbours = [n for n in (nbrs or b"").decode().split(",") if n]
            cluster = cid.decode()

            def leave(pipe: Any) -> None:
                for n in neighbours:
                    pipe.srem(calls.of_article("link", n), iid)
                pipe.srem(calls.of_cluster("cluster", cluster), iid)

            async with calls.locked():
                await calls.pipe(leave)
                await self._regroup(cluster, len(neighbours) > 1, float(ingested))
        await calls.pipe(lambda pipe: [pipe.delete(tomb), pipe.zrem(calls.parts[k]["gone"], iid)])

    async def _regroup(self, cid: str, split: bool, left: float) -> None:
        """A cluster a member has left (ingested at ``left``): gone when empty; else
        touched, split into its connected pieces when the member linked several, and its
        first appearance found again when it was the member's. Under the lock."""
        calls = self.calls
        members_key, recent, first = (calls.of_cluster(name, cid) for name in ("cluster", "recent", "first"))
        size, was_first = await calls.pipe(lambda pipe: [pipe.scard(members_key), pipe.zscore(first, cid)])
        if size == 0:
            await calls.pipe(lambda pipe: [pipe.zrem(recent, cid), pipe.zrem(first, cid)])
            return
        now = time.time()
        await calls.pipe(lambda pipe: pipe.zadd(recent, {cid: now}))
        if not split and size > 1 and was_first != left:
            return
        members = [m.decode() for m in (await calls.pipe(lambda pipe: pipe.smembers(members_key)))[0]]

        def read(pipe: Any) -> None:
            for m in members:
                pipe.smembers(calls.of_article("link", m))
                pipe.hget(calls.of_article("doc", m), "i")

        replies = await calls.pipe(read)
        # members taken out and not yet buried stay: their burial takes them out
        times = {m: float(t) for m, t in zip(members, replies[1::2], strict=True) if t is not None}
        links = {m: {x.decode() for x in nbrs} for m, nbrs in zip(members, replies[::2], strict=True) if m in times}
        if not times:
            return
        pieces = sorted(connected_pieces(list(times), links), key=len, reverse=True) if split else [list(times)]
        for piece in pieces[1:]:
            ncid, moved = await self._split_off(cid, piece, now)
            await self._set_first(ncid, [times[m] for m in moved])
        await self._set_first(cid, [times[m] for m in pieces[0]])

    async def _split_off(self, cid: str, piece: Sequence[str], now: float) -> tuple[str, list[str]]:
        """Move ``piece`` of cluster ``cid`` into a new cluster of the same home: its id,
        and the members moved (those still there)."""
        calls = self.calls
        k = calls.router.of_cluster(cid)
        (n,) = await calls.pipe(lambda pipe: pipe.incr(calls.parts[k]["cseq"]))
        ncid = f"c{n * calls.count + k}"
        moved = [
            m for m, t in (await calls.per_article("relabel", p.relabel_args(ncid), piece)).items() if t is not None
        ]
        if moved:
            await calls.pipe(lambda pipe: [pipe.sadd(calls.of_cluster("cluster", ncid), *moved),
                                           pipe.srem(calls.of_cluster("cluster", cid), *moved),
                                           pipe.zadd(calls.of_cluster("recent", ncid), {ncid: now})])  # fmt: skip
        return ncid, moved

    async def _set_first(self, cid: str, times: Sequence[float]) -> None:
        """A cluster's first appearance, kept for clusters of two members or more."""
        key = self.calls.of_cluster("first", cid)
        await self.calls.pipe(lambda pipe: pipe.zadd(key, {cid: min(times)}) if len(times) > 1 else pipe.zrem(key, cid))
