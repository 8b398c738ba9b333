"""One index over the nodes of a Redis Cluster: what each node holds and does, by the
number of primaries, with one Redis beside it in the same run.

Loads --articles articles into a fresh index on each of: one Redis (one partition, the
single-call layout), one Redis with --partitions partitions (the partitioned path's own
cost), and local clusters of 3 and 6 primaries (all on this machine) with --partitions
partitions. The first --real articles are the benchmark corpus (real stories and
syndicated variants of them); each article with a candidate sharing half its anchors is
linked to it, so clusters merge across partitions as copies arrive. The rest are filler
articles (real fingerprints re-salted: each a distinct story with a real record and
text). Articles go as the service writes a batch: UPSERT_CHUNK a write, 4 writes in
flight, each followed by its verdicts (``finish``).

Reports, per configuration: ingest rate; Redis memory per node (INFO used_memory delta)
and its spread around the mean; Redis CPU per article per node (INFO cpu, user + system)
and summed over the nodes; requests Redis read per article (INFO total_reads_processed,
about the round trips: a pipeline that goes to 3 nodes is 3 reads). Then the real
articles again, one a request and 16 at once, each with its verdict, on one Redis and
on the 3 primaries: the time an article takes, apart for those linked to a copy (whose
merges, partitioned, wait for the index's lock).

    python benchmarks/bench_cluster.py [--articles 100000] [--real 5000] [--partitions 12] [--json FILE]
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import redis
import redis.asyncio
from common import corpus, filler, median, parse_args, percentile, print_table, private_redis, write_json
from redis.asyncio.cluster import RedisCluster

from dedup_service.config import IndexLayout
from dedup_service.constants import UPSERT_CHUNK
from dedup_service.embedded import EmbeddedCluster
from dedup_service.fingerprint import Fingerprint, Fingerprinter
from dedup_service.index import CallPolicy, RedisIndex
from dedup_service.normalize import split_lines
from dedup_service.partitioned import PartitionedIndex
from dedup_service.records import Finish, Write

META = {"site": "bench"}
T = TypeVar("T")


def node_stats(urls: list[str]) -> list[dict[str, float]]:
    out = []
    for url in urls:
        with redis.Redis.from_url(url) as r:
            info = r.info()
            out.append({"memory": info["used_memory"], "reads": info["total_reads_processed"],
                        "cpu_us": (float(info["used_cpu_user"]) + float(info["used_cpu_sys"])) * 1e6})  # fmt: skip
    return out


async def load(client: Any, fps: list[Fingerprint], total: int, partitions: int) -> float:
    """Index articles 0..total-1 as the service writes batches; returns the wall time."""
    kind = PartitionedIndex if partitions > 1 else RedisIndex
    index = kind(client, "bench", max_candidates=2000, layout=IndexLayout(partitions=partitions))
    real, sem = len(fps), asyncio.Semaphore(4)

    async def chunk(lo: int, hi: int) -> None:
        async with sem:
            items = [Write(f"a{k}", fps[k] if k < real else filler(fps[k % real], k), META) for k in range(lo, hi)]
            results = await index.write(index.encode(items))
            await index.finish_many([
                Finish(r.iid, [c.iid for c in r.found.candidates[:1] if 2 * c.shared_anchors >= c.anchors])
                for r in results if r.pending
            ])  # fmt: skip

    t0 = time.perf_counter()
    # the real part first, in order (copies follow their stories), then the filler
    for lo in range(0, min(real, total), UPSERT_CHUNK):
        await chunk(lo, min(lo + UPSERT_CHUNK, real, total))
    await asyncio.gather(*(chunk(lo, min(lo + UPSERT_CHUNK, total)) for lo in range(real, total, UPSERT_CHUNK)))
    return time.perf_counter() - t0


async def copies_at_once(client: Any, fps: list[Fingerprint], partitions: int, in_flight: int = 16) -> dict[str, Any]:
    """The real articles written one a request, ``in_flight`` at once, each followed by
    its verdict (a copy linked to its candidate, as ``load`` does): verdicts that merge
    clusters take the partitioned index's lock, so they wait on one another."""
    kind = PartitionedIndex if partitions > 1 else RedisIndex
    index = kind(
        client,
        "copies",
        max_candidates=2000,
        layout=IndexLayout(partitions=partitions),
        policy=CallPolicy(patience=5.0),
    )  # as the service waits (DEDUP_REDIS_TIMEOUT)
    sem, lat, linked = asyncio.Semaphore(in_flight), [], []

    async def one(k: int) -> None:
        async with sem:
            t0 = time.perf_counter()
            (r,) = await index.write(index.encode([Write(f"a{k}", fps[k], META)]))
            links = [c.iid for c in r.found.candidates[:1] if 2 * c.shared_anchors >= c.anchors]
            if r.pending or links:
                await index.finish_many([Finish(r.iid, links)])
            (linked if links else lat).append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(k) for k in range(len(fps))))
    wall = time.perf_counter() - t0
    return {"articles_per_s": len(fps) / wall, "linked": len(linked), "p50_ms": median(lat) * 1e3,
            "p99_ms": percentile(lat, 0.99) * 1e3, "linked_p50_ms": median(linked) * 1e3,
            "linked_p99_ms": percentile(linked, 0.99) * 1e3}  # fmt: skip


