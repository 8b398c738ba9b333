"""RedisIndex against real Redis: layout, clusters (merge and split), deletes."""

from __future__ import annotations

import signal
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import redis.asyncio
from conftest import upsert

from dedup_service import Settings
from dedup_service.config import IndexLayout
from dedup_service.deliveries import Deliveries
from dedup_service.embedded import EmbeddedRedis
from dedup_service.errors import ConfigError, IndexUnavailable
from dedup_service.fingerprint import Fingerprint, Fingerprinter
from dedup_service.index import RedisIndex
from dedup_service.keys import key_layout
from dedup_service.models import Article
from dedup_service.normalize import split_lines
from dedup_service.records import Write
from dedup_service.runtime import open_service

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
    res = await upsert(index, "a", fp, {"site": "x"})
    assert res.status == "created" and res.iid == "1" and res.found.candidates == []
    keys = [k async for k in index.redis.scan_iter(match="{" + key_prefix + "}*")]
    # postings are fields of sharded hashes, stored as listpacks (ziplists before Redis 7)
    for kind, expected in (("b", 25), ("a", len(fp.anchors) // 8)):
        shards = [k for k in keys if k.startswith(f"{{{key_prefix}}}:{kind}:".encode())]
        assert sum([await index.redis.hlen(k) for k in shards]) == expected
        assert all([await index.redis.object("encoding", k) in (b"listpack", b"ziplist") for k in shards])
        assert all([v == b"1" for k in shards for v in await index.redis.hvals(k)])
    record = await index.redis.hget(f"{{{key_prefix}}}:d:1", "r")
    assert record is not None and record.endswith(fp.signature.to_bytes())
    assert len(fp.signature.to_bytes()) == 2 * 128  # 16-bit minima


async def test_postings_hold_several_articles_and_deletes_leave_none(index: RedisIndex, key_prefix: str) -> None:
    fp = FP(STORY)
    for name in "abc":
        await upsert(index, name, fp, {})
    assert [c.id for c in (await index.query(fp)).candidates] == ["a", "b", "c"]
    await index.delete("b")
    assert [c.id for c in (await index.query(fp)).candidates] == ["a", "c"]
    for name in "ac":
        await index.delete(name)
    left = [k async for k in index.redis.scan_iter(match="{" + key_prefix + "}:[ba]:*")]
    assert left == []


async def test_unchanged_replaced_and_deleted(index: RedisIndex) -> None:
    await upsert(index, "a", FP(STORY), {})
    again = await upsert(index, "a", FP(STORY), {})
    assert again.status == "unchanged" and again.iid == "1"
    other = FP("a completely different text about nothing in particular at all")
    replaced = await upsert(index, "a", other, {})
    assert replaced.status == "replaced" and replaced.iid != "1"
    assert await ids(index, FP(STORY)) == []
    assert await ids(index, other) == ["a"]
    assert await index.delete("a") is True
    assert await index.delete("a") is False
    assert await ids(index, other) == []
    assert await index.get("a") is None


async def test_sent_again_is_decided_by_the_text_as_sent(index: RedisIndex, key_prefix: str) -> None:
    fp = FP(STORY)
    await index.write(index.encode([Write("a", fp, {"site": "x"}, sent_hash=b"as sent" * 2)]))
    cleaned_differently = FP("Connect with us\n" + STORY)  # chrome learnt since moves the cleaned text
    same = await index.write(index.encode([Write("a", cleaned_differently, {"site": "x"}, sent_hash=b"as sent" * 2)]))
    assert [r.status for r in same] == ["unchanged"]
    assert (await index.get("a")).text == fp.text  # type: ignore[union-attr]
    updated = await index.write(index.encode([Write("a", fp, {"site": "y"}, sent_hash=b"as sent" * 2)]))
    assert [r.status for r in updated] == ["updated"]
    assert (await index.get("a")).article.meta == {"site": "y"}  # type: ignore[union-attr]
    # an article stored before the sent hash was kept is compared by its cleaned text
    await index.redis.hdel(key_layout(key_prefix)["doc"] + same[0].iid, "s")
    assert (await upsert(index, "a", fp, {"site": "y"})).status == "unchanged"
    assert (await upsert(index, "a", cleaned_differently, {"site": "y"})).status == "replaced"


async def test_texts_by_internal_id_leave_out_deleted_articles(index: RedisIndex) -> None:
    a = await upsert(index, "a", FP("first " + STORY), {})
    b = await upsert(index, "b", FP("second text, with its own words and ünïcode"), {})
    await index.delete("a")
    assert await index.texts([a.iid, b.iid]) == {b.iid: "second text, with its own words and ünïcode"}
    assert await index.texts([]) == {}


async def test_texts_are_stored_as_zstd_and_zlib_texts_of_earlier_versions_still_read(
    index: RedisIndex, key_prefix: str
) -> None:
    text = "a text stored by an earlier version, with ünïcode " + STORY
    res = await upsert(index, "a", FP(text), {})
    doc = f"{{{key_prefix}}}:d:{res.iid}"
    stored = await index.redis.hget(doc, "z")
    assert stored is not None and stored.startswith(b"\x28\xb5\x2f\xfd") and len(stored) < len(text) / 2
    await index.redis.hset(doc, "z", zlib.compress(text.encode(), 1))  # as versions before zstd wrote it
    assert await index.texts([res.iid]) == {res.iid: text}
    stored_view = await index.get("a")
    assert stored_view is not None and stored_view.text == text


async def test_a_short_text_finds_a_copy_that_kept_one_of_its_anchors(index: RedisIndex) -> None:
    """Two shared anchors make a candidate, or a quarter of the query's when that is fewer."""
    long_text = " ".join(f"w{i}" for i in range(400))
    fp_long = FP(long_text)
    anchors = np.frombuffer(fp_long.anchors, "<u8")
    words = long_text.split()
    # a short text (about 30 words, 3 anchors) that shares just one anchor with the long text:
    # a window of it holding one anchor, then words of its own
    fp_short = None
    for start in range(len(words) - 12):
        for other in range(50):
            fp = FP(" ".join(words[start : start + 12] + [f"v{other}-{j}" for j in range(18)]))
            own = np.frombuffer(fp.anchors, "<u8")
            if len(own) == 3 and np.isin(own, anchors).sum() == 1:
                fp_short = fp
                break
        if fp_short is not None:
            break
    assert fp_short is not None
    await upsert(index, "long", fp_long, {})
    found = await index.query(fp_short)
    assert found.searched_anchors == 3 and [c.id for c in found.candidates] == ["long"]
    assert found.candidates[0].shared_anchors == 1


async def test_candidates_carry_their_own_anchor_count_however_found(index: RedisIndex) -> None:
    story, other = FP(STORY), FP(" ".join(f"unrelated{i}" for i in range(120)) + " " + STORY[:400])
    await upsert(index, "story", story, {})
    await upsert(index, "other", other, {})
    found = {c.id: c for c in (await index.query(FP(STORY))).candidates}
    assert found["story"].anchors == len(story.anchors) // 8  # through its buckets
    assert found["other"].anchors == len(other.anchors) // 8  # through shared anchors alone
    assert 0 < found["other"].shared_anchors < found["story"].shared_anchors


async def test_link_merges_clusters_and_delete_splits_them(index: RedisIndex) -> None:
    # a - b - c linked as a chain: deleting b leaves a and c in different clusters
    iids = {}
    for name in "abc":
        iids[name] = (await upsert(index, name, FP(f"{name} " + STORY), {})).iid
    cab = (await index.finish(iids["b"], [iids["a"]])).cluster_id
    cbc = (await index.finish(iids["c"], [iids["b"]])).cluster_id
    assert cab == cbc
    clusters = {n: (await index.get(n)).article.cluster_id for n in "abc"}  # type: ignore[union-attr]
    assert len(set(clusters.values())) == 1
    await index.delete("b")
    after = {n: (await index.get(n)).article.cluster_id for n in "ac"}  # type: ignore[union-attr]
    assert after["a"] != after["c"]
    assert cab in after.values()


async def test_first_appearance_is_kept_for_clusters_of_two_or_more_and_learnt_by_older_indexes(
    index: RedisIndex, key_prefix: str
) -> None:
    a = await upsert(index, "a", FP("a " + STORY), {})
    b = await upsert(index, "b", FP("b " + STORY), {})
    first_key = key_layout(key_prefix)["first"]
    assert await index.redis.zcard(first_key) == 0  # lone articles cost no entry
    cid = (await index.finish(b.iid, [a.iid])).cluster_id
    a_at = float((await index.redis.hget(f"{{{key_prefix}}}:d:{a.iid}", "i")).decode())
    assert await index.redis.zscore(first_key, cid) == a_at
    await index.redis.delete(first_key)  # as an index written before it was kept
    _, [summary] = await index.recent_clusters(0.0, None, 10, 2, 10)
    assert summary.first == a_at and await index.redis.zscore(first_key, cid) == a_at  # learnt on the way
    await index.delete("a")
    _, [summary] = await index.recent_clusters(0.0, None, 10, 1, 10)
    assert summary.first == float((await index.redis.hget(f"{{{key_prefix}}}:d:{b.iid}", "i")).decode())
    assert await index.redis.zcard(first_key) == 0  # alone again


async def test_link_to_a_deleted_article_is_ignored(index: RedisIndex) -> None:
    a = await upsert(index, "a", FP(STORY), {})
    b = await upsert(index, "b", FP("b " + STORY), {})
    await index.delete("a")
    assert (await index.finish(b.iid, [a.iid])).cluster_id == b.cluster_id
    assert (await index.finish(a.iid, [b.iid])).cluster_id is None


async def test_only_articles_with_a_possible_copy_wait_for_a_verdict(index: RedisIndex, key_prefix: str) -> None:
    await upsert(index, "a", FP(STORY), {})
    copy = await upsert(index, "b", FP("b " + STORY), {})
    assert copy.pending and [c.id for c in copy.found.candidates] == ["a"]
    # shares a passage with the story: a candidate (maybe related), not a possible copy
    partial = " ".join(f"other{i}" for i in range(150)) + " " + " ".join(f"word{i}" for i in range(60))
    part = await upsert(index, "c", FP(partial), {})
    assert not part.pending and {c.id for c in part.found.candidates} == {"a", "b"}
    new = await upsert(index, "d", FP("a story about something else entirely, told in other words"), {})
    assert not new.pending and new.found.candidates == []
    assert await index.pending(cutoff=1e12, at_most=10) == ["b"]


async def test_an_index_refuses_settings_other_than_those_it_was_built_with(settings: Settings) -> None:
    async with open_service(settings) as dedup:
        await dedup.ingest(Article(id="a", text=STORY))
    async with open_service(settings) as dedup:  # the same settings: fine
        assert (await dedup.get("a")).id == "a"
    for changed in ({"shard_bits": 16}, {"num_perm": 64}, {"threshold": 0.8}, {"anchor_sample": 4}):
        with pytest.raises(ConfigError, match="was built with") as err:
            async with open_service(replace(settings, layout=replace(settings.layout, **changed))):
                pass
        assert str(next(iter(changed.values()))) in str(err.value) or "bands" in str(err.value)


async def test_an_index_built_before_the_anchor_sample_was_recorded_keeps_one_in_eight(settings: Settings) -> None:
    async with open_service(settings) as dedup:
        await dedup.ingest(Article(id="a", text=STORY))
        await dedup.index.redis.hdel(dedup.index.keys["layout"], "anchor_sample")  # as such an index holds it
    dense = replace(settings, layout=replace(settings.layout, anchor_sample=4))
    for _ in range(2):  # refused, and refused again: the refusal records nothing
        with pytest.raises(ConfigError, match="anchor_sample=8"):
            async with open_service(dense):
                pass
    async with open_service(settings) as dedup:
        assert (await dedup.check(Article(id=None, text=STORY))).matches[0].id == "a"


async def test_shard_bits_spread_postings_over_more_shards(settings: Settings, key_prefix: str) -> None:
    async with open_service(replace(settings, layout=replace(settings.layout, shard_bits=16))) as dedup:
        for i in range(3):
            await dedup.ingest(Article(id=f"a{i}", text=f"{i} " + STORY))
        found = (await dedup.check(Article(id=None, text="3 " + STORY))).matches
        assert sorted(m.id for m in found) == ["a0", "a1", "a2"]
        shards = [k async for k in dedup.index.redis.scan_iter(match="{" + key_prefix + "}:b:*")]
        assert len(shards) > 25  # 2**16 shards: the bands of different articles rarely share one


async def test_expire_walks_internal_ids_past_deleted_ones_and_stops_at_the_cutoff(index: RedisIndex) -> None:
    for name in "abcd":
        await upsert(index, name, FP(f"{name} " + STORY), {})
    await index.delete("b")  # a gap in the internal ids
    now = time.time()
    assert await index.expire(now + 60, at_most=2) is True  # took a and c; more may be left
    assert [await index.get(n) is None for n in "acd"] == [True, True, False]
    assert await index.expire(now - 3600, at_most=2) is False  # d is newer than the cutoff
    assert await index.get("d") is not None
    assert await index.expire(now + 60, at_most=2) is False  # d went; nothing is left
    assert await index.count() == 0


async def _posting_values(client: redis.asyncio.Redis, key_prefix: str, kind: str) -> list[bytes]:
    """Every posting of one kind ("b" buckets, "a" anchors): comma-joined internal ids."""
    shards = [k async for k in client.scan_iter(match="{" + key_prefix + "}:" + kind + ":*")]
    return [v for k in shards for v in (await client.hgetall(k)).values()]


async def test_a_full_anchor_posting_stops_growing_and_still_leads_to_its_first_holders(
    redis_url: str, key_prefix: str
) -> None:
    passage = " ".join(f"common{i}" for i in range(60))
    async with redis.asyncio.Redis.from_url(redis_url) as client:
        index = RedisIndex(client, key_prefix, max_candidates=100, layout=IndexLayout(max_anchor_postings=3))
        for n in range(4):
            await upsert(index, f"a{n}", FP(passage + " " + " ".join(f"own{n}x{j}" for j in range(300))), {})
        found = await index.query(FP(passage))
    assert sorted(c.id for c in found.candidates) == ["a0", "a1", "a2"]  # a3 came after the posting was full


async def test_a_full_bucket_stops_growing_and_still_leads_to_its_first_holders(
    redis_url: str, key_prefix: str
) -> None:
    short = "a brief wire alert of nine words in all"
    layout = IndexLayout(max_postings=3, max_anchor_postings=1)  # anchors lead to a0 alone
    async with redis.asyncio.Redis.from_url(redis_url) as client:
        index = RedisIndex(client, key_prefix, max_candidates=100, layout=layout)
        for n in range(5):
            await upsert(index, f"a{n}", FP(short), {})
        assert sorted(c.id for c in (await index.query(FP(short))).candidates) == ["a0", "a1", "a2"]
        # the buckets hold three ids each, not five
        values = await _posting_values(client, key_prefix, "b")
        assert values and all(v.count(b",") == 2 for v in values)


async def test_buckets_and_anchor_postings_are_capped_apart(redis_url: str, key_prefix: str) -> None:
    async with redis.asyncio.Redis.from_url(redis_url) as client:
        layout = IndexLayout(max_postings=4, max_anchor_postings=2)
        index = RedisIndex(client, key_prefix, max_candidates=100, layout=layout)
        for n in range(6):
            await upsert(index, f"a{n}", FP(STORY), {})
        longest = [max(v.count(b",") + 1 for v in await _posting_values(client, key_prefix, kind)) for kind in "ba"]
        assert longest == [4, 2]
        found = await index.query(FP(STORY))
    assert sorted(c.id for c in found.candidates) == ["a0", "a1", "a2", "a3"]  # through the buckets


async def test_a_story_copied_many_times_costs_each_copy_a_bounded_share(settings: Settings) -> None:
    """Past CLUSTER_CANDIDATES copies, a new copy is verified against the story's first
    ones only (not every copy so far), and still joins the story; other stories' matches
    are not held back by it."""
    async with open_service(replace(settings, layout=replace(settings.layout, cluster_candidates=4))) as dedup:
        for n in range(10):
            await dedup.ingest(Article(id=f"s{n}", text=STORY))
        other = " ".join(f"other{i}" for i in range(200))
        for n in range(3):
            await dedup.ingest(Article(id=f"o{n}", text=other))
        verdict = await dedup.ingest(Article(id="s10", text=STORY + " " + other))
        by_story = sorted(m.id for m in verdict.matches if m.id.startswith("s"))
        assert by_story == ["s0", "s1", "s2", "s3"]  # the story's first four, not all ten
        assert sorted(m.id for m in verdict.matches if m.id.startswith("o")) == ["o0", "o1", "o2"]
        copy = await dedup.ingest(Article(id="s11", text=STORY))
        assert [(m.id, m.relation.value) for m in copy.matches] == [(f"s{n}", "exact") for n in range(4)]
        # it joined the story, which s10 (holding both texts) bridged with the other one
        assert copy.cluster_id == (await dedup.get("s9")).cluster_id == (await dedup.get("o0")).cluster_id
        assert (await dedup.index.cluster(copy.cluster_id or "", 100))[0] == 15


@pytest.fixture(params=["single", "cluster"])
async def any_index(request: pytest.FixtureRequest, redis_url: str, key_prefix: str) -> AsyncIterator[RedisIndex]:
    client: redis.asyncio.Redis | redis.asyncio.RedisCluster
    if request.param == "cluster":
        client = redis.asyncio.RedisCluster.from_url(request.getfixturevalue("cluster_url"))
    else:
        client = redis.asyncio.Redis.from_url(redis_url)
    index = RedisIndex(client, key_prefix, max_candidates=100)
    yield index
    if request.param == "cluster":
        await index.drop()
    await client.aclose()


async def test_a_write_chain_runs_writes_in_the_order_sent(any_index: RedisIndex) -> None:
    """All three writes are sent before any result is received; each sees the ones before it."""
    fp = FP(STORY)
    async with any_index.chain() as chain:
        for name in "abc":
            chain.send(any_index.encode([Write(name, fp, {})]))
        found = [[cand.id for cand in (await chain.receive())[0].found.candidates] for _ in "abc"]
    assert found == [[], ["a"], ["a", "b"]]


async def test_a_failed_write_fails_the_writes_sent_with_it_and_stops_the_chain(index: RedisIndex) -> None:
    fp = FP(STORY)
    bad = index.encode([Write("bad", fp, {})])
    bad.args[1] = "not a time"  # the script rejects the call
    async with index.chain() as chain:
        chain.send(bad)
        chain.send(index.encode([Write("with-it", fp, {})]))  # in the same round trip
        for _ in range(2):
            with pytest.raises(redis.exceptions.ResponseError):
                await chain.receive()
        chain.send(index.encode([Write("after", fp, {})]))
        with pytest.raises(redis.exceptions.ResponseError):
            await chain.receive()
    assert await index.get("after") is None  # never sent
    assert await index.get("with-it") is not None  # written: sending the batch again is safe (same id, same text)


async def test_writes_sent_while_redis_is_busy_go_together(index: RedisIndex) -> None:
    """One round trip for all the writes queued while the one before was running."""
    reads = int((await index.redis.info("stats"))["total_reads_processed"])
    async with index.chain() as chain:
        for name in "abcd":
            chain.send(index.encode([Write(name, FP(f"{name} " + STORY), {})]))
        assert [len(await chain.receive()) for _ in "abcd"] == [1, 1, 1, 1]
    # the first write alone, the three queued behind it together, and this INFO call
    assert int((await index.redis.info("stats"))["total_reads_processed"]) - reads <= 3


async def test_a_write_chain_survives_redis_losing_its_scripts(index: RedisIndex) -> None:
    async with index.chain() as chain:
        await index.redis.script_flush()
        chain.send(index.encode([Write("a", FP(STORY), {})]))
        assert (await chain.receive())[0].status == "created"  # redis-py loads the script again


async def test_a_write_to_a_server_that_stops_reading_times_out(tmp_path: Path) -> None:
    """The index's writes are bounded by redis-py's own socket_timeout: a real redis-server,
    stopped (SIGSTOP) after the connection is made, reads nothing more."""
    with EmbeddedRedis(tmp_path, unix_socket=False, persistent=False) as server:
        assert server.process is not None and server.url is not None
        async with redis.asyncio.Redis.from_url(server.url, socket_timeout=0.3) as client:
            index = RedisIndex(client, "w", max_candidates=100)
            assert await index.ping()
            server.process.send_signal(signal.SIGSTOP)
            try:
                with pytest.raises(IndexUnavailable, match="Timeout"):
                    await Deliveries(client, "w").store("big", b"x" * 64_000_000)  # more than the socket buffers hold
            finally:
                server.process.send_signal(signal.SIGCONT)
            assert await index.ping()  # a new connection once the server reads again
