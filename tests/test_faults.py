"""Redis going away: 503 JSON with Retry-After, then recovery without a restart; AOF keeps data."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from conftest import upsert

from dedup_service import Settings, create_app
from dedup_service.constants import REDIS_TUNING
from dedup_service.embedded import EmbeddedCluster, EmbeddedRedis

TEXT = " ".join(f"token{i}" for i in range(120))


def test_embedded_redis_keeps_small_hashes_compact(tmp_path: Path) -> None:
    import redis

    with EmbeddedRedis(tmp_path / "redis") as server, redis.Redis.from_url(server.url or "") as r:
        assert r.config_get("hash-max-ziplist-*") == {
            "hash-max-ziplist-entries": REDIS_TUNING["hash-max-ziplist-entries"],
            "hash-max-ziplist-value": REDIS_TUNING["hash-max-ziplist-value"],
        }
        assert r.config_get("appendonly") == {"appendonly": "yes"}
    with EmbeddedRedis(tmp_path / "scratch", persistent=False) as server, redis.Redis.from_url(server.url or "") as r:
        assert r.config_get("appendonly") == {"appendonly": "no"}


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
            # more than one chunk: the writes would go back to back on a connection of their own
            ("POST", "/v1/articles:batch", [{"text": f"{TEXT} {i}"} for i in range(120)]),
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
            resp = await client.post("/v1/articles:batch", json=[{"text": f"{TEXT} {i}"} for i in range(120)])
            assert [r["status"] for r in (await resp.json())["results"]] == [201] * 120
        finally:
            server.stop()


async def test_a_verdict_left_pending_by_a_stopped_service_is_repaired(
    aiohttp_client,  # type: ignore[no-untyped-def]
    settings: Settings,
) -> None:
    """The index write and the copy links are two calls; if the service stops in between,
    the article is pending and the next service's sweep links it into its cluster."""
    from dedup_service.models import Article
    from dedup_service.runtime import open_service

    body = (" ".join(f"token{i}" for i in range(200)) + "\n") * 1
    async with open_service(settings) as dedup:
        first = await dedup.ingest(Article(id="a", text=body))
        # an ingest cut short after its index write: no verification, no links
        for copy in "bcd":
            prep = await dedup.preparer.prepare(
                Article(id=copy, text=body + f"one more line at the end of copy {copy}")
            )
            cut = await upsert(dedup.index, copy, prep.fingerprint, prep.meta)
            assert cut.pending and cut.cluster_id != first.cluster_id
        assert await dedup.repair(older_than=3600) == 0  # not yet past the grace period
        assert await dedup.repair(older_than=0, page=2) == 3  # page after page until none is left
        assert await dedup.repair(older_than=0) == 0  # recorded now: nothing left pending
        clusters = await dedup.index.clusters(["a", "b", "c", "d"])
        assert len(set(clusters)) == 1


async def test_cluster_outage_gives_503_and_recovers(tmp_path: Path) -> None:
    """The same on a local 3-node Redis Cluster: every node stopped, then restarted."""
    cluster = EmbeddedCluster(tmp_path / "cluster")
    url = cluster.start()
    settings = Settings(redis_url=url, redis_cluster=True, redis_timeout=1.0)
    try:
        async with TestClient(TestServer(create_app(settings))) as client:
            assert (await client.post("/v1/articles", json={"id": "kept", "text": TEXT})).status == 201
            cluster.stop()
            for method, path, body in [("POST", "/v1/articles", {"text": TEXT}), ("GET", "/readyz", None)]:
                resp = await client.request(method, path, json=body)
                assert resp.status == 503, path
                assert (await resp.json())["error"]["code"] == "index_unavailable"
            cluster.start()
            for _ in range(50):  # the client finds the nodes again on its own
                if (await client.get("/readyz")).status == 200:
                    break
                await asyncio.sleep(0.2)
            resp = await client.post("/v1/check", json={"text": TEXT})
            assert resp.status == 200 and [m["id"] for m in (await resp.json())["matches"]] == ["kept"]
    finally:
        cluster.stop()


async def test_redis_going_away_mid_batch_gives_503_and_the_batch_can_be_sent_again(tmp_path: Path) -> None:
    """Redis stops while a batch's writes are in flight back to back: the batch answers
    503, not a stack trace or a hang; sent again when Redis is back, every article is
    there once, in its story's cluster."""
    import redis.asyncio

    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    stories = [" ".join(f"s{k}w{i}" for i in range(150)) for k in range(10)]
    batch = [{"id": f"a{i}", "text": stories[i % 10] + f" copy {i}"} for i in range(1000)]
    settings = Settings(redis_url=url, redis_timeout=1.0)
    try:
        async with TestClient(TestServer(create_app(settings))) as client, redis.asyncio.Redis.from_url(url) as r:
            posting = asyncio.create_task(client.post("/v1/articles:batch", json=batch))
            while await r.hlen("{dedup}:ids") < 100 and not posting.done():
                await asyncio.sleep(0.002)
            server.stop()
            resp = await posting
            assert resp.status == 503, await resp.text()
            assert (await resp.json())["error"]["code"] == "index_unavailable"
            assert server.start() == url
            resp = await client.post("/v1/articles:batch", json=batch)
            assert resp.status == 200
            results = (await resp.json())["results"]
            assert {r["status"] for r in results} <= {200, 201} and len(results) == 1000
            assert await r.hlen("{dedup}:ids") == 1000
            assert await r.zcard("{dedup}:p") == 0  # no verdict left pending for the sweep
            iids = await r.hmget("{dedup}:ids", [f"a{i}" for i in range(1000)])
            async with r.pipeline(transaction=False) as pipe:
                for iid in iids:
                    pipe.hget(f"{{dedup}}:d:{iid.decode()}", "c")
                clusters = await pipe.execute()
            assert len(set(clusters)) == 10 and all(clusters[i] == clusters[i % 10] for i in range(1000))
    finally:
        server.stop()


async def test_metrics_answer_at_once_while_redis_is_paused_and_say_it_is_down(tmp_path: Path) -> None:
    """A paused Redis (SIGSTOP) answers nothing; /metrics must not wait for it (it took
    the 5 s socket timeout): process metrics, the last known size, and dedup_redis_up 0."""
    import os
    import signal
    import time

    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    settings = Settings(redis_url=url, redis_timeout=5.0)
    try:
        async with TestClient(TestServer(create_app(settings))) as client:
            assert (await client.post("/v1/articles", json={"id": "kept", "text": TEXT})).status == 201
            text = await (await client.get("/metrics")).text()
            assert "dedup_redis_up 1.0" in text and "dedup_index_articles 1.0" in text
            assert server.process is not None
            os.kill(server.process.pid, signal.SIGSTOP)
            try:
                t0 = time.perf_counter()
                resp = await client.get("/metrics")
                waited = time.perf_counter() - t0
                text = await resp.text()
            finally:
                os.kill(server.process.pid, signal.SIGCONT)
            assert resp.status == 200 and "dedup_redis_up 0.0" in text and "dedup_index_articles 1.0" in text
            assert waited < settings.redis_timeout / 2, waited  # not the socket timeout: the metrics' own bound
            text = await (await client.get("/metrics")).text()
            assert "dedup_redis_up 1.0" in text  # back once Redis answers
    finally:
        server.stop()
