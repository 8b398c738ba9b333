"""Thin HTTP handlers: parse, call the service, serialize."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import xxhash
from aiohttp import web

from . import constants as c
from . import openapi
from .clusters import ClusterFilters
from .config import Settings
from .errors import (
    DedupError,
    DeliveryIdReused,
    DeliveryInProgress,
    InvalidField,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
)
from .models import Article, Verdict, iso_timestamp, parse_article
from .observability import Metrics
from .records import ListingCursor
from .security import header_text, verify_delivery
from .service import Deduplicator

SETTINGS = web.AppKey("settings", Settings)
DEDUPLICATOR = web.AppKey("deduplicator", Deduplicator)
METRICS = web.AppKey("metrics", Metrics)
API_KEYS = web.AppKey("api_keys", frozenset)  # parsed DEDUP_API_KEYS; empty: no auth

routes = web.RouteTableDef()
WEBHOOK_PATH = "/v1/webhooks/ingest"


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidField(name, f"must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise InvalidField(name, f"must be between {low} and {high}")
    return value


def _limit(request: web.Request, default: int = c.DEFAULT_MATCH_LIMIT) -> int:
    return _int_param(request, "limit", default, 1, c.MAX_MATCH_LIMIT)


async def _read(request: web.Request) -> bytes:
    """The body, within the read timeout: a stuck or trickling client does not hold a slot.
    (``asyncio.timeout``, not ``wait_for``: no task of its own for every request.)"""
    timeout = request.app[SETTINGS].read_timeout
    try:
        async with asyncio.timeout(timeout):
            return await request.read()
    except TimeoutError:
        raise RequestTimeout(f"the request body did not arrive within {timeout:g} s") from None


def _require_content_type(request: web.Request, *accepted: str) -> None:
    """A body sent as another type (curl -d sends a form) is refused by name; none is JSON."""
    if "Content-Type" in request.headers and request.content_type not in accepted:
        raise UnsupportedMediaType(f"Content-Type must be {' or '.join(accepted)}, got {request.content_type!r}")


async def _json_body(request: web.Request) -> Any:
    _require_content_type(request, "application/json")
    raw = await _read(request)
    if not raw.strip():
        raise InvalidInput("request body is empty; send a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}") from None


@routes.post("/v1/articles")
async def post_article(request: web.Request) -> web.Response:
    article = parse_article(await _json_body(request))
    verdict = await request.app[DEDUPLICATOR].ingester.ingest(article, _limit(request))
    request.app[METRICS].observe([verdict])
    return json_response(verdict.to_json(), 200 if verdict.indexed_before else 201)


def _result_json(i: int, result: Verdict | DedupError) -> dict[str, Any]:
    """Item ``i`` of a batch's answer; its error, found when parsing or when indexing, names it."""
    if isinstance(result, DedupError):
        return {"status": result.status, "error": {"code": result.code, "message": f"item {i}: {result.message}"}}
    return {"status": 200 if result.indexed_before else 201, **result.to_json()}


def _batch_items(data: Any, max_batch: int) -> list[Article | DedupError]:
    if not isinstance(data, list):
        raise InvalidInput("a batch must be a JSON array of article objects")
    if not data:
        raise InvalidInput("the batch is empty")
    if len(data) > max_batch:
        raise PayloadTooLarge(f"a batch holds at most {max_batch} articles, got {len(data)}")
    items: list[Article | DedupError] = []
    for obj in data:
        try:
            items.append(parse_article(obj))
        except DedupError as exc:
            items.append(exc)
    return items


@routes.post("/v1/articles:batch")
async def post_batch(request: web.Request) -> web.Response:
    items = _batch_items(await _json_body(request), request.app[SETTINGS].max_batch)
    results = await request.app[DEDUPLICATOR].ingester.ingest_batch(items, _limit(request))
    request.app[METRICS].observe(r for r in results if isinstance(r, Verdict))
    return json_response({"results": [_result_json(i, r) for i, r in enumerate(results)]})


def _delivery_items(request: web.Request, body: bytes) -> Any:
    """One article object, a JSON array of them, or NDJSON (``application/x-ndjson``)."""
    try:
        if request.content_type == "application/x-ndjson":
            return [orjson.loads(line) for line in body.splitlines() if line.strip()]
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"delivery body is not valid JSON: {exc}") from None
    return data if isinstance(data, list) else [data]


