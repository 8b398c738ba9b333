"""Group commit of calls made in the same turn of the event loop."""

from __future__ import annotations

import asyncio

import pytest

from dedup_service.coalesce import Coalescer


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.fail = fail

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        await asyncio.sleep(0.01)
        if self.fail:
            raise ConnectionError("gone")
        return [i * 10 for i in items]


async def test_calls_made_together_run_as_one_batch_in_order() -> None:
    run = Recorder()
    together = Coalescer(run, max_batch=100)
    assert await asyncio.gather(*(together(i) for i in range(7))) == [i * 10 for i in range(7)]
    assert run.batches == [list(range(7))]


async def test_a_lone_call_runs_at_once_and_later_calls_form_new_batches() -> None:
    run = Recorder()
    together = Coalescer(run, max_batch=100)
    assert await together(1) == 10
    first = asyncio.ensure_future(together(2))
    await asyncio.sleep(0)  # a turn of the loop: the batch of one has started
    second = asyncio.gather(together(3), together(4))  # arrive while it runs
    assert await first == 20 and await second == [30, 40]
    assert run.batches == [[1], [2], [3, 4]]


async def test_batches_are_at_most_max_batch() -> None:
    run = Recorder()
    together = Coalescer(run, max_batch=3)
    assert await asyncio.gather(*(together(i) for i in range(7))) == [i * 10 for i in range(7)]
    assert run.batches == [[0, 1, 2], [3, 4, 5], [6]]


async def test_a_failed_batch_fails_each_of_its_calls() -> None:
    together = Coalescer(Recorder(fail=True), max_batch=100)
    results = await asyncio.gather(*(together(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_a_caller_that_goes_away_does_not_disturb_the_others() -> None:
    run = Recorder()
    together = Coalescer(run, max_batch=100)
    gone = asyncio.ensure_future(together(1))
    stays = asyncio.ensure_future(together(2))
    await asyncio.sleep(0)
    gone.cancel()
    assert await stays == 20
    with pytest.raises(asyncio.CancelledError):
        await gone
