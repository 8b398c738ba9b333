"""One index over several slots (DEDUP_PARTITIONS): where each piece lives, the same
candidates and clusters as one slot, every kind of key spread, nothing left behind by
deletes and retention, and each step a crash can interrupt finished by the sweep."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import numpy as np
import pytest
import redis
import redis.asyncio
from aiohttp.test_utils import TestClient, TestServer
from conftest import upsert
from invariants import index_violations
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from dedup_service import Settings, create_app
from dedup_service.config import IndexLayout
from dedup_service.errors import ConfigError
from dedup_service.fingerprint import Fingerprint, Fingerprinter
from dedup_service.index import RedisIndex
from dedup_service.keys import key_layout, partition_names
from dedup_service.normalize import split_lines
from dedup_service.partitioned import PartitionedIndex
from dedup_service.partitions import TOKEN, Router
from dedup_service.records import Finish, Write

_FINGERPRINTER = Fingerprinter(num_perm=128, shingle_size=5, threshold=0.5, seed=1)


def FP(text: str) -> Fingerprint:
    return _FINGERPRINTER(split_lines(text))


def _story(k: int, words: int = 120) -> str:
    return " ".join(f"s{k}w{i}" for i in range(words))


@pytest.mark.parametrize("parts", [3, 12, 64])
def test_partitions_take_evenly_spread_slots_and_names_no_other_index_can_have(parts: int) -> None:
    names = partition_names("news", parts)
    assert partition_names("news", 1) == ["news"]
    assert len(set(names)) == parts and all(name.startswith("news:") for name in names)
    # partition k in the k-th of `parts` equal slot ranges: a cluster with equal ranges per
    # node holds as many partitions on each node
    assert [key_slot(f"{{{name}}}".encode()) * parts // REDIS_CLUSTER_HASH_SLOTS for name in names] == list(
        range(parts)
    )


def test_tokens_go_to_the_partition_their_field_picks_in_their_order() -> None:
    rng = np.random.default_rng(3)
    tokens = rng.integers(0, 2**63, 40, dtype=np.uint64).astype("<u8").tobytes()[: 40 * TOKEN]
    where, by_part = Router(4).split(tokens)
    singles = [tokens[i : i + TOKEN] for i in range(0, len(tokens), TOKEN)]
    assert [int.from_bytes(t[4:], "little") % 4 for t in singles] == where
    for k, joined in by_part.items():
        assert joined == b"".join(t for t, at in zip(singles, where, strict=True) if at == k)
    assert Router(1).split(tokens) == ([0] * len(singles), {0: tokens})


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    r = redis.asyncio.Redis.from_url(redis_url)
    yield r
    await r.aclose()


async def test_both_layouts_find_the_same_candidates_and_clusters(
    client: redis.asyncio.Redis, redis_url: str, key_prefix: str
) -> None:
    """Stories and copies written alike to one slot and to five partitions, with caps
    low enough to bind (candidates of one cluster, postings per bucket): each write's
    candidates, in order, and the clusters the links make are the same."""
    layout = IndexLayout(cluster_candidates=2, max_postings=4)
    one = RedisIndex(client, key_prefix, max_candidates=6, layout=layout)
    spread = PartitionedIndex(client, key_prefix + "-p", max_candidates=6, layout=replace(layout, partitions=5))
    rng = random.Random(5)
    texts = []
    for i in range(60):
        if texts and rng.random() < 0.6:  # a copy: a cut or an edit of an earlier story
            words = rng.choice(texts).split()
            texts.append(" ".join(words[: rng.randrange(60, len(words) + 1)]) + f" edit{i}")
        else:
            texts.append(_story(i, rng.randrange(40, 200)))
    try:
        for i, text in enumerate(texts):
            fp = FP(text)
            found = []
            for index in (one, spread):
                (res,) = await index.write(index.encode([Write(f"a{i}", fp, {})]))
                found.append([(c.id, c.shared_anchors, c.anchors) for c in res.found.candidates])
                copies = [c.iid for c in res.found.candidates if c.shared_anchors * 2 >= c.anchors][:2]
                await index.finish_many([Finish(res.iid, copies)])
            assert found[0] == found[1], i
        ids = [f"a{i}" for i in range(len(texts))]
        assert _stories(ids, await one.clusters(ids)) == _stories(ids, await spread.clusters(ids))
        assert len(_stories(ids, await one.clusters(ids))) < len(ids) - 10  # clusters did merge
        with redis.Redis.from_url(redis_url) as r:
            assert index_violations(r, key_prefix + "-p", 5) == []
    finally:
        await one.drop()
        await spread.drop()


def _stories(ids: list[str], clusters: list[str | None]) -> set[frozenset[str]]:
    members: dict[str | None, set[str]] = {}
    for article, cid in zip(ids, clusters, strict=True):
        members.setdefault(cid, set()).add(article)
    return {frozenset(m) for m in members.values()}


async def test_every_kind_of_key_spreads_over_the_partitions(redis_url: str, key_prefix: str) -> None:
    """Articles, postings, clusters and site lines of an index of 4 partitions, written
    through the API: each partition holds its share; the index's own tag only its layout."""
    settings = Settings(redis_url=redis_url, key_prefix=key_prefix, layout=IndexLayout(partitions=4))
    batch = [{"id": f"a{i}", "text": _story(i // 2) + (" copy" if i % 2 else ""), "site": f"s{i % 40}.example"}
             for i in range(80)]  # fmt: skip
    async with TestClient(TestServer(create_app(settings))) as http:
        resp = await http.post("/v1/articles:batch", json=batch)
        assert resp.status == 200
        stories = [(await (await http.get(f"/v1/articles/a{i}")).json())["cluster_id"] for i in range(80)]
        assert all(stories[i] == stories[i + 1] for i in range(0, 80, 2)) and len(set(stories)) == 40
        listed = (await (await http.get("/v1/clusters?min_size=2&limit=100")).json())["clusters"]
        assert sorted(c["cluster_id"] for c in listed) == sorted(set(stories))
    with redis.Redis.from_url(redis_url) as r:
        for name in partition_names(key_prefix, 4):
            keys = key_layout(name)
            assert r.hlen(keys["ids"]) > 10
            for kind in ("doc", "band", "anchor", "cluster", "site"):
                assert next(r.scan_iter(match=keys[kind] + "*", count=1000), None) is not None, (name, kind)
            assert r.zcard(keys["recent"]) > 5
        assert [k.decode() for k in r.scan_iter(match="{" + key_prefix + "}*")] == [key_layout(key_prefix)["layout"]]
        assert index_violations(r, key_prefix, 4) == []


async def test_deletes_and_retention_leave_no_article_behind(
    client: redis.asyncio.Redis, redis_url: str, key_prefix: str
) -> None:
    index = PartitionedIndex(client, key_prefix, max_candidates=50, layout=IndexLayout(partitions=3))
    previous = ""
    for i in range(30):  # stories of three, each copy linked to the one before: a chain
        res = await upsert(index, f"a{i}", FP(_story(i // 3) + f" copy {i}"), {})
        await index.finish(res.iid, [previous] if i % 3 else [])
        previous = res.iid
    assert len(set(await index.clusters([f"a{i}" for i in range(30)]))) == 10
    # a1 links a0 and a2: deleting it splits its story in two
    assert await index.delete("a1") is True and await index.delete("a1") is False
    assert len(set(await index.clusters(["a0", "a2"]))) == 2
    with redis.Redis.from_url(redis_url) as r:
        assert index_violations(r, key_prefix, 3) == []
        assert await index.expire(time.time() + 60, at_most=9) is True  # more are left
        while await index.expire(time.time() + 60, at_most=9):
            pass
        assert await index.count() == 0
        assert index_violations(r, key_prefix, 3) == []
        left = {k.decode().split("}:")[1].split(":")[0] for k in r.scan_iter(match="{" + key_prefix + ":*")}
        assert left <= {"seq", "cseq", "lo"}  # counters only: no article, posting, link or cluster


async def test_the_sweep_finishes_every_step_a_crash_can_cut_short(
    client: redis.asyncio.Redis, redis_url: str, key_prefix: str
) -> None:
    index = PartitionedIndex(client, key_prefix, max_candidates=50, layout=IndexLayout(partitions=3))
    story, copy = FP(_story(1)), FP(_story(1) + " copy")
    a = await upsert(index, "a", story, {})
    await index.finish(a.iid, [])
    with redis.Redis.from_url(redis_url) as r:
        # stopped after a write's first step: recorded and pending, but in no posting yet
        await index.claim([Write("b", copy, {})], index.encode([Write("b", copy, {})]).args)
        assert [c.id for c in (await index.query(copy)).candidates] == ["a"]
        assert await index.pending(time.time() + 1, 10) == ["b"]  # the sweep posts it, then verifies it
        assert [c.id for c in (await index.query(copy)).candidates] == ["a", "b"]
        b = await index.get("b")
        assert b is not None
        await index.finish(b.article.iid, [a.iid])
        assert index_violations(r, key_prefix, 3) == []
        # stopped after a delete's first step: the article is gone, its tombstone not buried
        assert await index.take_out("a") is True
        assert await index.get("a") is None
        assert index_violations(r, key_prefix, 3) != []  # its postings and cluster still name it
        assert await index.pending(time.time() + 1, 10) == []
        assert index_violations(r, key_prefix, 3) == []
        assert [c.id for c in (await index.query(copy)).candidates] == ["b"]
        # stopped after a merge was recorded: the sweep carries it out
        c = await upsert(index, "c", FP(_story(2)), {})
        await index.finish(c.iid, [])
        (b_cluster, c_cluster) = await index.clusters(["b", "c"])
        assert b_cluster and c_cluster and b_cluster != c_cluster
        home = index.router.of_iid(c.iid)
        r.hset(index.parts[home]["merging"], c.iid, f"{b_cluster},{c_cluster}")
        assert await index.pending(time.time() + 1, 10) == []
        assert await index.clusters(["b", "c"]) == [b_cluster, b_cluster]
        assert index_violations(r, key_prefix, 3) == []


async def test_an_index_keeps_the_partitions_it_was_made_with(client: redis.asyncio.Redis, key_prefix: str) -> None:
    """Articles, postings and ids are laid out by the number of partitions: an index
    opened with another number would find none of them, so it is refused."""
    made = PartitionedIndex(client, key_prefix, max_candidates=10, layout=IndexLayout(partitions=4))
    await made.check_layout()
    for parts in (1, 3):
        with pytest.raises(ConfigError, match="partitions=4 \\(configured: " + str(parts)):
            await RedisIndex(client, key_prefix, max_candidates=10, layout=IndexLayout(partitions=parts)).check_layout()
    await made.drop()
    assert not await made.exists()


async def test_a_copy_linked_to_an_article_taken_out_meanwhile_keeps_no_half_link(
    client: redis.asyncio.Redis, redis_url: str, key_prefix: str
) -> None:
    """The verdict of a copy names an article deleted since its search: as in one slot,
    no link is left pointing at it once the delete is buried."""
    index = PartitionedIndex(client, key_prefix, max_candidates=50, layout=IndexLayout(partitions=3))
    a = await upsert(index, "a", FP(_story(1)), {})
    await index.finish(a.iid, [])
    b = await upsert(index, "b", FP(_story(1) + " copy"), {})
    assert [c.id for c in b.found.candidates] == ["a"]
    assert await index.take_out("a") is True  # a delete's first step, its tombstone not yet buried
    await index.finish(b.iid, [a.iid])
    assert await index.pending(time.time() + 1, 10) == []
    with redis.Redis.from_url(redis_url) as r:
        assert index_violations(r, key_prefix, 3) == []
        assert r.smembers(index.calls.of_article("link", b.iid)) == set()