@contextmanager
def cluster(nodes: int) -> Iterator[tuple[str, list[str]]]:
    with tempfile.TemporaryDirectory(prefix="dedup-bench-cluster-") as tmp, EmbeddedCluster(Path(tmp), nodes) as c:
        yield f"redis://127.0.0.1:{c.ports[0]}/0", [f"redis://127.0.0.1:{port}/0" for port in c.ports]


async def _with_client(url: str, is_cluster: bool, run: Callable[[Any], Awaitable[T]]) -> T:
    client = RedisCluster.from_url(url) if is_cluster else redis.asyncio.Redis.from_url(url, max_connections=32)
    try:
        return await run(client)
    finally:
        await client.aclose()


def measure(name: str, url: str, urls: list[str], is_cluster: bool, fps: list[Fingerprint], total: int,
            partitions: int) -> dict[str, Any]:  # fmt: skip
    before = node_stats(urls)

    wall = asyncio.run(_with_client(url, is_cluster, lambda client: load(client, fps, total, partitions)))
    after = node_stats(urls)
    per_node = [{k: a[k] - b[k] for k in a} for a, b in zip(after, before, strict=True)]
    memory = [n["memory"] for n in per_node]
    mean = statistics.mean(memory)
    return {
        "name": name, "nodes": len(urls), "partitions": partitions, "articles": total,
        "articles_per_s": total / wall,
        "memory_mb_per_node": [m / 1e6 for m in memory],
        "memory_spread": max(abs(m - mean) for m in memory) / mean,
        "bytes_per_article": sum(memory) / total,
        "redis_cpu_us_per_article_per_node": [n["cpu_us"] / total for n in per_node],
        "redis_cpu_us_per_article": sum(n["cpu_us"] for n in per_node) / total,
        "reads_per_article": sum(n["reads"] for n in per_node) / total,
    }  # fmt: skip


def main() -> None:
    args = parse_args(__doc__, articles=100_000, real=5000, partitions=12)
    texts = corpus(min(args.real, args.articles))
    fpr = Fingerprinter(128, 5, 0.5, 1)
    fps = [fpr(split_lines(t)) for t in texts]
    results, at_once = [], {}
    with private_redis() as url:
        results.append(measure("one Redis", url, [url], False, fps, args.articles, 1))
        redis.Redis.from_url(url).flushall()
        results.append(measure(f"one Redis, {args.partitions} partitions", url, [url], False, fps, args.articles,
                               args.partitions))  # fmt: skip
        at_once["one Redis"] = asyncio.run(_with_client(url, False, lambda c: copies_at_once(c, fps, 1)))
    for nodes in (3, 6):
        with cluster(nodes) as (url, urls):
            name = f"{nodes}-primary Redis Cluster, {args.partitions} partitions"
            results.append(measure(name, url, urls, True, fps, args.articles, args.partitions))
            if nodes == 3:
                at_once[name] = asyncio.run(_with_client(url, True, lambda c: copies_at_once(c, fps, args.partitions)))
    base = results[0]
    print_table(
        f"One index over a Redis Cluster ({args.articles} articles, the first {len(fps)} real)",
        ["configuration", "articles/s", "vs one Redis", "MB per node", "spread", "B/article",
         "Redis CPU µs/article per node", "summed", "reads/article"],
        [[r["name"], f"{r['articles_per_s']:.0f}", f"{r['articles_per_s'] / base['articles_per_s']:.2f}x",
          " ".join(f"{m:.0f}" for m in r["memory_mb_per_node"]), f"±{100 * r['memory_spread']:.0f}%",
          f"{r['bytes_per_article']:.0f}",
          " ".join(f"{c:.0f}" for c in r["redis_cpu_us_per_article_per_node"]),
          f"{r['redis_cpu_us_per_article']:.0f}", f"{r['reads_per_article']:.2f}"]
         for r in results],
    )  # fmt: skip
    print("spread: the largest node's distance from the mean node, in memory.")
    print("reads/article: requests the nodes read (INFO total_reads_processed), about round trips x nodes.")
    print_table(
        f"The {len(fps)} real articles one a request, 16 at once, each with its verdict (ms an article)",
        ["configuration", "articles/s", "linked to a copy", "p50", "p99", "linked p50", "linked p99"],
        [[name, f"{r['articles_per_s']:.0f}", r["linked"], f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}",
          f"{r['linked_p50_ms']:.1f}", f"{r['linked_p99_ms']:.1f}"] for name, r in at_once.items()],
    )  # fmt: skip
    print("linked: verdicts that link a copy (and merge clusters: under the lock, when partitioned).")
    write_json(args.json, {"cluster": results, "at_once": at_once})


if __name__ == "__main__":
    main()
