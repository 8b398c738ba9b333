"""A batch of many chunks, through the stages of ``ingest`` overlapped: each chunk's write
goes to Redis as soon as the one before it has returned (``WriteChain``, up to
BATCH_WRITES_AHEAD chunks ahead), while this process prepares the chunk after and verifies
the one before. A verification that must fetch texts waits for them in a task of its own,
not holding up the pipeline; verdicts are concluded in order, and Redis records them
behind the writes. The result is the same as running ``Ingester.ingest_chunk`` on each
chunk in turn."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import constants as c
from .errors import DedupError, in_place
from .models import Article, Verdict
from .prepare import Prepared
from .records import Encoded, FinishResult
from .tasks import abandon

if TYPE_CHECKING:  # ingest runs a batch through here
    from .ingest import Concluded, Ingester, Written


async def ingest_overlapped(ingester: Ingester, articles: Sequence[Article], limit: int) -> list[Verdict | DedupError]:
    """Verdicts (or errors) of ``articles``, in their order. Redis going away fails the
    batch (503): what was written stays, its pending marks left to the repair sweep."""
    prepared: list[Prepared | DedupError] = []
    concluded: list[tuple[Concluded, asyncio.Task[list[FinishResult]]]] = []
    sent: collections.deque[tuple[list[Prepared], Encoded]] = collections.deque()
    verifying: collections.deque[asyncio.Task[list[Written]]] = collections.deque()

    def conclude(written: list[Written]) -> None:
        done = ingester.conclude(written, limit)
        concluded.append((done, asyncio.create_task(ingester.index.finish_many(done.finishes))))

    async def conclude_ready(at_least: int) -> None:
        while len(verifying) > at_least or (verifying and verifying[0].done()):
            conclude(await verifying.popleft())

    async def receive() -> None:
        ready, encoded = sent.popleft()
        verifying.append(asyncio.create_task(ingester.verified(ready, encoded, await chain.receive())))

    try:
        async with ingester.index.chain() as chain:
            for start in range(0, len(articles), c.UPSERT_CHUNK):
                chunk = await ingester.preparer.prepare_many(articles[start : start + c.UPSERT_CHUNK])
                prepared += chunk
                if ready := [p for p in chunk if not isinstance(p, DedupError)]:
                    encoded = ingester.encode(ready)
                    chain.send(encoded)
                    sent.append((ready, encoded))
                if len(sent) > c.BATCH_WRITES_AHEAD:
                    await receive()
                await conclude_ready(at_least=1)
            while sent:
                await receive()
        await conclude_ready(at_least=0)
        verdicts = [v for done, task in concluded for v in ingester.recorded(done, await task)]
    finally:
        # when the batch fails: the articles stay pending, and the sweep records their verdicts
        abandon([*verifying, *(task for _, task in concluded)])
    return in_place(prepared, verdicts)
