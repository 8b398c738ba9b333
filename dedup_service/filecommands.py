"""The CLI's file commands: ``ingest`` and ``check`` of JSONL (or plain text), on a local
index or through a running service's API, with a progress bar and a summary."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from .classify import COPY_RELATIONS
from .config import Settings
from .errors import DedupError
from .jsonl import json_object, numbered_lines
from .models import ACCEPTED_FIELDS, parse_article
from .runtime import open_service


class Tally:
    """Outcome counts of an ingest or check run; bad lines are reported as FILE:LINE:
    reason, and fields that are not an article's are named once and counted."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self.counts: Counter[str] = Counter()
        self.left_out: Counter[str] = Counter()

    def article(self, lineno: int, line: str) -> dict[str, Any] | None:
        """The article fields of one JSONL line (None when it is not a JSON object)."""
        try:
            obj = json_object(line)
        except ValueError as exc:
            self.error(lineno, str(exc))
            return None
        if extra := set(obj) - ACCEPTED_FIELDS:
            if new := sorted(extra - set(self.left_out)):
                tqdm.write(f"{self.path}:{lineno}: left out, not article fields: {', '.join(new)}", file=sys.stderr)
            self.left_out.update(extra)
        return {k: v for k, v in obj.items() if k in ACCEPTED_FIELDS}

    def error(self, lineno: int, message: str) -> None:
        self.counts["errors"] += 1
        tqdm.write(f"{self.path}:{lineno}: skipped: {message}", file=sys.stderr)

    def done(self, indexed_before: bool, relation: str) -> None:
        self.counts["unchanged" if indexed_before else relation] += 1

    def summary(self, interrupted: bool) -> str:
        c = self.counts
        copies = sum(c[r.value] for r in COPY_RELATIONS)
        return orjson.dumps({"articles": sum(c.values()), "new": c["new"], "duplicates": copies,
                             "related": c["related"], "unchanged": c["unchanged"], "errors": c["errors"],
                             "by_relation": dict(sorted(c.items())), "fields_left_out": dict(self.left_out),
                             "interrupted": interrupted}).decode()  # fmt: skip


def require_jsonl(path: Path) -> int:
    """The number of lines to ingest; a file that is not JSONL at all is refused at once."""
    try:
        lines = list(numbered_lines(path))
    except UnicodeDecodeError:
        raise DedupError(f"{path} is not UTF-8 text") from None
    if not lines:
        raise DedupError(f"{path} is empty")
    try:
        json_object(lines[0][1])
    except ValueError:
        raise DedupError(
            f"{path} is not JSONL: line {lines[0][0]} is not a JSON object. ingest takes "
            'one article a line, as {"id": "a1", "text": "..."}; to match a plain text, use check'
        ) from None
    return len(lines)


async def _ingest_local(settings: Settings, create: bool, path: Path, tally: Tally, bar: tqdm[Any]) -> None:
    async with open_service(settings, create=create) as dedup:
        for lineno, line in numbered_lines(path):
            bar.update()
            if (obj := tally.article(lineno, line)) is None:
                continue
            try:
                verdict = await dedup.ingest(parse_article(obj))
            except DedupError as exc:
                if exc.status >= 500:
                    raise
                tally.error(lineno, exc.message)
                continue
            tally.done(verdict.indexed_before, verdict.relation.value)


def _client(url: str, api_key: str | None) -> aiohttp.ClientSession:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return aiohttp.ClientSession(base_url=url.rstrip("/") + "/", headers=headers)


async def _ingest_remote(url: str, api_key: str | None, batch: int, path: Path, tally: Tally, bar: tqdm[Any]) -> None:
    """Send the file to a running service through ``POST /v1/articles:batch``."""
    async with _client(url, api_key) as http:

        async def send(chunk: list[tuple[int, dict[str, Any]]]) -> None:
            async with http.post("v1/articles:batch", json=[obj for _, obj in chunk]) as resp:
                if resp.status != 200:
                    raise DedupError(f"{url} answered {resp.status}: {await resp.text()}")
                results = (await resp.json())["results"]
            for (lineno, _), res in zip(chunk, results, strict=True):
                if "error" in res:
                    tally.error(lineno, res["error"]["message"].split(": ", 1)[-1])
                else:
                    tally.done(res["status"] == 200, res["relation"])
            bar.update(len(chunk))

        chunk: list[tuple[int, dict[str, Any]]] = []
        for lineno, line in numbered_lines(path):
            if (obj := tally.article(lineno, line)) is None:
                bar.update()
                continue
            chunk.append((lineno, obj))
            if len(chunk) == batch:
                await send(chunk)
                chunk = []
        if chunk:
            await send(chunk)


async def ingest(settings: Settings, args: argparse.Namespace, total: int) -> int:
    """Exit status: 0 every line indexed, 1 some line refused, 130 interrupted (Ctrl-C)."""
    tally, interrupted = Tally(args.file), False
    with logging_redirect_tqdm(), tqdm(total=total, unit=" articles", file=sys.stderr, dynamic_ncols=True) as bar:
        try:
            if args.url:
                await _ingest_remote(args.url, args.api_key, args.batch_size, args.file, tally, bar)
            else:
                await _ingest_local(settings, args.create, args.file, tally, bar)
        except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels this task
            interrupted = True
        except aiohttp.ClientError as exc:
            raise DedupError(f"cannot reach {args.url}: {exc}") from None
    print(tally.summary(interrupted))
    if interrupted:
        print(f"dedup-service: interrupted at line {bar.n} of {total}; the summary counts the articles done "
              "(run it again to go on: those come back unchanged)", file=sys.stderr)  # fmt: skip
        return 130
    return 1 if tally.counts["errors"] else 0


async def check(settings: Settings, args: argparse.Namespace) -> int:
    """One verdict (or error) a line on stdout; exit status 1 when any item was refused."""
    source = args.source
    raw = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    tally = Tally("<stdin>" if source == "-" else source)
    if raw.lstrip().startswith("{"):  # JSONL of articles
        items = [(n, obj) for n, line in enumerate(raw.splitlines(), 1) if line.strip()
                 if (obj := tally.article(n, line)) is not None]  # fmt: skip
    else:
        items = [(1, {"text": raw})]
    status = 1 if tally.counts["errors"] else 0
    async with contextlib.AsyncExitStack() as stack:
        if args.url:
            http = await stack.enter_async_context(_client(args.url, args.api_key))
        else:
            dedup = await stack.enter_async_context(open_service(settings, create=False))
        for lineno, obj in items:
            out: dict[str, Any]
            if args.url:
                try:
                    async with http.post("v1/check", json=obj) as resp:
                        out = await resp.json(content_type=None)
                except aiohttp.ClientError as exc:
                    raise DedupError(f"cannot reach {args.url}: {exc}") from None
                if resp.status >= 500 or resp.status in (401, 404):
                    raise DedupError(f"{args.url} answered {resp.status}: {orjson.dumps(out).decode()}")
                if resp.status != 200:
                    out, status = {"line": lineno, "error": out["error"]["message"]}, 1
            else:
                try:
                    out = (await dedup.check(parse_article(obj))).to_json()
                except DedupError as exc:
                    if exc.status >= 500:
                        raise
                    out, status = {"line": lineno, "error": exc.message}, 1
            print(orjson.dumps(out).decode())
    return status
