"""Index cost per article against Redis: the service's one-call Lua upsert against
datasketch's MinHashLSH with Redis storage, on the same private redis-server, same run.

Measures (fingerprints are computed up front, so only index work is timed):
1. insert+query per article: datasketch ``query`` then ``insert`` (on the first
   --baseline-articles of the corpus: its cost per article does not depend on the index
   size, and it takes about 12 ms an article); the service's index write
   (``RedisIndex.write``: one EVALSHA that finds candidates and inserts; the rows keep
   the name "upsert") sequentially, with 32 concurrent requests on one connection pool,
   and batched (500 at a time, 50 articles per EVALSHA, as the service writes a batch);
   and the sequential write on a local 3-node Redis Cluster, to show what it costs, and
   on 3 primaries with a replica each, acknowledged without and with WAIT for the replica
   (DEDUP_MIN_REPLICAS_ACK=1);
   for each single-node run, the CPU time Redis itself spent per article (INFO cpu), to
   show which side of the connection a run is waiting for;
2. Redis memory per indexed article (INFO used_memory delta) for both layouts, at
   --articles real articles and at each --scale;
3. query latency (``check``, read-only, 300 real articles) at each size: --articles,
   then each --scale reached with a bulk loader; beside it, a PING round trip made right
   after each query (the round trip at that moment: a busy box slows both) and Redis's
   own CPU time per query (the search's work, without the round trip).

Beside each single-node run, the requests Redis read per article (about its round trips)
and the CPU time of this process (the caller) per article: datasketch makes dozens of
reads an article, one at a time, and spends milliseconds of its own CPU an article, so
its time, and each ratio to it, follows the box's CPU and round trip on the day.

The bulk loader writes filler articles: real fingerprints whose bucket and anchor hashes
are re-salted, so each lands in postings of its own as a distinct article would, with the
record and text of a real article (so memory per article stays representative). It
loads in chunks of 500 (UPSERT_CHUNK articles a script call), 4 in flight.

    python benchmarks/bench_index.py [--articles 10000] [--scale 100000[,1000000]] [--shard-bits 13]
                                     [--anchor-sample 8] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
import redis.asyncio
from common import (
    corpus,
    datasketch_query_insert,
    filler,
    median,
    naive_minhash,
    percentile,
    print_table,
    private_redis,
    redis_cpu_us,
    redis_reads,
    write_json,
)
from redis.asyncio.cluster import RedisCluster

from dedup_service.config import IndexLayout
from dedup_service.constants import UPSERT_CHUNK
from dedup_service.embedded import EmbeddedCluster
from dedup_service.fingerprint import Fingerprint, Fingerprinter
from dedup_service.index import CallPolicy, RedisIndex
from dedup_service.normalize import split_lines
from dedup_service.records import Write

META = {"site": "bench"}
LAYOUT = [IndexLayout()]  # set from --shard-bits and --anchor-sample


def _index(client: Any, prefix: str, replicas: int = 0) -> RedisIndex:
    return RedisIndex(client, prefix, max_candidates=2000, layout=LAYOUT[0], policy=CallPolicy(min_replicas=replicas))


def used_memory(url: str) -> int:
    with redis.Redis.from_url(url) as r:
        return int(r.info("memory")["used_memory"])


def flush(url: str) -> None:
    with redis.Redis.from_url(url) as r:
        r.flushall()


def _client(url: str, cluster: bool = False, connections: int = 1) -> Any:
    if cluster:
        return RedisCluster.from_url(url)
    return redis.asyncio.Redis.from_url(url, max_connections=max(connections, 1))


async def service_run(
    url: str, fps: list[Fingerprint], concurrency: int, prefix: str, cluster: bool = False, replicas: int = 0
) -> tuple[list[float], float]:
    client = _client(url, cluster, concurrency)
    index = _index(client, prefix, replicas)
    lat: list[float] = []
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int, fp: Fingerprint) -> None:
        async with sem:
            t0 = time.perf_counter()
            await index.write(index.encode([Write(f"a{i}", fp, META)]))
            lat.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i, fp) for i, fp in enumerate(fps)))
    wall = time.perf_counter() - t0
    await client.aclose()
    return lat, wall


async def write_in_chunks(index: RedisIndex, items: list[Write]) -> None:
    """As the service writes a batch: UPSERT_CHUNK articles a script call."""
    for start in range(0, len(items), UPSERT_CHUNK):
        await index.write(index.encode(items[start : start + UPSERT_CHUNK]))


async def batched_run(url: str, fps: list[Fingerprint], prefix: str, batch: int = 500) -> tuple[list[float], float]:
    """Per-article latency is the batch's time divided by its size."""
    client = _client(url)
    index = _index(client, prefix)
    lat: list[float] = []
    t0 = time.perf_counter()
    for start in range(0, len(fps), batch):
        chunk = [Write(f"a{start + i}", fp, META) for i, fp in enumerate(fps[start : start + batch])]
        t1 = time.perf_counter()
        await write_in_chunks(index, chunk)
        lat += [(time.perf_counter() - t1) / len(chunk)] * len(chunk)
    wall = time.perf_counter() - t0
    await client.aclose()
    return lat, wall


