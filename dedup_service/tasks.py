"""What a failed operation does with the tasks it started."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


def abandon(tasks: Iterable[asyncio.Task[Any] | None]) -> None:
    """Cancel those still running and take the errors of those that failed: the operation
    reports its own failure, so theirs must not be logged again as never retrieved."""
    for task in tasks:
        if task is None:
            continue
        if not task.done():
            task.cancel()
        elif not task.cancelled():
            task.exception()
