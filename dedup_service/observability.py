"""Prometheus metrics, request ids and JSON logs."""

from __future__ import annotations

import collections
import contextvars
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable

import orjson
from aiohttp import web
from aiohttp.http import HttpProcessingError
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from . import constants as c
from .errors import ConfigError
from .models import Verdict

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
log = logging.getLogger("dedup_service.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Metrics:
    """One registry per application, so several apps (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("dedup_http_requests", "HTTP requests", ["route", "method", "status"], registry=r)
        self.latency = Histogram(
            "dedup_http_request_duration_seconds", "HTTP request latency", ["route"], registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )  # fmt: skip
        self.indexed = Counter("dedup_articles_indexed", "articles ingested, by outcome", ["status"], registry=r)
        self.matches = Counter("dedup_matches", "matches reported, by relation", ["relation"], registry=r)
        self.verdicts = Counter(
            "dedup_verdicts", "articles ingested, by the relation of their strongest match (new: none)",
            ["relation"], registry=r,
        )  # fmt: skip
        self.redis_errors = Counter(
            "dedup_redis_errors", "requests that failed because Redis was unreachable", registry=r
        )
        self.index_size = Gauge("dedup_index_articles", "articles in the index", registry=r)
        self.redis_up = Gauge("dedup_redis_up", "whether Redis answered this scrape (1) or not (0)", registry=r)

    def observe(self, verdicts: Iterable[Verdict]) -> None:
        statuses: collections.Counter[str] = collections.Counter()
        overall: collections.Counter[str] = collections.Counter()
        relations: collections.Counter[str] = collections.Counter()
        for v in verdicts:
            statuses[v.status] += 1
            overall[v.relation.value] += 1
            relations.update(m.relation.value for m in v.matches)
        # one increment per label, not one per match: a verdict can carry dozens
        for status, n in statuses.items():
            self.indexed.labels(status).inc(n)
        for relation, n in overall.items():
            self.verdicts.labels(relation).inc(n)
        for relation, n in relations.items():
            self.matches.labels(relation).inc(n)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def request_middleware(metrics: Metrics) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Echo or assign ``X-Request-Id``, count and time the request, log one JSON line."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("X-Request-Id", "")
        rid = given if _VALID_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(rid)
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
        start = time.perf_counter()
        try:
            response = await handler(request)
        finally:
            REQUEST_ID.reset(token)
        elapsed = time.perf_counter() - start
        response.headers["X-Request-Id"] = rid
        metrics.requests.labels(route, request.method, str(response.status)).inc()
        metrics.latency.labels(route).observe(elapsed)
        if response.status == 503:
            metrics.redis_errors.inc()
        log.info(
            "request",
            extra={"request_id": rid, "method": request.method, "path": request.path, "status": response.status,
                   "ms": round(elapsed * 1000, 2)},
        )  # fmt: skip
        return response

    return middleware


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id and extras."""

    _STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        }
        out.update({k: v for k, v in record.__dict__.items() if k not in self._STANDARD and k not in out})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


LOG_FORMATS = ("json", "text")


def setup_logging(log_format: str | None, level: int = logging.INFO) -> None:
    """Logs to stderr as JSON lines or as text (``DEDUP_LOG_FORMAT``); unset: text on a
    terminal, JSON elsewhere (a log collector)."""
    if log_format is None:
        log_format = "text" if sys.stderr.isatty() else "json"
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"DEDUP_LOG_FORMAT must be json or text, got {log_format!r}")
    handler = logging.StreamHandler()
    text = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(JsonFormatter() if log_format == "json" else text)
    logging.basicConfig(level=level, handlers=[handler], force=True)


class MalformedRequestLog(logging.Filter):
    """aiohttp logs a request it cannot parse as an error with a traceback, so any client
    could fill the log. This filter (on the ``aiohttp.server`` logger) makes each such
    record one warning line naming the problem, and keeps at most ``per_minute`` of them a
    minute; the next one kept says how many were left out."""

    def __init__(self, per_minute: int = c.MALFORMED_LOG_PER_MINUTE) -> None:
        super().__init__()
        self.per_minute = per_minute
        self.window_start = 0.0
        self.kept = 0
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        now = time.monotonic()
        if now - self.window_start >= 60:
            self.window_start, self.kept = now, 0
        if self.kept >= self.per_minute:
            self.dropped += 1
            return False
        self.kept += 1
        left_out = f" ({self.dropped} more left out before this one)" if self.dropped else ""
        self.dropped = 0
        problem = " ".join(str(exc.message or exc).split())[:200]
        record.msg, record.args = f"malformed request: %s{left_out}", (problem,)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
        return True


def quiet_malformed_requests() -> None:
    """Install ``MalformedRequestLog`` on aiohttp's server logger, once per process."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequestLog) for f in logger.filters):
        logger.addFilter(MalformedRequestLog())
