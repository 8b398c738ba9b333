"""A wire story lands and its copies follow: the cost of each copy as they pile up.

--copies syndicated variants of one real story (chrome added, cut short, quotes swapped,
a sentence added: as in the corpus of the other benchmarks) are ingested one after the
other, by the service (``Deduplicator.ingest`` in process: fingerprint, the one-call
upsert, verification, the call that links the copies) and by datasketch's
``MinHashLSH`` with Redis storage (``query`` then ``insert``, MinHash computed up front,
as in bench_index.py), each on a fresh private redis-server. The table gives the mean
time per article in five windows of the stream: a cost that grows with every copy shows
as a rising row.

    python benchmarks/bench_burst.py [--copies 500] [--json FILE]
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time

from common import (
    datasketch_query_insert,
    load_articles,
    naive_minhash,
    parse_args,
    print_table,
    private_redis,
    variant,
    write_json,
)

from dedup_service.config import Settings
from dedup_service.models import Article
from dedup_service.runtime import open_service

WINDOWS = 5
DATASKETCH = "datasketch MinHashLSH (redis) query+insert"
SERVICE = "dedup-service ingest (in process)"


def copies_of(n: int, seed: int = 3) -> list[str]:
    """The story (the longest of the first 1,000, so that it has room to be cut) and n - 1 variants of it."""
    story = max((a["text"] for a in load_articles()[:1000]), key=len)
    rng = random.Random(seed)
    return [story] + [variant(story, rng) for _ in range(n - 1)]


async def service_run(url: str, texts: list[str]) -> tuple[list[float], int]:
    """Seconds per article, and the size of the story's cluster at the end."""
    out = []
    async with open_service(Settings(redis_url=url, key_prefix="burst")) as dedup:
        for i, text in enumerate(texts):
            t0 = time.perf_counter()
            await dedup.ingest(Article(id=f"c{i}", text=text))
            out.append(time.perf_counter() - t0)
        cluster = (await dedup.get("c0")).cluster_id
        size, _ = await dedup.index.cluster(cluster or "", 1)
    return out, size


def main() -> None:
    args = parse_args(__doc__, copies=500)
    if args.copies < WINDOWS:
        sys.exit(f"--copies must be at least {WINDOWS}")
    texts = copies_of(args.copies)
    with private_redis() as url:
        times = {DATASKETCH: datasketch_query_insert(url, [naive_minhash(t) for t in texts])}
    with private_redis() as url:
        times[SERVICE], cluster_size = asyncio.run(service_run(url, texts))
    step = args.copies // WINDOWS
    bounds = [(k * step, args.copies if k == WINDOWS - 1 else (k + 1) * step) for k in range(WINDOWS)]
    windows = [f"{lo + 1}-{hi}" for lo, hi in bounds]
    us = {name: [statistics.fmean(t[lo:hi]) * 1e6 for lo, hi in bounds] for name, t in times.items()}
    growth = {name: w[-1] / w[0] for name, w in us.items()}
    print_table(
        f"One story copied {args.copies} times, ingested one copy after another: mean µs per article",
        ["variant", *[f"copies {w}" for w in windows], "last / first"],
        [[name, *[f"{v:.0f}" for v in w], f"{growth[name]:.2f}x"] for name, w in us.items()],
    )
    vs = [us[DATASKETCH][k] / us[SERVICE][k] for k in range(WINDOWS)]
    print(f"datasketch / service per window: {' '.join(f'{v:.1f}x' for v in vs)}")
    print(f"the service put all {cluster_size} copies in one cluster")
    write_json(args.json, {"copies": args.copies, "windows": windows, "us_per_article": us, "growth": growth,
                           "vs_datasketch": vs, "cluster_size": cluster_size})  # fmt: skip


if __name__ == "__main__":
    main()
