"""Retention: old articles leave the index, their keys and their clusters, without a scan."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
import redis.asyncio
from conftest import FIXTURES
from redis.asyncio.cluster import RedisCluster

from dedup_service import Settings, create_app
from dedup_service.config import IndexLayout, retention_seconds
from dedup_service.errors import ConfigError
from dedup_service.keys import key_layout, partition_names
from dedup_service.partitions import Router

AGENCY = (FIXTURES / "agency_body.txt").read_text()


@pytest.mark.parametrize("backend", ["single", "cluster", "partitioned"])
async def test_articles_older_than_the_window_disappear(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, aiohttp_client, settings: Settings, redis_url: str, backend: str
) -> None:
    partitions = 3 if backend == "partitioned" else 1
    if backend != "single":
        redis_url = request.getfixturevalue("cluster_url")
        settings = replace(settings, redis_url=redis_url, redis_cluster=True, layout=IndexLayout(partitions=partitions))
    client = await aiohttp_client(create_app(replace(settings, retention="1s", retention_interval=0.2)))
    first = await client.post("/v1/articles", json={"id": "old", "text": AGENCY})
    cluster = (await first.json())["cluster_id"]
    r = RedisCluster.from_url(redis_url) if backend != "single" else redis.asyncio.Redis.from_url(redis_url)
    parts = [key_layout(name) for name in partition_names(settings.key_prefix, partitions)]
    home = parts[Router(partitions).of_id("old")]
    old_iid = (await r.hget(home["ids"], "old")).decode()
    await asyncio.sleep(1.8)
    await client.post("/v1/articles", json={"id": "new", "text": "A fresh story about the harvest in the valley."})
    assert (await client.get("/v1/articles/old")).status == 404
    assert (await client.get("/v1/articles/new")).status == 200
    assert (await client.get(f"/v1/clusters/{cluster}")).status == 404
    check = await (await client.post("/v1/check", json={"text": AGENCY})).json()
    assert check["matches"] == []
    assert not await r.exists(home["doc"] + old_iid)
    posted = set()  # the old article's bucket and anchor postings went with it
    for keys in parts:
        for kind in ("band", "anchor"):
            async for key in r.scan_iter(match=keys[kind] + "*", count=1000):
                posted |= {m for value in await r.hvals(key) for m in value.decode().split(",")}
    assert posted and old_iid not in posted
    await r.aclose()


@pytest.mark.parametrize(("value", "seconds"), [("30d", 2592000), ("12h", 43200), ("90m", 5400), ("1.5s", 1.5)])
def test_retention_values(value: str, seconds: float) -> None:
    assert retention_seconds(value) == seconds


@pytest.mark.parametrize("value", ["30", "d", "-1d", "10y"])
def test_bad_retention_values_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="retention"):
        Settings(retention=value)
