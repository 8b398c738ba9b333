"""Offline runs over a labelled JSONL corpus: a fresh, isolated index, articles ingested
in file order, the resulting story clusters read back and scored. Used by
``dedup-service eval`` and by the benchmarks."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import DedupError
from .evaluate import evaluate
from .jsonl import json_object, numbered_lines
from .models import ARTICLE_FIELDS, parse_article
from .runtime import open_service

Progress = Callable[[Iterable[dict[str, Any]]], Iterable[dict[str, Any]]]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every line's object; a line that is not one, or has no string id, stops the run."""
    rows = []
    for lineno, line in numbered_lines(path):
        try:
            row = json_object(line)
        except ValueError as exc:
            raise DedupError(f"{path}:{lineno}: {exc}") from None
        if not isinstance(row.get("id"), str):
            raise DedupError(f"{path}:{lineno}: each line must be an object with a string id")
        rows.append(row)
    return rows


async def cluster_corpus(settings: Settings, rows: list[dict[str, Any]], progress: Progress = iter) -> dict[str, str]:
    """Story cluster of every row, from a throw-away index: its own embedded Redis in a
    temporary folder, or a random key prefix (deleted afterwards) on ``settings.redis_url``."""
    with tempfile.TemporaryDirectory(prefix="dedup-eval-") as tmp:
        if settings.redis_url is None:
            settings = dataclasses.replace(settings, data_dir=Path(tmp), appendfsync="no")
        else:
            settings = dataclasses.replace(settings, key_prefix=f"eval-{uuid.uuid4().hex[:12]}")
        async with open_service(settings) as dedup:
            try:
                for row in progress(rows):
                    item = {**row, "published_at": row.get("published_at") or row.get("date")}
                    try:
                        await dedup.ingest(parse_article({k: v for k, v in item.items() if k in ARTICLE_FIELDS}))
                    except DedupError as exc:
                        if exc.status >= 500:
                            raise
                        print(f"skipped {row['id']}: {exc.message}", file=sys.stderr)
                ids = [row["id"] for row in rows]
                found = [
                    cid
                    for start in range(0, len(ids), 1000)
                    for cid in await dedup.index.clusters(ids[start : start + 1000])
                ]
            finally:
                if settings.redis_url is not None:
                    await dedup.index.drop()
    return {i: cid or i for i, cid in zip(ids, found, strict=True)}


def score_corpus(path: Path, rows: list[dict[str, Any]], predicted: dict[str, str]) -> dict[str, Any]:
    """Pairwise scores against ``cluster``; pair types from a ``*.dup_pairs.jsonl`` beside the file."""
    pairs_file = path.with_name(path.name.replace(".articles.jsonl", ".dup_pairs.jsonl"))
    verified = read_jsonl_pairs(pairs_file) if pairs_file != path and pairs_file.exists() else []
    gold = {row["id"]: row.get("cluster", row["id"]) for row in rows}
    days = {row["id"]: str(row.get("date") or row.get("published_at") or "")[:10] for row in rows}
    return evaluate(gold, predicted, days, verified)


def read_jsonl_pairs(path: Path) -> list[dict[str, Any]]:
    return [json_object(line) for _, line in numbered_lines(path)]
