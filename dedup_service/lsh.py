"""Pure LSH banding math, after datasketch's ``MinHashLSH``.

A signature of ``num_perm`` values is cut into ``b`` bands of ``r`` rows. Two articles
with Jaccard similarity ``s`` share at least one band with probability
``1 - (1 - s**r) ** b``: an S-curve whose steep part sits near ``(1/b) ** (1/r)``.
``optimal_params`` picks the (b, r) that minimizes the weighted area of false positives
(the curve below the threshold) plus false negatives (one minus the curve above it), as
datasketch's ``_optimal_param`` does. At threshold 0.5 and 128 permutations that is
b=25, r=5: a pair at s=0.5 is a candidate with probability 0.55, at s=0.6 with 0.87,
at s=0.7 with 0.99. Candidates are then verified on the full signature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import xxhash

from .minhash import Signature

_STEPS = 200  # Simpson panels: integration error far below what changes the argmin


def _simpson(f: Callable[[float], float], lo: float, hi: float) -> float:
    h = (hi - lo) / _STEPS
    total = f(lo) + f(hi)
    for i in range(1, _STEPS):
        total += (4 if i % 2 else 2) * f(lo + i * h)
    return total * h / 3


def false_positive_area(threshold: float, b: int, r: int) -> float:
    return _simpson(lambda s: 1 - (1 - s**r) ** b, 0.0, threshold)


def false_negative_area(threshold: float, b: int, r: int) -> float:
    return _simpson(lambda s: (1 - s**r) ** b, threshold, 1.0)


@cache
def optimal_params(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            err = fp_weight * false_positive_area(threshold, b, r) + fn_weight * false_negative_area(threshold, b, r)
            if err < best_err:
                best, best_err = (b, r), err
    return best


@dataclass(frozen=True, slots=True)
class Banding:
    bands: int
    rows: int

    @classmethod
    def for_threshold(cls, threshold: float, num_perm: int) -> Banding:
        b, r = optimal_params(threshold, num_perm)
        return cls(b, r)

    def band_hashes(self, sig: Signature) -> bytes:
        """8 bytes per band: the xxh3 of the band's packed rows, seeded with the band's
        number so that equal rows in different bands make different buckets."""
        raw = sig.to_bytes()
        width = 2 * self.rows
        return b"".join(xxhash.xxh3_64_digest(raw[i * width : (i + 1) * width], i) for i in range(self.bands))
