"""Metrics, request ids and JSON logs."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from aiohttp.test_utils import TestClient
from conftest import FIXTURES

from dedup_service.observability import REQUEST_ID, JsonFormatter, MalformedRequestLog

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
    assert 'dedup_verdicts_total{relation="new"} 1.0' in text
    assert 'dedup_verdicts_total{relation="exact"} 2.0' in text  # "b" and its re-send
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


async def test_malformed_requests_are_one_warning_line_each_and_rate_limited(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Any client can send bytes that are not HTTP: each is one warning line naming the
    problem, no traceback, and at most MALFORMED_LOG_PER_MINUTE of them a minute."""
    from dedup_service.constants import MALFORMED_LOG_PER_MINUTE

    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    limiter = next(f for f in logging.getLogger("aiohttp.server").filters if isinstance(f, MalformedRequestLog))
    limiter.window_start = 0.0  # a minute of its own: another test of this process may have used this one
    for i in range(3 * MALFORMED_LOG_PER_MINUTE):
        reader, writer = await asyncio.open_connection(client.host, client.port)
        # a header line that is not one: aiohttp answers 400 and closes
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\x01 %d\r\n\r\n" % i)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)  # to EOF: the error is handled by then
        writer.close()
        assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), answer[:80]
    logged = [r for r in caplog.records if r.name == "aiohttp.server" and r.levelno >= logging.WARNING]
    assert logged, "no malformed request was logged at all"
    assert len(logged) == MALFORMED_LOG_PER_MINUTE and limiter.dropped == 2 * MALFORMED_LOG_PER_MINUTE
    for record in logged:
        assert record.levelno == logging.WARNING and record.exc_info is None
        message = record.getMessage()
        assert message.startswith("malformed request: ") and "\n" not in message
