"""Group commit: calls made in the same turn of the event loop run as one batch.

Under load, dozens of single-article requests are read from their sockets in one turn of
the loop. Handled one by one, each pays its own Redis round trips and script calls; handed
to the batch path together they share them (one write call and at most one verdict call
for all), in the order they arrived. A lone request is not delayed: its batch of one
starts on the next turn of the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Coalescer(Generic[T, R]):
    def __init__(self, run_batch: Callable[[list[T]], Awaitable[list[R]]], max_batch: int) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._running: set[asyncio.Task[None]] = set()

    async def __call__(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._flush)
        self._waiting.append((item, future))
        return await future

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        for start in range(0, len(waiting), self._max_batch):
            task = asyncio.create_task(self._run(waiting[start : start + self._max_batch]))
            self._running.add(task)  # the loop keeps only weak references to tasks
            task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run_batch([item for item, _ in batch])
        except asyncio.CancelledError:  # shutting down
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # the batch failed as a whole (Redis went away): so does each call
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # a caller that went away leaves a cancelled future
                future.set_result(result)
