"""Index cost per article against Redis: the service's one-call Lua upsert against
datasketch's MinHashLSH with Redis storage, on the same private redis-server, same run.

Measures, for --articles N (default 5000; fingerprints are computed up front, so only
index work is timed):
1. insert+query per article: datasketch ``query`` then ``insert``; the service's
   ``upsert`` (one EVALSHA that reads candidates and inserts), sequential and with 32
   concurrent requests on one connection pool;
2. Redis memory per indexed article (INFO used_memory delta) for both layouts;
3. query latency (``check``, read-only) at N/10 and N indexed articles.

    python benchmarks/bench_index.py [--articles 5000] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import redis
import redis.asyncio
from common import corpus, median, percentile, print_table, private_redis, write_json
from datasketch import MinHash, MinHashLSH

from dedup_service.fingerprint import Fingerprint, Fingerprinter
from dedup_service.index import RedisIndex
from dedup_service.normalize import split_lines


def used_memory(url: str) -> int:
    with redis.Redis.from_url(url) as r:
        return int(r.info("memory")["used_memory"])


def flush(url: str) -> None:
    with redis.Redis.from_url(url) as r:
        r.flushall()


def datasketch_run(url: str, mins: list[MinHash]) -> list[float]:
    host, port = url.split("//")[1].split("/")[0].split(":")
    lsh = MinHashLSH(
        threshold=0.5,
        num_perm=128,
        storage_config={"type": "redis", "basename": b"bench", "redis": {"host": host, "port": int(port)}},
    )
    out = []
    for i, m in enumerate(mins):
        t0 = time.perf_counter()
        lsh.query(m)
        lsh.insert(f"a{i}", m, check_duplication=False)
        out.append(time.perf_counter() - t0)
    return out


async def service_run(url: str, fps: list[Fingerprint], concurrency: int) -> tuple[list[float], float]:
    client = redis.asyncio.Redis.from_url(url, max_connections=max(concurrency, 1))
    index = RedisIndex(client, f"bench{concurrency}", max_candidates=2000)
    lat: list[float] = []
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int, fp: Fingerprint) -> None:
        async with sem:
            t0 = time.perf_counter()
            await index.upsert(f"a{i}", fp, {"site": "bench"})
            lat.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    if concurrency == 1:
        for i, fp in enumerate(fps):
            await one(i, fp)
    else:
        await asyncio.gather(*(one(i, fp) for i, fp in enumerate(fps)))
    wall = time.perf_counter() - t0
    await client.aclose()
    return lat, wall


async def query_latency(url: str, fps: list[Fingerprint], prefix: str, n: int = 300) -> list[float]:
    client = redis.asyncio.Redis.from_url(url)
    index = RedisIndex(client, prefix, max_candidates=2000)
    out = []
    for fp in fps[:n]:
        t0 = time.perf_counter()
        await index.query(fp)
        out.append(time.perf_counter() - t0)
    await client.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--json")
    args = parser.parse_args()
    n = args.articles
    texts = corpus(n)
    fpr = Fingerprinter(128, 5, 0.5, 1)
    fps = [fpr(split_lines(t)) for t in texts]
    mins = []
    for t in texts:
        m = MinHash(num_perm=128)
        w = t.lower().split()
        m.update_batch([" ".join(w[i : i + 5]).encode() for i in range(max(len(w) - 4, 1))])
        mins.append(m)
    results: dict[str, dict[str, float]] = {}
    with private_redis() as url:
        base = used_memory(url)
        ds = datasketch_run(url, mins)
        ds_mem = (used_memory(url) - base) / n
        flush(url)
        base = used_memory(url)
        seq, seq_wall = asyncio.run(service_run(url, fps, 1))
        ours_mem = (used_memory(url) - base) / n
        q_full = asyncio.run(query_latency(url, fps[::7], "bench1"))
        flush(url)
        asyncio.run(service_run(url, fps[: n // 10], 1))
        q_small = asyncio.run(query_latency(url, fps[::7], "bench1"))
        flush(url)
        conc, conc_wall = asyncio.run(service_run(url, fps, 32))
    for name, lat, wall in [
        ("datasketch MinHashLSH (redis) query+insert", ds, sum(ds)),
        ("service upsert, sequential", seq, seq_wall),
        ("service upsert, 32 concurrent", conc, conc_wall),
    ]:
        results[name] = {
            "us_per_article": wall / n * 1e6,
            "p50_us": median(lat) * 1e6,
            "p99_us": percentile(lat, 0.99) * 1e6,
            "articles_per_s": n / wall,
        }
    naive = results["datasketch MinHashLSH (redis) query+insert"]["us_per_article"]
    print_table(
        f"Index insert+query per article ({n} articles, threshold 0.5, num_perm 128)",
        ["variant", "µs/article", "p50 µs", "p99 µs", "articles/s", "vs datasketch"],
        [
            [
                k,
                f"{v['us_per_article']:.0f}",
                f"{v['p50_us']:.0f}",
                f"{v['p99_us']:.0f}",
                f"{v['articles_per_s']:.0f}",
                f"{naive / v['us_per_article']:.1f}x",
            ]
            for k, v in results.items()
        ],
    )
    print_table(
        "Redis memory per indexed article (used_memory delta)",
        ["layout", "bytes/article"],
        [["datasketch MinHashLSH", f"{ds_mem:.0f}"], ["service", f"{ours_mem:.0f}"]],
    )
    lat = {f"{n // 10}": q_small, f"{n}": q_full}
    print_table(
        "Query latency (check, read-only) as the index grows",
        ["indexed", "p50 µs", "p99 µs"],
        [[k, f"{median(v) * 1e6:.0f}", f"{percentile(v, 0.99) * 1e6:.0f}"] for k, v in lat.items()],
    )
    write_json(
        args.json,
        {
            "index": results,
            "memory_bytes_per_article": {"datasketch": ds_mem, "service": ours_mem},
            "query_latency_us": {k: {"p50": median(v) * 1e6, "p99": percentile(v, 0.99) * 1e6} for k, v in lat.items()},
        },
    )


if __name__ == "__main__":
    main()
