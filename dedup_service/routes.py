"""Thin HTTP handlers: parse, call the service, serialize."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from . import constants as c
from .config import Settings
from .errors import InvalidField, InvalidInput
from .models import parse_article
from .service import Deduplicator

SETTINGS = web.AppKey("settings", Settings)
DEDUPLICATOR = web.AppKey("deduplicator", Deduplicator)

routes = web.RouteTableDef()


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return c.DEFAULT_MATCH_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise InvalidField("limit", f"must be an integer, got {raw!r}") from None
    if not 1 <= value <= c.MAX_MATCH_LIMIT:
        raise InvalidField("limit", f"must be between 1 and {c.MAX_MATCH_LIMIT}")
    return value


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        raise InvalidInput("request body is empty; send a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}") from None


@routes.post("/v1/articles")
async def post_article(request: web.Request) -> web.Response:
    article = parse_article(await _json_body(request))
    verdict = await request.app[DEDUPLICATOR].ingest(article, _limit(request))
    return json_response(verdict.to_json(), 200 if verdict.status == "unchanged" else 201)


@routes.post("/v1/check")
async def post_check(request: web.Request) -> web.Response:
    article = parse_article(await _json_body(request))
    verdict = await request.app[DEDUPLICATOR].check(article, _limit(request))
    return json_response(verdict.to_json())


@routes.get("/v1/articles/{id}")
async def get_article(request: web.Request) -> web.Response:
    view = await request.app[DEDUPLICATOR].get(request.match_info["id"], _limit(request))
    return json_response(
        {
            "id": view.id,
            "cluster_id": view.cluster_id,
            **view.meta,
            "matches": [m.to_json() for m in view.matches],
        }
    )


@routes.delete("/v1/articles/{id}")
async def delete_article(request: web.Request) -> web.Response:
    await request.app[DEDUPLICATOR].delete(request.match_info["id"])
    return web.Response(status=204)


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    await request.app[DEDUPLICATOR].ready()
    return json_response({"status": "ready"})


def setup(app: web.Application) -> None:
    app.add_routes(routes)
