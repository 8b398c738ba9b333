"""aiohttp application factory: the one error middleware, auth, the service's lifecycle, and routes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import quote

import orjson
import redis.exceptions
from aiohttp import web

from . import routes, ui
from .config import Settings, retention_seconds
from .constants import EXPIRE_BATCH, MAINTENANCE_INTERVAL, SHUTDOWN_TIMEOUT
from .errors import DedupError, IndexUnavailable
from .observability import Metrics, quiet_malformed_requests, request_middleware
from .routes import API_KEYS, DEDUPLICATOR, METRICS, SETTINGS, WEBHOOK_PATH
from .runtime import open_service
from .security import check_bearer, check_ui_session, parse_api_keys

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "2"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def error_response(status: int, code: str, message: str) -> web.Response:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else None
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DedupError as exc:
        response = error_response(exc.status, exc.code, exc.message)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response
    except web.HTTPRequestEntityTooLarge as exc:
        return error_response(413, "payload_too_large", exc.text or "request body too large")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        return error_response(exc.status, code, f"{exc.reason}: {request.method} {request.path}")
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        err = IndexUnavailable(f"index unavailable: {exc}")
        return error_response(err.status, err.code, err.message)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "internal error; see the service log")


def auth_middleware(settings: Settings, keys: frozenset[str]) -> Middleware:
    """With API keys configured, every route but the public paths and the (HMAC-signed)
    webhook needs ``Authorization: Bearer <key>``, or the dashboard's session (see
    ``ui``): its pages send a visitor without one to the login page."""
    public = {p.strip() for p in settings.public_paths.split(",") if p.strip()}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not keys or path in public or path == WEBHOOK_PATH or path == ui.LOGIN_PATH:
            return await handler(request)
        session = check_ui_session(request.cookies.get(ui.UI_COOKIE), keys, time.time())
        if path == "/ui" or path.startswith("/ui/"):
            if not session:
                raise web.HTTPSeeOther(ui.LOGIN_PATH + "?next=" + quote(request.path_qs, safe="/"))
        elif not (session and request.headers.get(ui.UI_HEADER) == "1"):
            check_bearer(request.headers.get("Authorization"), keys)
        return await handler(request)

    return middleware


async def _service_ctx(app: web.Application) -> AsyncIterator[None]:
    async with open_service(app[SETTINGS]) as dedup:
        app[DEDUPLICATOR] = dedup
        yield


async def _maintenance_ctx(app: web.Application) -> AsyncIterator[None]:
    """Background upkeep: record verdicts a stopped service left pending, and sweep
    articles older than the retention window, oldest first, in small batches."""
    settings = app[SETTINGS]
    window = retention_seconds(settings.retention) if settings.retention else None
    dedup = app[DEDUPLICATOR]

    async def upkeep() -> None:
        while True:
            await asyncio.sleep(min(settings.retention_interval, MAINTENANCE_INTERVAL))
            try:
                await dedup.repair()
                while window and await dedup.index.expire(time.time() - window, EXPIRE_BATCH):
                    pass
            except DedupError as exc:
                log.warning("maintenance skipped: %s", exc.message)

    task = asyncio.create_task(upkeep())
    yield
    task.cancel()
    await asyncio.wait({task}, timeout=SHUTDOWN_TIMEOUT)


def create_app(settings: Settings) -> web.Application:
    metrics = Metrics()
    keys = parse_api_keys(settings.api_keys)
    quiet_malformed_requests()
    app = web.Application(
        middlewares=[request_middleware(metrics), error_middleware, auth_middleware(settings, keys)],  # type: ignore[list-item]
        client_max_size=settings.max_body_bytes,
        # aiohttp arms its keep-alive timer when a connection opens and after each answer,
        # and bytes that arrive do not reset it: so it also bounds how long a client may
        # take over its request line and headers (the body has its own bound, ``_read``)
        handler_args={"keepalive_timeout": settings.read_timeout},
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[API_KEYS] = keys
    app.cleanup_ctx.append(_service_ctx)
    app.cleanup_ctx.append(_maintenance_ctx)
    routes.setup(app)
    ui.setup(app)
    return app
