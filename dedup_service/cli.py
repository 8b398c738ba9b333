"""Command line: serve the API; ingest, check or evaluate files, locally or against a running service
(the file commands are in ``filecommands``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import gc
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import orjson
from aiohttp import web
from tqdm import tqdm

from .app import create_app
from .config import ENV_PREFIX, SETTING_NAMES, IndexLayout, Settings
from .constants import GC_THRESHOLDS
from .embedded import sole_server
from .errors import DedupError, IndexUnavailable
from .evaluate import format_report
from .filecommands import check, ingest, require_jsonl
from .observability import setup_logging
from .runner import cluster_corpus, read_jsonl, score_corpus
from .runtime import index_location

log = logging.getLogger("dedup_service.cli")  # not "__main__" when run with -m
# help of the settings a subcommand takes as flags; every setting is also DEDUP_<NAME>
_FLAG_HELP = {
    "host": "address to listen on",
    "port": "port to listen on",
    "redis_url": "external Redis (redis://host:port/db); unset: embedded redis-server",
    "redis_cluster": "1: --redis-url is a node of a Redis Cluster",
    "data_dir": "the embedded Redis's data folder (relative to the current folder)",
    "appendfsync": "embedded Redis AOF fsync policy: always, everysec or no",
    "key_prefix": "prefix (and cluster hash tag) of every Redis key",
    "threshold": "estimated Jaccard at or above which articles are near duplicates",
    "contained_threshold": "share of the smaller text's words in the larger: contained",
    "related_threshold": "share of the smaller text's words in the other: related",
    "facts_threshold": "share of the smaller text's figures and names the larger holds",
    "chrome_min_stories": "stories of one site that make a shared line site chrome",
    "api_keys": "comma-separated API keys, or a file with one a line; unset: no auth",
    "webhook_secret": "shared secret of the signed ingest webhook; unset: off",
    "retention": "drop articles ingested longer ago (30d, 12h, ...); unset: keep all",
}
_INDEX = ("redis_url", "redis_cluster", "data_dir", "key_prefix")
_FLAGS = {
    "serve": ("host", "port", *_INDEX, "appendfsync", "api_keys", "webhook_secret", "retention"),
    "ingest": _INDEX,
    "check": _INDEX,
    "eval": ("redis_url", "redis_cluster", "threshold", "contained_threshold", "related_threshold",
             "facts_threshold", "chrome_min_stories"),
}  # fmt: skip
_EPILOG = f"Every setting is also read from {ENV_PREFIX}<NAME>; the full list: docs/api.md (Settings)."


def _settings_flags(parser: argparse.ArgumentParser, names: Iterable[str]) -> None:
    group = parser.add_argument_group("settings")
    types = {f.name: f.type for cls in (Settings, IndexLayout) for f in dataclasses.fields(cls)}
    for name in names:
        kind = {"int": int, "float": float}.get(str(types[name]), str)
        group.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None, help=_FLAG_HELP[name])


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(**{k: v for k, v in vars(args).items() if k in SETTING_NAMES})


async def _eval(settings: Settings, path: Path, as_json: bool, predictions: Path | None) -> int:
    """Ingest ``path`` in file order into a fresh, isolated index and score its clusters."""
    rows = read_jsonl(path)
    bar = functools.partial(tqdm, unit=" articles", file=sys.stderr, disable=as_json)
    predicted = await cluster_corpus(settings, rows, bar)
    if predictions is not None:
        with predictions.open("wb") as out:
            out.writelines(orjson.dumps({"id": i, "cluster": c}) + b"\n" for i, c in predicted.items())
    report = score_corpus(path, rows, predicted)
    print(orjson.dumps(report).decode() if as_json else format_report(report))
    return 0


def tune_gc() -> None:
    """Keep the cyclic garbage collector out of the request tail. Each batch allocates
    tens of thousands of short-lived objects; with CPython's default thresholds (700,
    10, 10) the collector runs many times a second and its older generations walk every
    long-lived object (numpy, aiohttp, trafilatura, caches). What startup created is
    frozen (never scanned again) and the collections made rarer (GC_THRESHOLDS); the
    objects a request makes are freed by reference counting, not by the collector
    (measured in docs/decisions.md, "Tuning")."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _serve(settings: Settings) -> int:
    tune_gc()
    redis = settings.redis_url or f"embedded, data in {settings.data_dir.resolve()}"

    def listening(message: str) -> None:  # run_app's banner, once the sockets are bound
        log.info("listening on http://%s:%d (Redis: %s)", settings.host, settings.port, redis)

    with sole_server(settings.data_dir) if settings.redis_url is None else contextlib.nullcontext():
        web.run_app(create_app(settings), host=settings.host, port=settings.port, access_log=None, print=listening)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dedup-service", description=__doc__, epilog=_EPILOG)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=summary, description=summary, epilog=_EPILOG)
        _settings_flags(cmd, _FLAGS[name])
        return cmd

    def remote(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument(
            "--url",
            default=os.environ.get("DEDUP_URL"),
            help="a running service's base URL (http://host:8080) instead of a local index [DEDUP_URL]",
        )
        cmd.add_argument("--api-key", default=os.environ.get("DEDUP_API_KEY"), help="API key for --url [DEDUP_API_KEY]")

    command("serve", "run the HTTP service")
    ingest = command("ingest", "index a JSONL file of articles, one object a line")
    ingest.add_argument("file", type=Path, help='a .jsonl file: {"id": ..., "text": ...} a line')
    remote(ingest)
    ingest.add_argument("--batch-size", type=int, default=100, help="articles per request with --url")
    ingest.add_argument("--create", action="store_true", help="start a new index where none is")
    check = command("check", "match a text, or a JSONL file of articles, against the index; indexes nothing")
    check.add_argument("source", help="a plain text file, a .jsonl file of articles, or - for stdin")
    remote(check)
    ev = command("eval", "score the service's clusters on a labelled JSONL file, in a fresh index")
    ev.add_argument("file", type=Path, help="JSONL with id, text and a cluster label a line")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--predictions", type=Path, help="write one {id, cluster} line per article here")
    return parser


def _check_paths(args: argparse.Namespace) -> None:
    """The mistakes worth one line before anything starts: a missing file, a URL without a scheme."""
    path = getattr(args, "file", None) or (Path(args.source) if getattr(args, "source", "-") != "-" else None)
    if path is not None and not path.is_file():
        raise DedupError(f"no such file: {path}")
    url = getattr(args, "url", None)
    if url is not None and not url.startswith(("http://", "https://")):
        raise DedupError(f"--url must start with http:// or https:// (got {url!r})")


def _check_local_index(args: argparse.Namespace, settings: Settings) -> None:
    """Say which index a local ingest or check opens, by absolute path; refuse to make one
    where none is (./data is relative to the current folder) unless asked to."""
    log.info("index: %s", index_location(settings))
    if settings.redis_url is None and not settings.data_dir.is_dir() and not getattr(args, "create", False):
        hint = "pass --create to start one there, " if args.command == "ingest" else ""
        raise DedupError(
            f"no index at {index_location(settings)}: {hint}run where `serve` runs, "
            f"set {ENV_PREFIX}DATA_DIR (or --data-dir), or ask a running service with --url"
        )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        setup_logging(os.environ.get("DEDUP_LOG_FORMAT") or None)
        settings = _settings(args)
        _check_paths(args)
        if args.command == "serve":
            return _serve(settings)
        if args.command == "eval":
            return asyncio.run(_eval(settings, args.file, args.json, args.predictions))
        total = require_jsonl(args.file) if args.command == "ingest" else 0
        if args.url is None:
            _check_local_index(args, settings)
        if args.command == "ingest":
            if not 1 <= args.batch_size <= settings.max_batch:
                raise DedupError(f"--batch-size must be between 1 and {settings.max_batch}")
            return asyncio.run(ingest(settings, args, total))
        return asyncio.run(check(settings, args))
    except IndexUnavailable as exc:
        print(f"dedup-service: Redis unreachable, {index_location(settings)}: {exc.message}", file=sys.stderr)
        return 2
    except DedupError as exc:
        print(f"dedup-service: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:  # a port in use, a data dir that cannot be written: the system's own words
        print(f"dedup-service: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C outside ingest's own handling (serve stops on its own)
        return 130


if __name__ == "__main__":
    sys.exit(main())