async def bulk_load(url: str, fps: list[Fingerprint], prefix: str, start: int, stop: int) -> float:
    """Index filler articles number start..stop-1; returns articles/s."""
    client = redis.asyncio.Redis.from_url(url, max_connections=4, socket_timeout=120, socket_connect_timeout=120)
    index = _index(client, prefix)
    sem = asyncio.Semaphore(4)

    async def load(lo: int, hi: int) -> None:
        async with sem:
            await write_in_chunks(index, [Write(f"f{k}", filler(fps[k % len(fps)], k), META) for k in range(lo, hi)])

    t0 = time.perf_counter()
    await asyncio.gather(*(load(lo, min(lo + 500, stop)) for lo in range(start, stop, 500)))
    rate = (stop - start) / (time.perf_counter() - t0)
    await client.aclose()
    return rate


async def query_latency(url: str, fps: list[Fingerprint], prefix: str, n: int = 300) -> dict[str, float]:
    """p50 and p99 of ``n`` queries, each followed by a PING on the same connection (the
    round trip at that moment, so a box that slows down between two sizes shows in both),
    and the CPU time Redis spent per query (INFO cpu; the PINGs' share is a few µs)."""
    client = _client(url)
    index = _index(client, prefix)
    await client.ping()
    lat, ping = [], []
    busy = redis_cpu_us(url)
    for fp in fps[:n]:
        t0 = time.perf_counter()
        await index.query(fp)
        t1 = time.perf_counter()
        await client.ping()
        lat.append(t1 - t0)
        ping.append(time.perf_counter() - t1)
    redis_us = (redis_cpu_us(url) - busy) / len(lat)
    await client.aclose()
    p50, ping50 = median(lat) * 1e6, median(ping) * 1e6
    return {"p50": p50, "p99": percentile(lat, 0.99) * 1e6, "ping_p50": ping50, "p50_over_ping": p50 - ping50,
            "redis_cpu_us": redis_us}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--baseline-articles", type=int, default=2000)
    parser.add_argument("--scale", default="100000", help="index sizes for the bulk loader, comma-separated")
    parser.add_argument("--shard-bits", type=int, default=13, help="the index's shard_bits setting")
    parser.add_argument("--anchor-sample", type=int, default=8, help="the index's anchor_sample setting")
    parser.add_argument("--json")
    args = parser.parse_args()
    LAYOUT[0] = IndexLayout(shard_bits=args.shard_bits, anchor_sample=args.anchor_sample)
    n = args.articles
    scales = sorted(int(s) for s in args.scale.split(",") if s.strip() and int(s) > n)
    texts = corpus(n)
    fpr = Fingerprinter(128, 5, 0.5, 1, args.anchor_sample)
    fps = [fpr(split_lines(t)) for t in texts]
    n_ds = min(n, args.baseline_articles)
    mins = [naive_minhash(t) for t in texts[:n_ds]]
    runs: dict[str, tuple[list[float], float, int]] = {}
    server_us: dict[str, float] = {}
    server_reads: dict[str, float] = {}
    client_us: dict[str, float] = {}
    memory: dict[str, float] = {}
    latency: dict[str, dict[str, float]] = {}
    loads: dict[str, float] = {}
    queries = fps[::7]
    with private_redis() as url:
        base, busy, reads, cpu = used_memory(url), redis_cpu_us(url), redis_reads(url), time.process_time()
        ds = datasketch_query_insert(url, mins)
        client_us["datasketch MinHashLSH (redis) query+insert"] = (time.process_time() - cpu) * 1e6 / n_ds
        memory[f"datasketch MinHashLSH @ {n_ds}"] = (used_memory(url) - base) / n_ds
        runs["datasketch MinHashLSH (redis) query+insert"] = (ds, sum(ds), n_ds)
        server_us["datasketch MinHashLSH (redis) query+insert"] = (redis_cpu_us(url) - busy) / n_ds
        server_reads["datasketch MinHashLSH (redis) query+insert"] = (redis_reads(url) - reads) / n_ds
        for name, run in [
            ("service upsert, 32 concurrent", lambda: service_run(url, fps, 32, "c32")),
            ("service upsert_many, 500 per batch", lambda: batched_run(url, fps, "batch")),
            ("service upsert, sequential", lambda: service_run(url, fps, 1, "seq")),
        ]:
            flush(url)
            base, busy, reads, cpu = used_memory(url), redis_cpu_us(url), redis_reads(url), time.process_time()
            lat, wall = asyncio.run(run())  # type: ignore[arg-type]
            client_us[name] = (time.process_time() - cpu) * 1e6 / n
            runs[name] = (lat, wall, n)
            server_us[name] = (redis_cpu_us(url) - busy) / n
            server_reads[name] = (redis_reads(url) - reads) / n
        memory[f"service @ {n}"] = (used_memory(url) - base) / n
        latency[str(n)] = asyncio.run(query_latency(url, queries, "seq"))
        done = n
        for size in scales:
            loads[str(size)] = asyncio.run(bulk_load(url, fps, "seq", done, size))
            done = size
            memory[f"service @ {size}"] = (used_memory(url) - base) / size
            latency[str(size)] = asyncio.run(query_latency(url, queries, "seq"))
    n_cluster = n
    with tempfile.TemporaryDirectory(prefix="dedup-bench-cluster-") as tmp, EmbeddedCluster(Path(tmp)) as cluster:
        url = f"redis://127.0.0.1:{cluster.ports[0]}/0"
        cpu = time.process_time()
        lat, wall = asyncio.run(service_run(url, fps[:n_cluster], 1, "cl", cluster=True))
        client_us["service upsert, sequential, 3-node Redis Cluster"] = (time.process_time() - cpu) * 1e6 / n_cluster
        runs["service upsert, sequential, 3-node Redis Cluster"] = (lat, wall, n_cluster)
    # the same with a replica per primary, acknowledged once the primary has a write and
    # once its replica has it too (DEDUP_MIN_REPLICAS_ACK=1: WAIT after every call)
    with (
        tempfile.TemporaryDirectory(prefix="dedup-bench-cluster-") as tmp,
        EmbeddedCluster(Path(tmp), replicas=1) as cluster,
    ):
        url = f"redis://127.0.0.1:{cluster.ports[0]}/0"
        for replicas, name in [(0, "3+3 Redis Cluster"), (1, "3+3 Redis Cluster, WAIT for 1 replica")]:
            cpu = time.process_time()
            lat, wall = asyncio.run(service_run(url, fps[:n_cluster], 1, f"r{replicas}", True, replicas))
            client_us[f"service upsert, sequential, {name}"] = (time.process_time() - cpu) * 1e6 / n_cluster
            runs[f"service upsert, sequential, {name}"] = (lat, wall, n_cluster)

    naive = runs["datasketch MinHashLSH (redis) query+insert"]
    naive_us = naive[1] / naive[2] * 1e6
    results = {
        name: {
            "articles": count,
            "us_per_article": wall / count * 1e6,
            "p50_us": median(lat) * 1e6,
            "p99_us": percentile(lat, 0.99) * 1e6,
            "articles_per_s": count / wall,
            "vs_datasketch": naive_us / (wall / count * 1e6),
            "redis_us_per_article": server_us.get(name),
            "redis_reads_per_article": server_reads.get(name),
            "client_cpu_us_per_article": client_us[name],
        }
        for name, (lat, wall, count) in runs.items()
    }
    print_table(
        "Index insert+query per article (threshold 0.5, num_perm 128)",
        ["variant", "articles", "µs/article", "p50 µs", "p99 µs", "articles/s", "vs datasketch",
         "Redis µs/article", "Redis reads/article", "client CPU µs/article"],
        [
            [k, v["articles"], f"{v['us_per_article']:.0f}", f"{v['p50_us']:.0f}", f"{v['p99_us']:.0f}",
             f"{v['articles_per_s']:.0f}", f"{v['vs_datasketch']:.1f}x",
             "" if v["redis_us_per_article"] is None else f"{v['redis_us_per_article']:.0f}",
             "" if v["redis_reads_per_article"] is None else f"{v['redis_reads_per_article']:.2f}",
             f"{v['client_cpu_us_per_article']:.0f}"]
            for k, v in results.items()
        ],
    )  # fmt: skip
    ds = results["datasketch MinHashLSH (redis) query+insert"]
    print("Redis µs/article: CPU time of the Redis server (INFO cpu, user + system), whoever waited for it")
    print("Redis reads/article: requests the server read (INFO total_reads_processed), about the round trips.")
    print("client CPU µs/article: CPU time of this process (the caller) during the run.")
    print(
        f"datasketch makes its {ds['redis_reads_per_article']:.0f} reads an article one after another, spending "
        f"{ds['client_cpu_us_per_article']:.0f} µs of its own CPU and {ds['redis_us_per_article']:.0f} of Redis's"
    )
    print("an article: its time (and each ratio to it) follows the box's CPU and round trip on the day.")
    ds_mem = memory[f"datasketch MinHashLSH @ {n_ds}"]
    print_table(
        "Redis memory per indexed article (used_memory delta)",
        ["layout @ articles", "bytes/article", "vs datasketch"],
        [[k, f"{v:.0f}", f"{ds_mem / v:.1f}x less" if k.startswith("service") else ""] for k, v in memory.items()],
    )
    print_table(
        "Query latency (check, read-only, 300 real articles) as the index grows",
        ["indexed", "p50 µs", "p99 µs", "PING p50 µs", "p50 - PING p50 µs", "Redis CPU µs/query",
         "bulk load articles/s"],
        [[k, f"{v['p50']:.0f}", f"{v['p99']:.0f}", f"{v['ping_p50']:.0f}", f"{v['p50_over_ping']:.0f}",
          f"{v['redis_cpu_us']:.0f}", f"{loads[k]:.0f}" if k in loads else ""]
         for k, v in latency.items()],
    )  # fmt: skip
    print("PING: a round trip on the same connection right after each query, so that what the box's load")
    print("does to both at that moment shows; Redis CPU: the server's own time per query (INFO cpu).")
    write_json(
        args.json,
        {
            "index": results,
            "memory_bytes_per_article": memory,
            "query_latency_us": latency,
            "bulk_load_articles_per_s": loads,
        },
    )


if __name__ == "__main__":
    main()
