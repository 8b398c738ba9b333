"""Smoke runs of the benchmark scripts: tiny sizes, sane fields, never a timing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, shared_file


def _run(script: str, *args: str, out: Path) -> dict:  # type: ignore[type-arg]
    shared_file("data/reuters_dev.articles.jsonl")
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args, "--json", str(out)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def test_signature_benchmark_reports_every_variant(tmp_path: Path) -> None:
    res = _run("bench_signature.py", "--articles", "30", "--reps", "1", out=tmp_path / "s.json")
    assert len(res["us_per_article"]) == 6
    assert all(v[0] > 0 for v in res["us_per_article"].values())
    assert 0 <= res["mean_abs_error"]["service"] < 0.2 and 0 <= res["mean_abs_error"]["datasketch"] < 0.2


def test_index_benchmark_reports_speed_memory_and_latency(tmp_path: Path) -> None:
    res = _run("bench_index.py", "--articles", "60", "--baseline-articles", "20", "--scale", "200",
               out=tmp_path / "i.json")  # fmt: skip
    assert set(res["index"]) == {
        "datasketch MinHashLSH (redis) query+insert",
        "service upsert, sequential",
        "service upsert, 32 concurrent",
        "service upsert_many, 500 per batch",
        "service upsert, sequential, 3-node Redis Cluster",
        "service upsert, sequential, 3+3 Redis Cluster",
        "service upsert, sequential, 3+3 Redis Cluster, WAIT for 1 replica",
    }
    assert all(v["articles_per_s"] > 0 and v["vs_datasketch"] > 0 for v in res["index"].values())
    on_one_node = [k for k in res["index"] if "Cluster" not in k]
    assert all(res["index"][k]["redis_us_per_article"] > 0 for k in on_one_node)
    assert all(v["client_cpu_us_per_article"] > 0 for v in res["index"].values())
    assert set(res["memory_bytes_per_article"]) == {"datasketch MinHashLSH @ 20", "service @ 60", "service @ 200"}
    assert all(v > 0 for v in res["memory_bytes_per_article"].values())
    assert set(res["query_latency_us"]) == {"60", "200"} and set(res["bulk_load_articles_per_s"]) == {"200"}
    for q in res["query_latency_us"].values():  # a query is a round trip and a search: more than a PING
        assert 0 < q["ping_p50"] < q["p50"] <= q["p99"] and q["p50_over_ping"] > 0 and q["redis_cpu_us"] > 0
    # datasketch (25 bands at 0.5 and 128 perms) queries and inserts band by band, a round
    # trip each; the service's upsert is one script call
    assert res["index"]["datasketch MinHashLSH (redis) query+insert"]["redis_reads_per_article"] >= 2 * 25
    assert 1 <= res["index"]["service upsert, sequential"]["redis_reads_per_article"] < 2
    assert res["index"]["service upsert_many, 500 per batch"]["redis_reads_per_article"] < 1


def test_cluster_benchmark_reports_each_node(tmp_path: Path) -> None:
    res = _run("bench_cluster.py", "--articles", "400", "--real", "200", "--partitions", "6", out=tmp_path / "c.json")
    runs = res["cluster"]
    assert [(r["nodes"], r["partitions"]) for r in runs] == [(1, 1), (1, 6), (3, 6), (6, 6)]
    for r in runs:
        assert r["articles"] == 400 and r["articles_per_s"] > 0 and r["reads_per_article"] > 0
        assert len(r["memory_mb_per_node"]) == len(r["redis_cpu_us_per_article_per_node"]) == r["nodes"]
        assert all(m > 0 for m in r["memory_mb_per_node"]) and all(
            u > 0 for u in r["redis_cpu_us_per_article_per_node"]
        )
        assert r["redis_cpu_us_per_article"] == pytest.approx(sum(r["redis_cpu_us_per_article_per_node"]))
    # 6 partitions on 3 and on 6 primaries: every node holds a share of the index
    assert all(r["memory_spread"] < 0.5 for r in runs[2:])
    at_once = res["at_once"]
    assert list(at_once) == ["one Redis", "3-primary Redis Cluster, 6 partitions"]
    for r in at_once.values():  # copies found and linked, 16 requests at once
        assert r["linked"] > 0 and 0 < r["p50_ms"] <= r["p99_ms"] and 0 < r["linked_p50_ms"] <= r["linked_p99_ms"]


def test_http_benchmark_reports_both_servers(tmp_path: Path) -> None:
    res = _run("bench_http.py", "--seconds", "0.5", "--articles", "30", "--batch", "5", out=tmp_path / "h.json")
    assert len(res) == 11
    assert {"dedup-service, 2 processes @ 32", "dedup-service batch of 5, 1 process @ 1",
            "dedup-service batch of 5, 1 process @ 2",
            "aiohttp floor (parse the article, answer) @ 32"} <= set(res)  # fmt: skip
    for key, r in res.items():
        assert r["requests"] > 0 and r["errors"] == 0, key
        assert 0 < r["p50_ms"] <= r["p99_ms"] and r["articles_per_s"] >= r["rps"] > 0 and r["vs_naive"] > 0
        # CPU per article of each side, and the share of the box's cores they kept busy
        assert r["server_cpu_us_per_article"] > 0 and r["client_cpu_us_per_article"] > 0, key
        assert r["redis_cpu_us_per_article"] > 0 or key.startswith("aiohttp floor"), key
        assert 0 < r["cores_busy"] <= (os.cpu_count() or 1) + 0.5, key
        # each run says how many times it went through the stream of 30 articles
        assert r["stream_laps"] == r["articles"] / 30 > 0, key
    # the floor serves thousands of requests a second on any box: it goes round the stream
    # (the naive service may serve fewer than 30 in its half second on a slow one)
    assert res["aiohttp floor (parse the article, answer) @ 32"]["stream_laps"] > 1
    # the naive service waits on a round trip per band; the service makes one or two calls
    naive = "naive (datasketch update + AsyncMinHashLSH) @ 1"
    assert res[naive]["redis_reads_per_article"] > 10 * res["dedup-service @ 1"]["redis_reads_per_article"] > 0
    # the floor makes no Redis call: its row counts only the benchmark's own readings (a
    # connection each, about 20 in all), however few requests a slow box served in the run
    floor = res["aiohttp floor (parse the article, answer) @ 32"]
    assert floor["redis_reads_per_article"] * floor["articles"] < 30 < floor["articles"]


def test_burst_benchmark_times_each_window_of_one_storys_copies(tmp_path: Path) -> None:
    res = _run("bench_burst.py", "--copies", "10", out=tmp_path / "b.json")
    assert res["windows"] == ["1-2", "3-4", "5-6", "7-8", "9-10"]
    assert set(res["us_per_article"]) == {"datasketch MinHashLSH (redis) query+insert",
                                          "dedup-service ingest (in process)"}  # fmt: skip
    assert all(len(w) == 5 and min(w) > 0 for w in res["us_per_article"].values())
    assert res["cluster_size"] == 10  # every syndicated variant joined the story


def test_extraction_benchmark_scores_each_extractor(tmp_path: Path) -> None:
    res = _run("bench_extract.py", "--pages", "12", out=tmp_path / "e.json")
    assert res["pages"] == 12
    assert set(res["extractors"]) == {
        "service (trafilatura + link and headline rules)",
        "trafilatura, defaults",
        "resiliparse main_content",
    }
    for r in res["extractors"].values():
        assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 and 0 <= r["clean_pages"] <= 1
        assert r["ms_per_page"] > 0


def test_syndication_benchmark_scores_the_meter_rewrites(tmp_path: Path) -> None:
    shared_file("data/meter_dev/meter_pa.jsonl")
    res = _run("bench_syndication.py", "--part", "meter", out=tmp_path / "m.json")["meter"]
    assert res["pa"] == 382 and res["news"] == 449
    services = ("service", "service, anchors 1/4")  # the default anchor sample, and the denser one
    for detector in (*services, "datasketch", "exact 3-gram ≥ 1/8", "exact 3-gram ≥ 0.2"):
        assert set(res[detector]) == {"precision", "recall", "wholly_recall", "wrong_story_share"}
    for service in services:
        # the service links rewrites: far more than the shingle-LSH baseline, which finds none
        assert res[service]["recall"] > res["datasketch"]["recall"] + 0.3
        assert 0 < res["costs"][service]["mean_reused_share"] < 1


def test_multilingual_benchmark_scores_every_language(tmp_path: Path) -> None:
    shared_file("data/multilingual/zh.jsonl")
    res = _run("bench_multilingual.py", "--stories", "3", out=tmp_path / "ml.json")
    languages = {"fr", "es", "de", "pt", "ru", "ar", "ko", "zh", "ja"}
    assert set(res["stories"]) == languages and all(n == 3 for n in res["stories"].values())
    assert set(res["signature"]) == languages | {"en"} and all(t > 0 for t in res["signature"].values())
    for code in languages:
        service, baseline = res["counts"]["service"][code], res["counts"]["datasketch"][code]
        assert service["combined:n"] == 3 and baseline["combined:n"] == 3
        assert service["combined:found"] == 3  # a site's headline, no dateline, a credit: still a copy
    # datasketch's whitespace shingles cannot see Chinese or Japanese copies reflowed at another width
    assert res["counts"]["datasketch"]["zh"]["reflowed:found"] < 3


def test_diff_benchmark_reports_both_requests(tmp_path: Path) -> None:
    res = _run("bench_diff.py", "--pairs", "3", "--reps", "1", out=tmp_path / "d.json")
    requests = res["requests"]
    assert set(requests) == {"GET /v1/articles/{id}", "GET /v1/articles/{id}/diff"}
    assert all(r["requests"] == 3 and 0 < r["p50_ms"] <= r["p99_ms"] for r in requests.values())
