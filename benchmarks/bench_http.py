"""End-to-end HTTP ingest: the service against the naive datasketch service, same run.

Each server runs in its own process against the same private redis-server (flushed in
between); a load client (aiohttp, in its own process) posts articles from the corpus with
1, 8 and 32 concurrent connections for --seconds each and reports requests/s, p50, p95,
p99 and errors. Loopback only; everything stops by itself.

    python benchmarks/bench_http.py [--seconds 10] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited: {url}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error answer: the server is up
                return
            time.sleep(0.1)
    sys.exit(f"server did not start: {url}")


async def _load(url: str, path: str, texts: list[str], concurrency: int, seconds: float, tag: str) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    counter = iter(range(10**9))

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.monotonic() < stop:
            i = next(counter)
            t0 = time.perf_counter()
            try:
                async with session.post(url + path, json={"id": f"{tag}{i}", "text": texts[i % len(texts)]}) as r:
                    await r.read()
                    if r.status >= 300:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
            latencies.append(time.perf_counter() - t0)

    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0

    return {
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "errors": errors,
    }


def client_main(argv: list[str]) -> None:
    """The load client process: prints one JSON line of results."""
    url, path, concurrency, seconds, tag, corpus_file = argv
    texts = json.loads(Path(corpus_file).read_text())
    print(json.dumps(asyncio.run(_load(url, path, texts, int(concurrency), float(seconds), tag))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--json")
    args = parser.parse_args()
    import redis
    from common import corpus, print_table, private_redis, write_json

    corpus_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"dedup-bench-corpus-{os.getpid()}.json"
    corpus_file.write_text(json.dumps(corpus(args.articles)))
    results: dict[str, dict[str, Any]] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEDUP_")}
    try:
        with private_redis() as redis_url:
            servers = {
                "naive (datasketch update + AsyncMinHashLSH)": (
                    [sys.executable, str(HERE / "naive_service.py"), "{port}", redis_url],
                    "/dedup",
                ),
                "dedup-service": (
                    [sys.executable, "-m", "dedup_service.cli", "serve", "--port", "{port}", "--redis-url", redis_url],
                    "/v1/articles",
                ),
            }
            for name, (cmd, path) in servers.items():
                for concurrency in (1, 8, 32):
                    with redis.Redis.from_url(redis_url) as r:
                        r.flushall()
                    port = _free_port()
                    proc = subprocess.Popen(
                        [c.replace("{port}", str(port)) for c in cmd],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        cwd=HERE.parent,
                    )
                    try:
                        base = f"http://127.0.0.1:{port}"
                        _wait_ready(base + "/", proc)
                        out = subprocess.run(
                            [
                                sys.executable,
                                __file__,
                                "--client",
                                base,
                                path,
                                str(concurrency),
                                str(args.seconds),
                                f"c{concurrency}-",
                                str(corpus_file),
                            ],
                            capture_output=True,
                            text=True,
                            timeout=args.seconds + 120,
                            check=True,
                        )
                        results[f"{name} @ {concurrency}"] = json.loads(out.stdout.strip().splitlines()[-1])
                    finally:
                        proc.terminate()
                        proc.wait(timeout=30)
    finally:
        corpus_file.unlink(missing_ok=True)
    rows = []
    for key, r in results.items():
        naive = results[key.replace("dedup-service", "naive (datasketch update + AsyncMinHashLSH)")]
        rows.append(
            [
                key,
                f"{r['rps']:.0f}",
                f"{r['p50_ms']:.1f}",
                f"{r['p95_ms']:.1f}",
                f"{r['p99_ms']:.1f}",
                r["errors"],
                f"{r['rps'] / naive['rps']:.1f}x",
            ]
        )
    print_table(
        f"HTTP single-article ingest, {args.seconds:g} s per run, load client in its own process",
        ["server @ connections", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "vs naive"],
        rows,
    )
    write_json(args.json, results)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(sys.argv[2:])
    else:
        main()
