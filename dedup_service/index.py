"""Redis I/O for the index: every operation is one atomic call of ``lua/index.lua``, laid
out by ``protocol``, on the keys ``keys`` names (``partitioned``: the same operations on
an index spread over several slots).

Layout (see docs/design.md): one hash per article (external id, text hash, cluster id,
ingest time, its posting tokens, a packed record of signature and facts, metadata and
cleaned text), keyed by a small integer internal id; LSH buckets and anchor postings as
fields of ``2**shard_bits`` sharded hashes whose values are comma-joined internal ids
(compact listpacks, no key per posting); one set of links per linked article and one set
per cluster; a sorted set of recently changed clusters; and per site a bounded sorted set
counting how many stories carried each line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

import redis.exceptions
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from . import constants as c
from . import protocol as p
from .config import IndexLayout
from .errors import ConfigError, IndexUnavailable, NotReplicated
from .fingerprint import Fingerprint
from .keys import SCRIPT_KEYS, key_layout
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
from .writer import WriteChain

_SCRIPT = resources.files(__package__).joinpath("lua/index.lua").read_text(encoding="utf-8")
# calls a cluster refused without running them: the index's slot half moved (TRYAGAIN,
# or redirections until redis-py gives up: ClusterError), or a failover under way
# (CLUSTERDOWN, a ClusterError): safe to send again
_REFUSED = (redis.exceptions.TryAgainError, redis.exceptions.ClusterError, redis.exceptions.MasterDownError)
_UNAVAILABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    # Redis Cluster: no reachable node, or slots not served
    redis.exceptions.RedisClusterException,
    *_REFUSED,
)
T = TypeVar("T")
_DEFAULT_LAYOUT = IndexLayout()


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """How index calls are made on a replicated or clustered Redis: a write is done once
    ``min_replicas`` replicas hold it (WAIT, up to ``ack_timeout`` seconds), and a call
    refused without being run is sent again for up to ``patience`` seconds."""

    min_replicas: int = 0
    ack_timeout: float = 1.0
    patience: float = 0.0


# layout fields an index records since they became settings, and the one value each had
# before: an index that holds none of them was built with these
_RECORDED_SINCE = {"anchor_sample": "8", "partitions": "1"}


class RedisIndex:
    def __init__(
        self,
        redis: Redis | RedisCluster,
        key_prefix: str,
        max_candidates: int,
        chrome_min_stories: int = c.CHROME_MIN_STORIES,
        layout: IndexLayout = _DEFAULT_LAYOUT,
        policy: CallPolicy = CallPolicy(),
    ) -> None:
        self.redis = redis
        self.key_prefix = key_prefix
        self.max_candidates = max_candidates
        self.chrome_min_stories = chrome_min_stories
        self.layout = layout
        self.policy = policy
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

    async def _call(self, argv: list[Any], write: bool = False) -> Any:
        """One script call; a ``write`` is on ``min_replicas`` replicas too when it returns."""
        if write and self.policy.min_replicas:
            return (await self._calls([argv]))[0]
        return await guard(lambda: self._script(keys=self._script_keys, args=argv), self.policy.patience)

    async def _calls(self, argvs: Sequence[list[Any]]) -> list[Any]:
        """Script calls run in order, in one pipeline: one round trip for all. With
        ``min_replicas``, the pipeline ends by asking Redis to WAIT for that many replicas
        to hold what it wrote, and a shortfall raises NotReplicated."""
        return await self._script_calls([(self._script_keys, argv) for argv in argvs], bool(self.policy.min_replicas))

    async def _script_calls(self, calls: Sequence[tuple[list[bytes], list[Any]]], acked: bool) -> list[Any]:
        """Script calls, each on its keys (a partition's, in a partitioned index), in one
        pipeline; ``acked``: ending in WAIT on the index's slot (``_calls``)."""
        n = len(calls)

        async def send(sent: Sequence[int], ack: dict[str, Any] | None) -> list[Any]:
            async with self.redis.pipeline(transaction=False) as pipe:
                for i in sent:
                    keys, argv = calls[i]
                    pipe.evalsha(self._script.sha, len(keys), *keys, *argv)
                if ack is not None:
                    self._queue_ack(pipe, ack)
                return await pipe.execute(raise_on_error=False)

        async def run() -> list[Any]:
            ack = await self._ack_target() if acked else None
            replies = await send(range(n), ack)
            if missing := [i for i in range(n) if isinstance(replies[i], redis.exceptions.NoScriptError)]:
                # a node without the script (new, or restarted): its calls did not run
                await self.redis.script_load(_SCRIPT)
                again = await send(missing, ack)
                for i, reply in zip(missing, again, strict=False):
                    replies[i] = reply
                replies[n:] = again[len(missing) :]
            failed = [reply for reply in replies if isinstance(reply, Exception)]
            if failed and isinstance(failed[0], _REFUSED) and not all(isinstance(r, Exception) for r in replies[:n]):
                # some ran: sending all again would run those twice
                raise IndexUnavailable(f"index unavailable: {failed[0]}")
            if failed:
                raise failed[0]
            if ack is not None:
                await self._check_acked(ack, replies[-1])
            return replies[:n]

        return await guard(run, self.policy.patience)

    async def _ack_target(self, key: str | None = None) -> dict[str, Any]:
        """Where WAIT goes, after a bump of ``key`` (the index's ack counter by default):
        the connection that wrote, so the node of the key's slot (a cluster client would
        send a command without keys to every primary)."""
        key = key or self.keys["ack"]
        if isinstance(self.redis, RedisCluster):
            await self.redis.initialize()  # the slot map, learnt once (at once after that)
            return {"key": key, "target_nodes": self.redis.get_node_from_key(key)}
        return {"key": key}

    def _queue_ack(self, pipe: Any, ack: dict[str, Any]) -> None:
        # WAIT covers the connection's last write: a call that wrote nothing (an article
        # sent again) must still cover the earlier write of the same article
        pipe.incr(ack["key"])
        target = {"target_nodes": ack["target_nodes"]} if "target_nodes" in ack else {}
        pipe.wait(self.policy.min_replicas, int(self.policy.ack_timeout * 1000), **target)

    async def _check_acked(self, ack: dict[str, Any], acked: int) -> None:
        if "target_nodes" in ack and (now := await self._ack_target(ack["key"]))["target_nodes"] != ack["target_nodes"]:
            # the slot moved during the call: its WAIT counted the old node's replicas
            async with self.redis.pipeline(transaction=False) as pipe:
                self._queue_ack(pipe, now)
                acked = (await pipe.execute())[-1]
        if acked < self.policy.min_replicas:
            raise NotReplicated(
                f"written, but held by {acked} of the {self.policy.min_replicas} replicas asked for after "
                f"{self.policy.ack_timeout:g} s (DEDUP_MIN_REPLICAS_ACK); send it again"
            )

    def encode(self, items: Sequence[Write]) -> Encoded:
        """The script call that writes ``items`` (apart, so that a pipeline can prepare it
        while Redis runs the previous one)."""
        return Encoded(items, p.write_call(items, time.time(), self._write, self.layout.shard_bits))

    async def write(self, encoded: Encoded) -> list[UpsertResult]:
        """Run an ``encode``d write: one round trip (a plain call: a pipeline of one costs
        the client more; with ``min_replicas`` it is one, ending in WAIT)."""
        return p.upserted(encoded.items, await self._call(encoded.args, write=True))

    async def write_many(self, batch: Sequence[Encoded]) -> list[list[UpsertResult]]:
        """Run ``encode``d writes in order, in one pipeline: one round trip for all."""
        replies = await self._calls([encoded.args for encoded in batch])
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
        return bool(await self._call(p.call("delete", p.delete_args(article_id, time.time())), write=True))

    async def expire(self, cutoff: float, at_most: int) -> bool:
        """Remove up to ``at_most`` articles ingested before ``cutoff`` (Unix seconds);
        True when more may be left."""
        max_steps = 10 * at_most  # internal ids looked at, deleted ones included
        argv = p.expire_call(cutoff, time.time(), at_most, max_steps)
        removed, steps = p.expired(await self._call(argv, write=True))
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
        args = p.chrome_args(self.chrome_min_stories, c.SITE_LINES_KEPT)
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
        return p.finished(items, await self._call(argv, write=True))

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


async def guard(call: Callable[[], Awaitable[T]], patience: float = 0.0) -> T:
    """Redis unreachable, or a cluster without the slot: IndexUnavailable (503). A call the
    cluster refused without running it is sent again, backing off, for up to ``patience``
    seconds (a slot's move or a failover often ends in less)."""
    deadline, pause = time.monotonic() + patience, 0.05
    while True:
        try:
            return await call()
        except _REFUSED as exc:
            if time.monotonic() + pause > deadline:
                raise IndexUnavailable(f"index unavailable: its slot is moving or failing over ({exc})") from exc
        except _UNAVAILABLE as exc:
            raise IndexUnavailable(f"index unavailable: {exc}") from exc
        await asyncio.sleep(pause)
        pause = min(2 * pause, 0.5)
