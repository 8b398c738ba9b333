"""Signature time per article and estimation accuracy, against datasketch in the same run.

Rows (all on the same texts, medians over --reps, every rep listed):
- shingling floor: normalize + word 5-shingles as a Python set of strings (no hashing);
- datasketch MinHash.update per shingle (sha1): the naive path its README teaches;
- datasketch MinHash.update_batch: the library's faster path;
- service signature: normalize + hashed shingles + MinHash (what the issue calls signature),
  with the native core (dedup_service/_fast.c) and with the numpy path it replaces;
- service fingerprint: the whole pure pipeline per article (lines, chrome keys, facts,
  anchors, bands), which is what the request path runs.
Accuracy: mean absolute error of estimated Jaccard against the exact Jaccard of the
5-shingle sets, on pairs of a story and a syndicated variant of it.

    python benchmarks/bench_signature.py [--articles 1000] [--reps 3] [--json FILE]
"""

from __future__ import annotations

import random

import numpy as np
from common import corpus, median, parse_args, print_table, timed, variant, write_json
from datasketch import MinHash

from dedup_service.fingerprint import Fingerprinter
from dedup_service.minhash import MinHasher, jaccard
from dedup_service.normalize import normalize, split_lines, words
from dedup_service.shingle import shingle_hashes

K, PERM = 5, 128


def str_shingles(text: str) -> set[str]:
    w = words(normalize(text))
    return {" ".join(w[i : i + K]) for i in range(max(len(w) - K + 1, 1))}


def ds_update(text: str) -> MinHash:
    m = MinHash(num_perm=PERM)
    for s in str_shingles(text):
        m.update(s.encode("utf8"))
    return m


def ds_batch(text: str) -> MinHash:
    m = MinHash(num_perm=PERM)
    m.update_batch([s.encode("utf8") for s in str_shingles(text)])
    return m


def main() -> None:
    args = parse_args(__doc__, articles=1000, reps=3)
    texts = corpus(args.articles)
    hasher = MinHasher(PERM, 1)
    fingerprinter = Fingerprinter(PERM, K, 0.5, 1)
    if not fingerprinter.native:
        print("note: the native core is not built here; the service rows use the numpy path")

    def ours_numpy(text: str) -> object:
        return hasher.signature(shingle_hashes(words(normalize(text)), K))

    def ours(text: str) -> object:
        return fingerprinter.core(normalize(text))

    variants = {
        "shingling floor (Python str set)": str_shingles,
        "datasketch MinHash.update per shingle": ds_update,
        "datasketch MinHash.update_batch": ds_batch,
        "service signature (normalize+shingle+MinHash)": ours,
        "service signature, numpy path (no native core)": ours_numpy,
        "service fingerprint (full request-path pipeline)": lambda t: fingerprinter(split_lines(t)),
    }
    results = {}
    for name, fn in variants.items():
        reps = timed(lambda fn=fn: [fn(t) for t in texts], args.reps)  # type: ignore[misc]
        results[name] = [r / len(texts) * 1e6 for r in reps]
    naive = median(results["datasketch MinHash.update per shingle"])
    rows = [
        [name, f"{median(us):.0f}", " ".join(f"{x:.0f}" for x in us), f"{naive / median(us):.1f}x"]
        for name, us in results.items()
    ]
    print_table(
        f"Signature time per article ({len(texts)} articles, num_perm={PERM}, word {K}-shingles)",
        ["variant", "µs/article (median)", "reps", "speed-up vs naive"],
        rows,
    )

    rng = random.Random(3)
    errs: dict[str, list[float]] = {"datasketch": [], "service": []}
    for text in texts[:300]:
        other = variant(text, rng)
        a, b = str_shingles(text), str_shingles(other)
        if not a or not b:
            continue
        true = len(a & b) / len(a | b)
        errs["datasketch"].append(abs(ds_batch(text).jaccard(ds_batch(other)) - true))
        sa = hasher.signature(shingle_hashes(words(normalize(text)), K)).values
        sb = hasher.signature(shingle_hashes(words(normalize(other)), K)).values
        errs["service"].append(abs(jaccard(sa, sb) - true))
    acc = {k: round(float(np.mean(v)), 4) for k, v in errs.items()}
    print_table(
        f"Estimation accuracy ({len(errs['service'])} story/variant pairs)",
        ["method", "mean abs error of Jaccard"],
        [[k, v] for k, v in acc.items()],
    )
    print(f"\nservice - datasketch mean abs error: {acc['service'] - acc['datasketch']:+.4f}")
    write_json(
        args.json,
        {
            "us_per_article": results,
            "speedup_vs_naive": {k: naive / median(v) for k, v in results.items()},
            "mean_abs_error": acc,
        },
    )


if __name__ == "__main__":
    main()
