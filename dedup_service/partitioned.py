"""A partitioned index: ``RedisIndex``'s operations on an index spread over
``layout.partitions`` slots, so over the nodes of a Redis Cluster (docs/design.md,
"Partitions"; where each piece lives: ``partitions``).

A write is three steps, each one pipeline (one round trip, every node's part sent at once):

1. claim: each article is recorded in its home partition and marked pending;
2. post: each partition searches the postings it holds, adding the article to them;
3. rows: the candidates' records are read in their homes.

The caller verifies the candidates; ``finish`` then links the copies, merging clusters
across partitions under the index's lock, and clears the pending mark last. A crash
between steps leaves a pending mark, a tombstone (an article taken out) or a merge record;
the repair sweep (``pending``) finishes each, as every step can be made again."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from . import constants as c
from . import protocol as p
from .clustergraph import ClusterGraph
from .fingerprint import Fingerprint
from .index import RedisIndex, guard
from .keys import site_key
from .partcalls import PartitionCalls
from .partitions import TOKEN, Search, SearchSettings, by_home
from .records import (
    ClusterSummary,
    Encoded,
    Finish,
    FinishResult,
    Found,
    ListingCursor,
    Member,
    Stored,
    UpsertResult,
    Write,
)
from .storedtext import unpack_text


@dataclass(frozen=True, slots=True)
class Claimed:
    """An article as a write's first step left it (see ``PartitionedIndex.claim``)."""

    status: str  # as UpsertResult's
    iid: str
    cluster_id: str
    pending: bool  # its postings and verdict are still to come (new, or sent again before they came)
    gone: str  # the internal id of the article it replaced, or ''


