"""JSONL files of articles, as the CLI, the evaluation runner and the benchmarks read them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) of every line that is not blank."""
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                yield lineno, line


def json_object(line: str) -> dict[str, Any]:
    """One line's object; ValueError says what is wrong with it."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"not a JSON object but {type(obj).__name__}")
    return obj
