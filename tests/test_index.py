"""RedisIndex against real Redis: layout, clusters (merge and split), deletes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from dedup_service.fingerprint import Fingerprint, Fingerprinter
from dedup_service.index import RedisIndex
from dedup_service.normalize import split_lines

_FINGERPRINTER = Fingerprinter(num_perm=128, shingle_size=5, threshold=0.5, seed=1)


def FP(text: str) -> Fingerprint:
    return _FINGERPRINTER(split_lines(text))


async def ids(index: RedisIndex, fp: Fingerprint) -> list[str]:
    return [cand.id for cand in (await index.query(fp)).candidates]


STORY = " ".join(f"word{i}" for i in range(200))


@pytest.fixture
async def index(redis_url: str, key_prefix: str) -> AsyncIterator[RedisIndex]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield RedisIndex(client, key_prefix, max_candidates=100)
    await client.aclose()


async def test_layout_is_compact_and_under_one_hash_tag(index: RedisIndex, key_prefix: str) -> None:
    fp = FP(STORY)
    res = await index.upsert("a", fp, {"site": "x"})
    assert res.status == "created" and res.iid == "1" and res.found.candidates == []
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
    assert await ids(index, FP(STORY)) == []
    assert await ids(index, other) == ["a"]
    assert await index.delete("a") is True
    assert await index.delete("a") is False
    assert await ids(index, other) == []
    assert await index.get("a") is None


async def test_link_merges_clusters_and_delete_splits_them(index: RedisIndex) -> None:
    # a - b - c linked as a chain: deleting b leaves a and c in different clusters
    iids = {}
    for name in "abc":
        iids[name] = (await index.upsert(name, FP(f"{name} " + STORY), {})).iid
    cab = await index.finish(iids["b"], [iids["a"]])
    cbc = await index.finish(iids["c"], [iids["b"]])
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
    assert await index.finish(b.iid, [a.iid]) == b.cluster_id
    assert await index.finish(a.iid, [b.iid]) is None
