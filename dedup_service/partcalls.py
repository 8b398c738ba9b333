"""Calls on the partitions of an index (I/O): each piece's key, script calls on the
partitions that hold them (one pipeline for all: one round trip, every node's share sent
at once), plain commands, and the index's lock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

import redis.exceptions
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from . import protocol as p
from .errors import IndexUnavailable
from .index import guard
from .keys import SCRIPT_KEYS, key_layout, partition_names
from .partitions import Router, by_home

# a holder that stops (a crash) frees the lock after this long; a merge takes milliseconds
LOCK_SECONDS = 10.0
Call = tuple[int, list[Any]]  # a script call, on partition k
ScriptRunner = Callable[[Sequence[tuple[list[bytes], list[Any]]], bool], Awaitable[list[Any]]]


class PartitionCalls:
    def __init__(self, redis: Redis | RedisCluster, prefix: str, parts: int, patience: float,
                 run_scripts: ScriptRunner, lock_key: str) -> None:  # fmt: skip
        self.redis = redis
        self.count = parts
        self.router = Router(parts)
        self.parts = [key_layout(name) for name in partition_names(prefix, parts)]
        self.patience = patience
        self._keys = [[k[name].encode() for name in SCRIPT_KEYS] for k in self.parts]
        self._run_scripts = run_scripts
        self._lock_key = lock_key
        self._here = asyncio.Lock()

    def of_article(self, name: str, iid: str) -> str:
        """Key ``name`` (doc, link) of an article, by internal id."""
        return self.parts[self.router.of_iid(iid)][name] + iid

    def of_cluster(self, name: str, cid: str) -> str:
        """Key ``name`` in a cluster's home: recent, first; cluster: its members."""
        key = self.parts[self.router.of_cluster(cid)][name]
        return key + cid if name == "cluster" else key

    def call(self, k: int, command: str, args: dict[str, Any], fields: Sequence[str] = (),
             items: Sequence[Sequence[Any]] = ()) -> Call:  # fmt: skip
        """A script call on partition ``k``."""
        return k, p.call(command, p.placed(args, k, self.count), fields, items)

    async def on(self, calls: Sequence[Call]) -> list[Any]:
        """Script calls on their partitions, in one pipeline."""
        if not calls:
            return []
        return await self._run_scripts([(self._keys[k], argv) for k, argv in calls], False)

    async def per_article(self, command: str, args: dict[str, Any], iids: Iterable[str]) -> dict[str, Any]:
        """Each article's reply to ``command`` (items: iid), called in its home."""
        homes = by_home(iids, self.router.of_iid)
        replies = await self.on([self.call(k, command, args, ("iid",), [(i,) for i in at]) for k, at in homes.items()])
        return {i: r for at, reply in zip(homes.values(), replies, strict=True) for i, r in zip(at, reply, strict=True)}

    async def pipe(self, queue: Callable[[Any], object]) -> list[Any]:
        """Plain commands (``queue`` puts them on a pipeline), in one pipeline: each step
        they make can be made again, so a pipeline a cluster refused is sent again whole."""

        async def run() -> list[Any]:
            async with self.redis.pipeline(transaction=False) as pipe:
                queue(pipe)
                return list(await pipe.execute())

        return await guard(run, self.patience)

    async def iids(self, article_ids: Sequence[str]) -> list[str | None]:
        """Internal ids of external ones (None: not indexed)."""
        got = await self.pipe(lambda pipe: [pipe.hget(self.parts[self.router.of_id(a)]["ids"], a)
                                            for a in article_ids])  # fmt: skip
        return [None if iid is None else iid.decode() for iid in got]

    @contextlib.asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """The index's lock, held while clusters change across partitions: two merges of
        one story at once would each move members the other is moving. Callers in this
        process queue for it here first, so that only one of them asks Redis for it (a
        queue of callers polling Redis would slow the holder they wait for)."""
        wait = max(self.patience, 1.0)
        try:
            await asyncio.wait_for(self._here.acquire(), wait)
        except TimeoutError:
            raise IndexUnavailable(f"index unavailable: its clusters' lock was held for over {wait:g} s") from None
        try:
            lock = self.redis.lock(self._lock_key, timeout=LOCK_SECONDS, sleep=0.002, blocking_timeout=wait,
                                   thread_local=False)  # fmt: skip
            if not await guard(lock.acquire, self.patience):
                raise IndexUnavailable(f"index unavailable: its clusters' lock was held for over {wait:g} s")
            try:
                yield
            finally:
                with contextlib.suppress(redis.exceptions.RedisError):
                    await lock.release()
        finally:
            self._here.release()
