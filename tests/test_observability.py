"""Metrics, request ids and JSON logs."""

from __future__ import annotations

import json
import logging

import pytest
from aiohttp.test_utils import TestClient
from conftest import FIXTURES

from dedup_service.observability import REQUEST_ID, JsonFormatter

AGENCY = (FIXTURES / "agency_body.txt").read_text()


def _sample(text: str, name: str) -> float:
    """Sum of the samples of one metric (all label sets) in a Prometheus exposition."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_metrics_count_requests_articles_and_matches(client: TestClient) -> None:
    await client.post("/v1/articles", json={"id": "a", "text": AGENCY})
    await client.post("/v1/articles", json={"id": "b", "text": AGENCY.upper()})
    await client.post("/v1/articles", json={"id": "b", "text": AGENCY.upper()})
    await client.post("/v1/articles", data=b"{", headers={"Content-Type": "application/json"})
    resp = await client.get("/metrics")
    assert resp.status == 200 and resp.content_type.startswith("text/plain")
    text = await resp.text()
    assert 'dedup_http_requests_total{method="POST",route="/v1/articles",status="201"} 2.0' in text
    assert 'dedup_http_requests_total{method="POST",route="/v1/articles",status="400"} 1.0' in text
    assert 'dedup_articles_indexed_total{status="created"} 2.0' in text
    assert 'dedup_articles_indexed_total{status="unchanged"} 1.0' in text
    assert _sample(text, "dedup_matches_total") == 2.0
    assert _sample(text, "dedup_index_articles") == 2.0
    assert _sample(text, "dedup_http_request_duration_seconds_count") >= 4


async def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    resp = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert resp.headers["X-Request-Id"] == "abc-123"
    resp = await client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    generated = resp.headers["X-Request-Id"]
    assert len(generated) == 32 and generated != "bad id with spaces"
    resp = await client.get("/v1/articles/unknown")
    assert resp.status == 404 and len(resp.headers["X-Request-Id"]) == 32


async def test_access_log_lines_carry_the_request_id(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dedup_service.access"):
        await client.get("/healthz", headers={"X-Request-Id": "rid-7"})
    record = next(r for r in caplog.records if r.name == "dedup_service.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "rid-7" and line["status"] == 200 and line["path"] == "/healthz"


def test_json_formatter_uses_the_current_request_id() -> None:
    token = REQUEST_ID.set("ctx-1")
    try:
        record = logging.makeLogRecord(
            {"name": "x", "levelno": 40, "levelname": "ERROR", "msg": "boom %s", "args": (1,)}
        )
        line = json.loads(JsonFormatter().format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line == {"time": line["time"], "level": "error", "logger": "x", "message": "boom 1", "request_id": "ctx-1"}