@routes.post(WEBHOOK_PATH)
async def webhook_ingest(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if not settings.webhook_secret:
        raise NotFound("the ingest webhook is off: set DEDUP_WEBHOOK_SECRET")
    _require_content_type(request, "application/json", "application/x-ndjson")
    body = await _read(request)
    headers = request.headers
    verify_delivery(settings.webhook_secret, headers.get("X-Dedup-Signature"), headers.get("X-Dedup-Timestamp"),
                    body, time.time(), settings.webhook_window)  # fmt: skip
    dedup = request.app[DEDUPLICATOR]
    delivery = header_text(headers.get("X-Dedup-Delivery"), "X-Dedup-Delivery", InvalidInput)
    # a delivery is done once per signed content (timestamp and body), whatever id it
    # carries, so a captured one replayed under another id or none is not indexed again;
    # an id stands for one body: reused with another body, it is refused
    digest = xxhash.xxh3_128_digest(body)  # stored before the answer: what an id was used for
    claims = ([f"id:{delivery}"] if delivery else []) + [f"sig:{headers['X-Dedup-Signature'].strip()}"]
    claimed: list[str] = []
    answered = False  # whether the claims now hold this delivery's answer (else they are released)
    try:
        for name in claims:
            stored = await dedup.deliveries.claim(name)
            if stored is None:
                claimed.append(name)
            elif stored == b"":
                raise DeliveryInProgress("this delivery is being processed; retry later")
            elif stored[: len(digest)] != digest:
                raise DeliveryIdReused(f"delivery id {delivery!r} was used before for another body")
            else:  # delivered before: a new id on it is not kept
                return web.Response(body=stored[len(digest) :], content_type="application/json",
                                    headers={"X-Dedup-Replayed": "1"})  # fmt: skip
        items = _batch_items(_delivery_items(request, body), settings.max_batch)
        results = await dedup.ingester.ingest_batch(items)
        request.app[METRICS].observe(r for r in results if isinstance(r, Verdict))
        answer = orjson.dumps({"delivery": delivery, "results": [_result_json(i, r) for i, r in enumerate(results)]})
        # one that indexed nothing (every item refused) is not held to its id or
        # signature: it can be corrected and sent again
        if any(isinstance(r, Verdict) for r in results):
            for name in claimed:
                await dedup.deliveries.store(name, digest + answer)
            answered = True
    finally:
        if not answered:
            for name in claimed:
                await dedup.deliveries.release(name)
    return web.Response(body=answer, content_type="application/json")


@routes.post("/v1/check")
async def post_check(request: web.Request) -> web.Response:
    article = parse_article(await _json_body(request))
    explain = _int_param(request, "explain", 0, 0, c.MAX_EXPLAINED)
    verdict, text, explained = await request.app[DEDUPLICATOR].check_explained(article, _limit(request), explain)
    body = verdict.to_json()
    if explain:  # the cleaned text the offsets point into, and each explained match's passages
        body["text"] = text
        for match in body["matches"]:
            if (found := explained.get(match["id"])) is not None:
                match.update(found.to_json())
    return json_response(body)


@routes.get("/v1/articles/{id}/diff")
async def get_diff(request: web.Request) -> web.Response:
    against = request.query.get("against")
    if not against:
        raise InvalidField("against", "required: the id of the article to compare with")
    article_id = request.match_info["id"]
    text, against_text, found = await request.app[DEDUPLICATOR].diff(article_id, against)
    body = {"id": article_id, "against": against, "text": text, "against_text": against_text, **found.to_json()}
    return json_response(body)


@routes.get("/v1/articles/{id}")
async def get_article(request: web.Request) -> web.Response:
    include = {part for part in request.query.get("include", "").split(",") if part}
    if include - {"text"}:
        raise InvalidField("include", f"unknown value(s) {sorted(include - {'text'})}; allowed: text")
    view = await request.app[DEDUPLICATOR].get(request.match_info["id"], _limit(request))
    body: dict[str, Any] = {"id": view.id, "cluster_id": view.cluster_id, **view.meta}
    if "text" in include:
        body["text"] = view.text
    body["matches"] = [m.to_json() for m in view.matches]
    return json_response(body)


@routes.delete("/v1/articles/{id}")
async def delete_article(request: web.Request) -> web.Response:
    await request.app[DEDUPLICATOR].delete(request.match_info["id"])
    return web.Response(status=204)


@routes.get("/v1/clusters/{cluster_id}")
async def get_cluster(request: web.Request) -> web.Response:
    view = await request.app[DEDUPLICATOR].cluster(request.match_info["cluster_id"])
    return json_response(view.to_json())


@routes.get("/v1/clusters")
async def list_clusters(request: web.Request) -> web.Response:
    q = request.query
    since = 0.0
    if "since" in q:
        try:
            since = iso_timestamp(q["since"])
        except ValueError:
            raise InvalidField("since", "must be an ISO 8601 date or date-time") from None
    after = None
    if "cursor" in q:
        try:
            after = ListingCursor.parse(q["cursor"])
        except ValueError:
            raise InvalidField("cursor", "is not the `next` of an earlier cluster listing") from None
    filters = ClusterFilters(since, _int_param(request, "min_size", 2, 1, c.MAX_CLUSTER_MEMBERS),
                             q.get("site") or None, q.get("agency") or None, q.get("lang") or None)  # fmt: skip
    clusters, more = await request.app[DEDUPLICATOR].recent_clusters(filters, _limit(request, default=20), after)
    return json_response({"clusters": clusters, "next": more.token() if more else None})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    m = request.app[METRICS]
    # Redis down or stalled: the size is left as it was and Redis is reported down; the
    # other metrics come from this process and are all the more worth scraping, at once
    try:
        size = await asyncio.wait_for(request.app[DEDUPLICATOR].index.count(), c.METRICS_REDIS_TIMEOUT)
    except (DedupError, TimeoutError):
        m.redis_up.set(0)
    else:
        m.index_size.set(size)
        m.redis_up.set(1)
    body, content_type = m.exposition()
    return web.Response(body=body, headers={"Content-Type": content_type})


@routes.get("/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return json_response(openapi.spec())


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    await request.app[DEDUPLICATOR].ready()
    return json_response({"status": "ready"})


def setup(app: web.Application) -> None:
    app.add_routes(routes)
