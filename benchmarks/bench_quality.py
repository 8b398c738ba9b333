"""Duplicate-detection quality on ../shared/data/reuters_dev: the service against a plain
datasketch MinHashLSH (threshold 0.5, word 5-shingles, transitive closure), same run.

    python benchmarks/bench_quality.py [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from common import DATA, print_table, write_json
from datasketch import MinHash, MinHashLSH

from dedup_service.config import Settings
from dedup_service.runner import cluster_corpus, read_jsonl, score_corpus


def datasketch_clusters(rows: list[dict[str, str]]) -> dict[str, str]:
    """datasketch as its README teaches: lowercased words, MinHash.update per shingle,
    query then insert into an in-memory MinHashLSH, clusters by transitive closure."""
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    parent = {r["id"]: r["id"] for r in rows}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for row in rows:
        words = row["text"].lower().split()
        m = MinHash(num_perm=128)
        for i in range(max(len(words) - 4, 1)):
            m.update(" ".join(words[i : i + 5]).encode("utf8"))
        for other in lsh.query(m):
            parent[find(other)] = find(row["id"])
        lsh.insert(row["id"], m)
    return {i: find(i) for i in parent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    rows = read_jsonl(DATA)
    t0 = time.perf_counter()
    baseline = score_corpus(DATA, rows, datasketch_clusters(rows))
    t_base = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = score_corpus(DATA, rows, asyncio.run(cluster_corpus(Settings(), rows)))
    t_ours = time.perf_counter() - t0

    def row(name: str, r: dict, seconds: float) -> list[str]:  # type: ignore[type-arg]
        s, by = r["story"], r["story_recall_by_type"]
        return [
            name,
            f"{s['precision']:.4f}",
            f"{s['recall']:.4f}",
            f"{s['f1']:.4f}",
            f"{by['contained']['recall']:.4f}",
            f"{by['near']['recall']:.4f}",
            f"{seconds:.1f}",
        ]

    header = ["detector", "precision", "recall", "F1", "contained recall", "near recall", "seconds"]
    print_table(
        f"Story mode on {DATA.name} ({len(rows)} articles)",
        header,
        [row("datasketch MinHashLSH 0.5", baseline, t_base), row("dedup-service", ours, t_ours)],
    )
    gain = {k: round(ours["story"][k] / max(baseline["story"][k], 1e-9), 3) for k in ("precision", "recall", "f1")}
    print(f"\nratios (service / datasketch): {gain}")
    write_json(args.json, {"datasketch": baseline, "service": ours, "ratio": gain})


if __name__ == "__main__":
    main()
