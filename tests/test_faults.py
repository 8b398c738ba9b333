"""Redis going away: 503 JSON with Retry-After, then recovery without a restart; AOF keeps data."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from dedup_service import Settings, create_app
from dedup_service.embedded import EmbeddedRedis

TEXT = " ".join(f"token{i}" for i in range(120))


async def test_redis_outage_gives_503_and_recovers(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    settings = Settings(redis_url=url, redis_timeout=1.0)
    async with TestClient(TestServer(create_app(settings))) as client:
        assert (await client.post("/v1/articles", json={"id": "kept", "text": TEXT})).status == 201
        server.stop()
        calls = [
            ("POST", "/v1/articles", {"text": TEXT}),
            ("POST", "/v1/check", {"text": TEXT}),
            ("GET", "/v1/articles/kept", None),
            ("GET", "/readyz", None),
        ]
        for method, path, body in calls:
            resp = await client.request(method, path, json=body)
            assert resp.status == 503, path
            assert resp.headers["Retry-After"]
            assert (await resp.json())["error"]["code"] == "index_unavailable"
        assert (await client.get("/healthz")).status == 200
        assert server.start() == url  # same data dir, same socket
        try:
            assert (await client.get("/readyz")).status == 200
            resp = await client.post("/v1/check", json={"text": TEXT})
            assert [m["id"] for m in (await resp.json())["matches"]] == ["kept"]
        finally:
            server.stop()
