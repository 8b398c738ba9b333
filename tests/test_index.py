"""RedisIndex against real Redis: layout, clusters (merge and split), deletes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from dedup_service.fingerprint import Fingerprinter
from dedup_service.index import RedisIndex

FP = Fingerprinter(num_perm=128, shingle_size=5, threshold=0.5, seed=1)
STORY = " ".join(f"word{i}" for i in range(200))


@pytest.fixture
async def index(redis_url: str, key_prefix: str) -> AsyncIterator[RedisIndex]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield RedisIndex(client, key_prefix, max_candidates=100)
    await client.aclose()


async def test_layout_is_compact_and_under_one_hash_tag(index: RedisIndex, key_prefix: str) -> None:
    fp = FP(STORY)
    res = await index.upsert("a", fp, {"site": "x"})
    assert res.status == "created" and res.iid == "1" and res.candidates == []
    keys = [k async for k in index.redis.scan_iter(match="{" + key_prefix + "}*")]
    bands = [k for k in keys if k.startswith(("{" + key_prefix + "}:b:").encode())]
    assert len(bands) == 25
    assert await index.redis.object("encoding", bands[0]) == b"intset"
    assert await index.redis.hget(f"{{{key_prefix}}}:d:1", "s") == fp.signature.to_bytes()


async def test_unchanged_replaced_and_deleted(index: RedisIndex) -> None:
    await index.upsert("a", FP(STORY), {})
    again = await index.upsert("a", FP(STORY), {})
    assert again.status == "unchanged" and again.iid == "1"
    other = FP("a completely different text about nothing in particular at all")
    replaced = await index.upsert("a", other, {})
    assert replaced.status == "replaced" and replaced.iid != "1"
    assert await index.query(FP(STORY)) == []
    assert [c.id for c in await index.query(other)] == ["a"]
    assert await index.delete("a") is True
    assert await index.delete("a") is False
    assert await index.query(other) == []
    assert await index.get("a") is None


async def test_link_merges_clusters_and_delete_splits_them(index: RedisIndex) -> None:
    # a - b - c linked as a chain: deleting b leaves a and c in different clusters
    ids = {}
    for name in "abc":
        ids[name] = (await index.upsert(name, FP(f"{name} " + STORY), {})).iid
    cab = await index.link(ids["b"], [ids["a"]])
    cbc = await index.link(ids["c"], [ids["b"]])
    assert cab == cbc
    clusters = {n: (await index.get(n)).article.cluster_id for n in "abc"}  # type: ignore[union-attr]
    assert len(set(clusters.values())) == 1
    await index.delete("b")
    after = {n: (await index.get(n)).article.cluster_id for n in "ac"}  # type: ignore[union-attr]
    assert after["a"] != after["c"]
    assert cab in after.values()


async def test_link_to_a_deleted_article_is_ignored(index: RedisIndex) -> None:
    a = await index.upsert("a", FP(STORY), {})
    b = await index.upsert("b", FP("b " + STORY), {})
    await index.delete("a")
    assert await index.link(b.iid, [a.iid]) == b.cluster_id
    assert await index.link(a.iid, [b.iid]) is None
