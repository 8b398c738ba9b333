"""Redis I/O for the index: every operation is one atomic call of ``lua/index.lua``, laid
out by ``protocol``, on the keys ``keys`` names.

Layout (see docs/design.md): one hash per article (external id, text hash, cluster id,
ingest time, its posting tokens, a packed record of signature and facts, metadata and
cleaned text), keyed by a small integer internal id; LSH buckets and anchor postings as
fields of ``2**shard_bits`` sharded hashes whose values are comma-joined internal ids
(compact listpacks, no key per posting); one set of links per linked article and one set
per cluster; a sorted set of recently changed clusters; and per site a bounded sorted set
counting how many stories carried each line.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from typing import Any, TypeVar

import redis.exceptions
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from . import constants as c
from . import protocol as p
from .config import IndexLayout
from .errors import ConfigError, IndexUnavailable
from .fingerprint import Fingerprint
from .keys import SCRIPT_KEYS, key_layout
from .protocol import (
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
from .writer import WriteChain

_SCRIPT = resources.files(__package__).joinpath("lua/index.lua").read_text(encoding="utf-8")
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
_DEFAULT_LAYOUT = IndexLayout()
# layout fields an index records since they became settings, and the one value each had
# before: an index that holds none of them was built with these
_RECORDED_SINCE = {"anchor_sample": "8"}


class RedisIndex:
    def __init__(
        self,
        redis: Redis | RedisCluster,
        key_prefix: str,
        max_candidates: int,
        chrome_min_stories: int = c.CHROME_MIN_STORIES,
        layout: IndexLayout = _DEFAULT_LAYOUT,
    ) -> None:
        self.redis = redis
        self.key_prefix = key_prefix
        self.max_candidates = max_candidates
        self.chrome_min_stories = chrome_min_stories
        self.layout = layout
        self.keys = key_layout(key_prefix)
        self._script_keys = [self.keys[name].encode() for name in SCRIPT_KEYS]  # encoded once, not every call
        self._script = redis.register_script(_SCRIPT)
        self._search = p.fixed_args({"max_candidates": max_candidates, "min_shared": c.MIN_SHARED_ANCHORS,
                              "min_share": c.MIN_SHARED_ANCHOR_SHARE, "copy_share": c.COPY_ANCHOR_SHARE,
                              "max_post": layout.max_postings, "max_anchor_post": layout.max_anchor_postings,
                              "per_cluster": layout.cluster_candidates})  # fmt: skip
        self._write = {
            **p.fixed_args({"lines_kept": c.SITE_LINES_KEPT, "chrome_stories": chrome_min_stories}),
            **self._search,
        }

    async def _call(self, argv: list[Any]) -> Any:
        return await guard(lambda: self._script(keys=self._script_keys, args=argv))

    def encode(self, items: Sequence[Write]) -> Encoded:
        """The script call that writes ``items`` (apart, so that a pipeline can prepare it
        while Redis runs the previous one)."""
        return Encoded(items, p.write_call(items, time.time(), self._write, self.layout.shard_bits))

    async def write(self, encoded: Encoded) -> list[UpsertResult]:
        """Run an ``encode``d write: one round trip (a plain call: a pipeline of one costs
        the client more)."""
        return p.upserted(encoded.items, await self._call(encoded.args))

    async def write_many(self, batch: Sequence[Encoded]) -> list[list[UpsertResult]]:
        """Run ``encode``d writes in order, in one pipeline: one round trip for all."""
        keys = self._script_keys

        async def run() -> list[Any]:
            async with self.redis.pipeline(transaction=False) as pipe:
                for encoded in batch:
                    pipe.evalsha(self._script.sha, len(keys), *keys, *encoded.args)
                return await pipe.execute(raise_on_error=False)

        replies = await guard(run)
        if all(isinstance(r, redis.exceptions.NoScriptError) for r in replies):  # nothing ran: load it, again
            await guard(lambda: self.redis.script_load(_SCRIPT))
            replies = await guard(run)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return [p.upserted(encoded.items, reply) for encoded, reply in zip(batch, replies, strict=True)]

    def chain(self) -> WriteChain:
        """Writes made in the order sent (see ``WriteChain``)."""
        return WriteChain(self.write_many)

    async def query(self, fp: Fingerprint, exclude_id: str | None = None) -> Found:
        """Candidates of a fingerprint (read-only), leaving out the given article id."""
        shard_bits = self.layout.shard_bits
        bands, anchors = p.tokens(fp.bands, shard_bits), p.tokens(fp.anchors, shard_bits)
        searched, rows = await self._call(p.search_call(self._search, exclude_id or "", bands, anchors))
        return p.found(searched, rows)

    async def get(self, article_id: str) -> Stored | None:
        return p.stored(await self._call(p.get_call(article_id, self._search)))

    async def texts(self, ids: Sequence[str], external: bool = False) -> dict[str, str]:
        """Cleaned texts of indexed articles by internal id (or external, with
        ``external``); articles gone or unknown are left out."""
        if not ids:
            return {}
        reply = await self._call(p.one_field("texts", {}, "id" if external else "iid", ids))
        return {name: unpack_text(z) for name, z in zip(ids, reply, strict=True) if z}

    async def delete(self, article_id: str) -> bool:
        return bool(await self._call(p.call("delete", {"id": article_id, "now": repr(time.time())})))

    async def expire(self, cutoff: float, at_most: int) -> bool:
        """Remove up to ``at_most`` articles ingested before ``cutoff`` (Unix seconds);
        True when more may be left."""
        max_steps = 10 * at_most  # internal ids looked at, deleted ones included
        removed, steps = p.expired(await self._call(p.expire_call(cutoff, time.time(), at_most, max_steps)))
        return removed >= at_most or steps >= max_steps

    async def pending(self, cutoff: float, at_most: int) -> list[str]:
        """Articles indexed before ``cutoff`` whose candidates were never verified and linked
        (the service stopped between the two calls of an ingest)."""
        reply = await self._call(p.call("pending", {"cutoff": repr(cutoff), "at_most": at_most}))
        return [x.decode() for x in reply]

    async def chrome_lines(self, site_keys: Sequence[str]) -> list[list[bytes]]:
        """For each site (by ``keys.site_key``): the keys of the lines carried by at least
        ``chrome_min_stories`` of its stories (its chrome)."""
        if not site_keys:
            return []
        args = {"chrome_stories": self.chrome_min_stories, "at_most": c.SITE_LINES_KEPT}
        return [list(lines) for lines in await self._call(p.one_field("chrome", args, "site", site_keys))]

    async def finish(
        self, iid: str, links: Sequence[str], site: str | None = None, line_keys: Sequence[bytes] = ()
    ) -> FinishResult:
        return (await self.finish_many([Finish(iid, links, site, line_keys)]))[0]

    async def finish_many(self, items: Sequence[Finish]) -> list[FinishResult]:
        """Record verdicts: count each article's lines for its site (when given), link it to
        its verified copies, merging their clusters, and clear its pending mark."""
        if not items:
            return []
        argv = p.finish_call(items, time.time(), c.SITE_LINES_KEPT, self.chrome_min_stories)
        return p.finished(items, await self._call(argv))

    async def clusters(self, article_ids: Sequence[str]) -> list[str | None]:
        reply = await self._call(p.one_field("clusters", {}, "id", article_ids))
        return [None if cid is None else cid.decode() for cid in reply]

    async def cluster(self, cluster_id: str, max_members: int) -> tuple[int, list[Member]]:
        return p.cluster_members(await self._call(p.cluster_call(cluster_id, max_members)))

    async def recent_clusters(
        self, since: float, after: ListingCursor | None, count: int, min_size: int, max_members: int
    ) -> tuple[ListingCursor | None, list[ClusterSummary]]:
        """``count`` clusters scanned after ``after``, most recently changed first, and
        those of at least ``min_size`` members; with where the next page starts (None: the
        listing is exhausted)."""
        reply = await self._call(p.recent_call(since, after, count, min_size, max_members))
        return p.listing(reply, count)

    async def drop(self) -> None:
        """Delete every key of this index (for throw-away indexes such as evaluation runs)."""

        async def run() -> None:
            match = "{" + self.key_prefix + "}*"
            batch = [key async for key in self.redis.scan_iter(match=match, count=1000)]
            for start in range(0, len(batch), 1000):
                await self.redis.delete(*batch[start : start + 1000])

        await guard(run)

    async def check_layout(self) -> None:
        """Record the layout the index is built with on first use; raise ConfigError when
        an existing index was built with another (its signatures and postings would not
        match new ones)."""
        key, layout = self.keys["layout"], self.layout.recorded()

        async def record() -> list[bytes | None]:
            # an index built before some fields were recorded was built with their values then
            since = _RECORDED_SINCE if await self.redis.exists(key) else {}
            async with self.redis.pipeline(transaction=False) as pipe:
                for name, value in {**layout, **since}.items():  # a field it holds keeps its value
                    pipe.hsetnx(key, name, value)
                pipe.hmget(key, list(layout))
                return (await pipe.execute())[-1]  # type: ignore[no-any-return]

        stored = await guard(record)
        differ = [f"{name}={value.decode()} (configured: {layout[name]})" for name, value in zip(layout, stored,
                  strict=True) if value is not None and value.decode() != layout[name]]  # fmt: skip
        if differ:
            raise ConfigError(f"the index {self.key_prefix!r} was built with {', '.join(differ)}")

    async def exists(self) -> bool:
        """Whether anything was ever indexed here (an index records its layout on first use)."""
        return bool(await guard(lambda: self.redis.exists(self.keys["layout"])))

    async def count(self) -> int:
        """Articles in the index."""
        return int(await guard(lambda: self.redis.hlen(self.keys["ids"])))

    async def ping(self) -> bool:
        return bool(await guard(self.redis.ping))


async def guard(call: Callable[[], Awaitable[T]]) -> T:
    """Redis unreachable, or a cluster without the slot: IndexUnavailable (503)."""
    try:
        return await call()
    except _UNAVAILABLE as exc:
        raise IndexUnavailable(f"index unavailable: {exc}") from exc
