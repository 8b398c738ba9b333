"""Index writes made in the order they are sent, each group of them in one pipeline."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Sequence

from .records import Encoded, UpsertResult
from .tasks import abandon


class WriteChain:
    """Writes made in the order they are sent. Each write joins a queue; whatever is
    queued goes to Redis in one pipeline (one round trip; Redis runs a connection's
    commands in order, and each write sees the ones before it), and when that returns,
    whatever was queued meanwhile goes next. So Redis gets the next writes as soon as it
    is done with the last, while this process verifies their results. A failure fails
    every write of its pipeline (those after it may have been made: their pending marks
    leave them to the repair sweep, as after a crash), and no later write is made. The
    same path serves a single Redis and Redis Cluster."""

    def __init__(self, write_many: Callable[[Sequence[Encoded]], Awaitable[list[list[UpsertResult]]]]) -> None:
        self._write_many = write_many
        self._queued: list[tuple[Encoded, asyncio.Future[list[UpsertResult]]]] = []
        self._results: collections.deque[asyncio.Future[list[UpsertResult]]] = collections.deque()
        self._pump: asyncio.Task[None] | None = None
        self._failed: Exception | None = None

    async def __aenter__(self) -> WriteChain:
        return self

    async def __aexit__(self, *exc: object) -> None:
        abandon([self._pump])  # writes of a batch that failed: not made, or failed already
        for result in self._results:
            if not result.done():
                result.cancel()
            elif not result.cancelled():
                result.exception()  # reported by the write that failed, not as never retrieved

    def send(self, encoded: Encoded) -> None:
        result = asyncio.get_running_loop().create_future()
        self._results.append(result)
        if self._failed is not None:
            result.set_exception(self._failed)
            return
        self._queued.append((encoded, result))
        if self._pump is None:
            self._pump = asyncio.create_task(self._send_queued())

    async def _send_queued(self) -> None:
        while self._queued:
            group, self._queued = self._queued, []
            try:
                replies = await self._write_many([encoded for encoded, _ in group])
            except Exception as exc:
                self._failed = exc
                for _, result in [*group, *self._queued]:
                    result.set_exception(exc)
                self._queued = []
                break
            for (_, result), reply in zip(group, replies, strict=True):
                result.set_result(reply)
        self._pump = None

    async def receive(self) -> list[UpsertResult]:
        """The results of the oldest write not yet received."""
        return await self._results.popleft()
