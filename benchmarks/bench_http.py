"""End-to-end HTTP ingest: the service against the naive datasketch service, same run.

Each server runs in its own process against the same private redis-server (flushed in
between); a load client (aiohttp, in its own process) posts articles from the corpus with
1, 8 and 32 concurrent connections for --seconds each and reports requests/s, p50, p95,
p99 and errors. Then: two service processes on one Redis, the client spreading its 32
connections over both; the floor (an aiohttp server that only parses the article and
answers) at 32 connections; and batch ingest (``POST /v1/articles:batch``, --batch articles a
request) in articles/s: one process with one connection and with two, two processes with
one connection each. Loopback only; everything stops by itself.

The stream is --articles long (default 60000), so that no run goes round it (a run that
does is named under the table): every server sees the same kind of stream however fast it
is (with a short corpus, a fast server would spend most of its run re-posting texts it has
already indexed, under new ids, while the naive one sees each text once). Each run also
reports the requests Redis read per article (about its round trips), and the CPU time the
servers, Redis and the load client spent per article, with the share of the box's cores
they kept busy: a server process whose CPU time per article times its rate nears one
core is CPU-bound, and a run whose cores are full cannot go faster by adding processes.

    python benchmarks/bench_http.py [--seconds 10] [--articles 60000] [--batch 500] [--json FILE]
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


async def _load(
    urls: list[str], path: str, texts: list[str], concurrency: int, seconds: float, tag: str, batch: int
) -> dict[str, Any]:
    """Workers post one article a request (``batch`` 0) or arrays of ``batch`` articles,
    worker k to server k mod len(urls)."""
    import aiohttp

    latencies: list[float] = []
    errors = articles = 0
    stop = time.monotonic() + seconds
    counter = iter(range(10**9))

    def article() -> dict[str, str]:
        i = next(counter)
        return {"id": f"{tag}{i}", "text": texts[i % len(texts)]}

    async def worker(session: aiohttp.ClientSession, url: str) -> None:
        nonlocal errors, articles
        while time.monotonic() < stop:
            body: Any = [article() for _ in range(batch)] if batch else article()
            t0 = time.perf_counter()
            try:
                async with session.post(url + path, json=body) as r:
                    await r.read()
                    if r.status >= 300:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
            latencies.append(time.perf_counter() - t0)
            articles += batch or 1

    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=300)) as session:
        t0, cpu0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(session, urls[k % len(urls)]) for k in range(concurrency)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0

    return {
        "requests": len(latencies),
        "articles": articles,
        "rps": len(latencies) / wall,
        "articles_per_s": articles / wall,
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "errors": errors,
        "wall_s": wall,
        "client_cpu_s": cpu,
        "stream_laps": articles / len(texts),
    }


def client_main(argv: list[str]) -> None:
    """The load client process: prints one JSON line of results."""
    urls, path, concurrency, seconds, tag, corpus_file, batch = argv
    texts = json.loads(Path(corpus_file).read_text())
    result = asyncio.run(_load(urls.split(","), path, texts, int(concurrency), float(seconds), tag, int(batch)))
    print(json.dumps(result))


NAIVE = "naive (datasketch update + AsyncMinHashLSH)"
SERVICE = "dedup-service"
FLOOR = "aiohttp floor (parse the article, answer)"


def _run(
    cmd: list[str], processes: int, client: list[str], redis_url: str, env: dict[str, str], seconds: float
) -> dict[str, Any]:
    """Start ``processes`` servers, run the load client against all of them, stop them."""
    import redis
    from common import process_cpu_s, redis_cpu_us, redis_reads

    with redis.Redis.from_url(redis_url) as r:
        r.flushall()
    procs, urls = [], []
    try:
        for _ in range(processes):
            port = _free_port()
            procs.append(subprocess.Popen([c.replace("{port}", str(port)) for c in cmd], env=env, cwd=HERE.parent,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
            urls.append(f"http://127.0.0.1:{port}")
            _wait_ready(urls[-1] + "/", procs[-1])
        reads, redis_us = redis_reads(redis_url), redis_cpu_us(redis_url)
        server_s = sum(process_cpu_s(proc.pid) for proc in procs)
        out = subprocess.run([sys.executable, __file__, "--client", ",".join(urls), *client], capture_output=True,
                             text=True, timeout=seconds + 300, check=True)  # fmt: skip
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        n = max(result["articles"], 1)
        server_s = sum(process_cpu_s(proc.pid) for proc in procs) - server_s
        redis_s = (redis_cpu_us(redis_url) - redis_us) / 1e6
        result["redis_reads_per_article"] = (redis_reads(redis_url) - reads) / n
        result["server_cpu_us_per_article"] = server_s * 1e6 / n
        result["redis_cpu_us_per_article"] = redis_s * 1e6 / n
        result["client_cpu_us_per_article"] = result["client_cpu_s"] * 1e6 / n
        result["cores_busy"] = (server_s + redis_s + result["client_cpu_s"]) / result["wall_s"]
        return result
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--articles", type=int, default=60000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--json")
    args = parser.parse_args()
    from common import corpus, print_table, private_redis, write_json

    corpus_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"dedup-bench-corpus-{os.getpid()}.json"
    corpus_file.write_text(json.dumps(corpus(args.articles)))
    results: dict[str, dict[str, Any]] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEDUP_")}
    seconds = str(args.seconds)
    try:
        with private_redis() as redis_url:
            naive_cmd = [sys.executable, str(HERE / "naive_service.py"), "{port}", redis_url]
            service_cmd = [sys.executable, "-m", "dedup_service.cli", "serve", "--port", "{port}",
                           "--redis-url", redis_url]  # fmt: skip
            runs: list[tuple[str, list[str], int, str, int, int]] = [
                (f"{name} @ {conc}", cmd, 1, path, conc, 0)
                for name, cmd, path in [(NAIVE, naive_cmd, "/dedup"), (SERVICE, service_cmd, "/v1/articles")]
                for conc in (1, 8, 32)
            ]
            runs += [
                (f"{FLOOR} @ 32", [sys.executable, str(HERE / "floor_service.py"), "{port}"], 1, "/v1/articles", 32, 0),
                (f"{SERVICE}, 2 processes @ 32", service_cmd, 2, "/v1/articles", 32, 0),
                (f"{SERVICE} batch of {args.batch}, 1 process @ 1", service_cmd, 1, "/v1/articles:batch", 1,
                 args.batch),
                (f"{SERVICE} batch of {args.batch}, 1 process @ 2", service_cmd, 1, "/v1/articles:batch", 2,
                 args.batch),
                (f"{SERVICE} batch of {args.batch}, 2 processes @ 2", service_cmd, 2, "/v1/articles:batch", 2,
                 args.batch),
            ]  # fmt: skip
            for key, cmd, processes, path, conc, batch in runs:
                client = [path, str(conc), seconds, f"c{len(results)}-", str(corpus_file), str(batch)]
                results[key] = _run(cmd, processes, client, redis_url, env, args.seconds)
    finally:
        corpus_file.unlink(missing_ok=True)
    naive = max(r["articles_per_s"] for k, r in results.items() if k.startswith(NAIVE))
    rows = []
    for key, r in results.items():
        name, conns = key.rsplit(" @ ", 1)
        same = results.get(f"{NAIVE} @ {conns}") if name in (SERVICE, FLOOR) else None
        base = same["articles_per_s"] if same else naive
        r["vs_naive"] = r["articles_per_s"] / base
        rows.append([key, f"{r['rps']:.0f}", f"{r['articles_per_s']:.0f}", f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}",
                     f"{r['p99_ms']:.1f}", r["errors"], f"{r['vs_naive']:.1f}x",
                     f"{r['redis_reads_per_article']:.2f}", f"{r['server_cpu_us_per_article']:.0f}",
                     f"{r['redis_cpu_us_per_article']:.0f}", f"{r['client_cpu_us_per_article']:.0f}",
                     f"{r['cores_busy']:.2f}"])  # fmt: skip
    print_table(
        f"HTTP ingest, {args.seconds:g} s per run, load client in its own process",
        ["server @ connections", "req/s", "articles/s", "p50 ms", "p95 ms", "p99 ms", "errors", "vs naive",
         "Redis reads/article", "server CPU µs/article", "Redis CPU µs/article", "client CPU µs/article",
         "cores busy"],
        rows,
    )  # fmt: skip
    print("vs naive: against the naive service at the same connections; rows with several processes or batches")
    print(f"against the naive service's best rate ({naive:.0f} articles/s). The floor is an aiohttp server that")
    print("only parses each article and answers: the most any aiohttp service could serve here.")
    print("Redis reads/article: requests the Redis server read (INFO total_reads_processed), about the round")
    print("trips; the naive service makes them one after another.")
    print("CPU µs/article: CPU time (user + system) of the server processes (/proc), of Redis (INFO cpu)")
    print(f"and of the load client, per article; cores busy: their sum over the run's time, of {os.cpu_count()} cores.")
    print("A server process whose CPU µs/article times its articles/s nears a million (one core) is CPU-bound.")
    if went_round := [f"{key} ({r['stream_laps']:.2f})" for key, r in results.items() if r["stream_laps"] > 1]:
        print(f"went round the stream of {args.articles} articles (times through it): {'; '.join(went_round)}")
    write_json(args.json, results)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(sys.argv[2:])
    else:
        main()