class PartitionedIndex(RedisIndex):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls = PartitionCalls(self.redis, self.key_prefix, self.layout.partitions, self.policy.patience,
                                    self._script_calls, self.keys["lock"])  # fmt: skip
        self.graph = ClusterGraph(self.calls)
        self.router, self.parts = self.calls.router, self.calls.parts
        self._settings = SearchSettings.of(self._search)

    async def _replicated(self) -> None:
        """With ``min_replicas``: each node of the index holds its writes on that many
        replicas (a bump of a partition's ack counter there, then WAIT)."""
        if not self.policy.min_replicas:
            return
        acks: dict[str, dict[str, Any]] = {}
        for keys in self.parts:
            ack = await self._ack_target(keys["ack"])
            acks.setdefault(ack["target_nodes"].name if "target_nodes" in ack else "", ack)

        def queue(pipe: Any) -> None:
            for ack in acks.values():
                self._queue_ack(pipe, ack)

        replies = await self.calls.pipe(queue)
        for ack, acked in zip(acks.values(), replies[1::2], strict=True):
            await self._check_acked(ack, acked)

    # -- writes

    def encode(self, items: Sequence[Write]) -> Encoded:
        return Encoded(items, p.write_rows(items, self.layout.shard_bits))

    async def write(self, encoded: Encoded) -> list[UpsertResult]:
        return await self._write_items(encoded.items, encoded.args)

    async def write_many(self, batch: Sequence[Encoded]) -> list[list[UpsertResult]]:
        results = await self._write_items([w for e in batch for w in e.items], [row for e in batch for row in e.args])
        out, at = [], 0
        for e in batch:
            out.append(results[at : at + len(e.items)])
            at += len(e.items)
        return out

    async def _write_items(self, items: Sequence[Write], rows: Sequence[tuple[Any, ...]]) -> list[UpsertResult]:
        claimed = await self.claim(items, rows)
        found = await self._search_all([(row[2], row[3], c.iid if c.pending else "", c.iid)
                                        for row, c in zip(rows, claimed, strict=True)])  # fmt: skip
        await self._replicated()
        return [UpsertResult(c.status, c.iid, c.cluster_id, f, None, c.pending)
                for c, f in zip(claimed, found, strict=True)]  # fmt: skip

    async def claim(self, items: Sequence[Write], rows: Sequence[tuple[Any, ...]]) -> list[Claimed]:
        """A write's first step (``encode``d ``rows``): each article recorded in its home,
        not yet in any posting, and marked pending; an article replaced is taken out."""
        homes = by_home(range(len(items)), lambda i: self.router.of_id(items[i].article_id))
        args = p.claim_args(time.time())
        calls = [self.calls.call(k, "claim", args, p.WRITE_ITEM, [rows[i] for i in at]) for k, at in homes.items()]
        replies = await self.calls.on(calls)
        claimed: dict[int, Claimed] = {}
        for at, reply in zip(homes.values(), replies, strict=True):
            for i, (status, iid, cid, pending, gone) in zip(at, reply, strict=True):
                claimed[i] = Claimed(status.decode(), iid.decode(), cid.decode(), bool(pending), gone.decode())
        if replaced := {self.router.of_iid(c.gone) for c in claimed.values() if c.gone}:
            await self.graph.bury(replaced)
        return [claimed[i] for i in range(len(items))]

    async def _search_all(self, queries: Sequence[tuple[bytes, bytes, str, str]]) -> list[Found]:
        """Candidates of each query (band tokens, anchor tokens, the internal id to add to
        its postings or '', the one to leave out or ''), in order: each partition takes
        the queries in order, so a query sees the postings of those before it."""
        searches = await self._post_all(queries)
        wanted = sorted({m.decode() for s in searches for m in s.wanted})
        records = {iid.encode(): rows for iid, rows in (await self.calls.per_article("rows", {}, wanted)).items()}
        return [s.found(records) for s in searches]

    async def _post_all(self, queries: Sequence[tuple[bytes, bytes, str, str]]) -> list[Search]:
        """The postings of each query (as ``_search_all``'s), read where they are, adding
        the article to them on the way when one is named."""
        where: list[tuple[list[int], list[int]]] = []
        per_part: dict[int, list[tuple[int, str, bytes, bytes]]] = {}
        for q, (bands, anchors, post, _) in enumerate(queries):
            (band_parts, by_band), (anchor_parts, by_anchor) = self.router.split(bands), self.router.split(anchors)
            where.append((band_parts, anchor_parts))
            for k in sorted(by_band.keys() | by_anchor.keys()):
                per_part.setdefault(k, []).append((q, post, by_band.get(k, b""), by_anchor.get(k, b"")))
        args = p.post_args(self.layout.max_postings, self.layout.max_anchor_postings)
        calls = [self.calls.call(k, "post", args, p.POST_ITEM, [item[1:] for item in items])
                 for k, items in per_part.items()]  # fmt: skip
        replies = await self.calls.on(calls)
        read: dict[tuple[int, int], tuple[Iterator[Any], Iterator[Any]]] = {}
        for (k, items), reply in zip(per_part.items(), replies, strict=True):
            for (q, _, bands, _), values in zip(items, reply, strict=True):
                read[q, k] = iter(values[: len(bands) // TOKEN]), iter(values[len(bands) // TOKEN :])
        return [
            Search([next(read[q, k][0]) for k in band_parts], [next(read[q, k][1]) for k in anchor_parts],
                   frozenset({skip.encode()}), self._settings)
            for q, ((band_parts, anchor_parts), (*_, skip)) in enumerate(zip(where, queries, strict=True))
        ]  # fmt: skip

    async def finish_many(self, items: Sequence[Finish]) -> list[FinishResult]:
        """Record verdicts: site lines counted and the marks of articles without copies
        cleared (one round trip), then each article with copies linked in turn."""
        if not items:
            return []
        calls = self.calls
        sites = by_home([i for i, f in enumerate(items) if f.site], lambda i: self.router.of_site(_site(items[i])))
        lone = by_home([f.iid for f in items if not f.links], self.router.of_iid)
        lines = p.learn_args(c.SITE_LINES_KEPT, self.chrome_min_stories)
        learning = [[(_site(items[i]), b"".join(items[i].line_keys)) for i in at] for at in sites.values()]
        replies = await calls.on([
            *(calls.call(k, "learn", lines, p.LEARN_ITEM, rows) for k, rows in zip(sites, learning, strict=True)),
            *(calls.call(k, "settle", {}, ("iid",), [(iid,) for iid in at]) for k, at in lone.items())])  # fmt: skip
        learnt = {i: keys for at, reply in zip(sites.values(), replies[: len(sites)], strict=True)
                  for i, keys in zip(at, reply, strict=True)}  # fmt: skip
        settled = {iid: cid for at, reply in zip(lone.values(), replies[len(sites) :], strict=True)
                   for iid, cid in zip(at, reply, strict=True)}  # fmt: skip
        out = []
        for i, f in enumerate(items):
            cid = await self.graph.link(f.iid, f.links) if f.links else settled[f.iid]
            out.append(FinishResult(None if cid is None else cid.decode(), p.site_learnt(f.site, learnt.get(i, []))))
        await self._replicated()
        return out

    # -- taking articles out

    async def delete(self, article_id: str) -> bool:
        removed = await self.take_out(article_id)
        await self.graph.bury({self.router.of_id(article_id)})
        await self._replicated()
        return removed

    async def take_out(self, article_id: str) -> bool:
        """A delete's first step: the article out of its home, leaving a tombstone that
        the rest of the delete (or the sweep) buries. False when it was not there."""
        k = self.router.of_id(article_id)
        (removed,) = await self.calls.on([self.calls.call(k, "delete", p.delete_args(article_id, time.time()))])
        return bool(removed)

    async def expire(self, cutoff: float, at_most: int) -> bool:
        share = max(1, at_most // self.layout.partitions)
        args = p.expire_args(cutoff, time.time(), share, 10 * share)
        replies = await self.calls.on([self.calls.call(k, "expire", args) for k in range(self.layout.partitions)])
        await self.graph.bury(set(range(self.layout.partitions)))
        await self._replicated()
        return any(removed >= share or steps >= 10 * share for removed, steps in map(p.expired, replies))

    async def pending(self, cutoff: float, at_most: int) -> list[str]:
        """The repair sweep: tombstones buried, merges a crash cut short carried out, and
        the articles pending since before ``cutoff`` posted again (a crash may have come
        before their postings); returns those articles, for their verdicts."""
        await self.graph.bury(set(range(self.layout.partitions)))
        await self.graph.resume_merges()
        before = f"({cutoff!r}"
        lists = await self.calls.pipe(
            lambda pipe: [
                pipe.zrangebyscore(keys["pending"], "-inf", before, start=0, num=at_most) for keys in self.parts
            ]
        )
        ids = [x.decode() for ids in lists for x in ids][:at_most]
        iids = [iid for iid in await self.calls.iids(ids) if iid is not None]
        docs = await self.calls.pipe(
            lambda pipe: [pipe.hmget(self.calls.of_article("doc", iid), "b", "a") for iid in iids]
        )
        await self._post_all([(b, a, iid, iid) for iid, (b, a) in zip(iids, docs, strict=True) if b is not None])
        await self._replicated()
        return ids

    # -- reads

    async def query(self, fp: Fingerprint, exclude_id: str | None = None) -> Found:
        skip = (await self.calls.iids([exclude_id]))[0] if exclude_id else None
        bands, anchors = p.tokens(fp.bands, self.layout.shard_bits), p.tokens(fp.anchors, self.layout.shard_bits)
        return (await self._search_all([(bands, anchors, "", skip or "")]))[0]

    async def get(self, article_id: str) -> Stored | None:
        (iid,) = await self.calls.iids([article_id])
        if iid is None:
            return None
        doc = self.calls.of_article("doc", iid)
        (d,) = await self.calls.pipe(lambda pipe: pipe.hmget(doc, "x", "c", "r", "m", "t", "a", "b", "z", "i"))
        if d[0] is None:
            return None
        (found,) = await self._search_all([(d[6], d[5], "", iid)])
        article = p.found(0, [iid.encode(), *d[:5], 0, len(d[5]) // TOKEN]).candidates[0]
        return Stored(article, unpack_text(d[7]), float(d[8]), found)

    async def texts(self, ids: Sequence[str], external: bool = False) -> dict[str, str]:
        iids = await self.calls.iids(ids) if external else list(ids)
        known = [(name, iid) for name, iid in zip(ids, iids, strict=True) if iid is not None]
        got = await self.calls.pipe(
            lambda pipe: [pipe.hget(self.calls.of_article("doc", iid), "z") for _, iid in known]
        )
        return {name: unpack_text(z) for (name, _), z in zip(known, got, strict=True) if z}

    async def clusters(self, article_ids: Sequence[str]) -> list[str | None]:
        iids = await self.calls.iids(article_ids)
        got = await self.calls.pipe(
            lambda pipe: [pipe.hget(self.calls.of_article("doc", iid), "c") for iid in iids if iid]
        )
        found = iter(got)
        return [None if iid is None or (cid := next(found)) is None else cid.decode() for iid in iids]

    async def cluster(self, cluster_id: str, max_members: int) -> tuple[int, list[Member]]:
        if not cluster_id[1:].isdigit():
            return 0, []
        (all_members,) = await self.calls.pipe(lambda pipe: pipe.smembers(self.calls.of_cluster("cluster", cluster_id)))
        shown = sorted(m.decode() for m in all_members)[:max_members]
        fields = ("x", "r", "m", "t", "i")
        docs = await self.calls.pipe(lambda pipe: [pipe.hmget(self.calls.of_article("doc", m), *fields) for m in shown])
        rows = [[m.encode(), *d] for m, d in zip(shown, docs, strict=True) if d[0] is not None]
        return p.cluster_members([len(all_members), rows])

    async def recent_clusters(
        self, since: float, after: ListingCursor | None, count: int, min_size: int, max_members: int
    ) -> tuple[ListingCursor | None, list[ClusterSummary]]:
        """Each partition's page of its clusters, merged in the listing's order (last
        change, then cluster id, both descending) and cut to ``count``."""
        args = p.recent_args(since, after, count, 0, max_members)
        pages = await self.calls.on([self.calls.call(k, "recent", args) for k in range(self.layout.partitions)])
        rows = sorted((row for page in pages for row in page[3]), key=lambda r: (float(r[1]), r[0]), reverse=True)
        rows = rows[:count]
        kept = [r for r in rows if int(r[2]) >= max(min_size, 1)]
        sample = sorted({m.decode() for r in kept for m in r[3]})
        docs = await self.calls.pipe(
            lambda pipe: [pipe.hmget(self.calls.of_article("doc", m), "m", "i") for m in sample]
        )
        shown = dict(zip(sample, docs, strict=True))

        def summary(cid: bytes, at: bytes, size: int, members: list[bytes], first: bytes) -> ClusterSummary:
            metas, times = [shown[m.decode()][0] for m in members], [shown[m.decode()][1] for m in members]
            if not first and int(size) == 1 and times:  # a lone article: its own ingest time
                first = times[0]
            where = ListingCursor(at.decode(), cid.decode())
            metas_read = [orjson.loads(m) for m in metas if m]
            return ClusterSummary(cid.decode(), int(size), metas_read, where, float(first) if first else None)

        summaries = [summary(*row) for row in kept]
        cursor = ListingCursor(rows[-1][1].decode(), rows[-1][0].decode()) if len(rows) == count else None
        return cursor, summaries

    async def chrome_lines(self, site_keys: Sequence[str]) -> list[list[bytes]]:
        args = p.chrome_args(self.chrome_min_stories, c.SITE_LINES_KEPT)
        homes = by_home(range(len(site_keys)), lambda i: self.router.of_site(site_keys[i]))
        calls = [
            self.calls.call(k, "chrome", args, ("site",), [(site_keys[i],) for i in at]) for k, at in homes.items()
        ]
        replies = await self.calls.on(calls)
        out: list[list[bytes]] = [[] for _ in site_keys]
        for at, reply in zip(homes.values(), replies, strict=True):
            for i, lines in zip(at, reply, strict=True):
                out[i] = list(lines)
        return out

    async def count(self) -> int:
        return sum(await self.calls.pipe(lambda pipe: [pipe.hlen(keys["ids"]) for keys in self.parts]))

    async def drop(self) -> None:
        await super().drop()

        async def run() -> None:
            batch = [key async for key in self.redis.scan_iter(match="{" + self.key_prefix + ":*", count=1000)]
            for start in range(0, len(batch), 1000):
                await self.redis.delete(*batch[start : start + 1000])

        await guard(run)


def _site(f: Finish) -> str:
    return site_key(f.site or "")
