"""Pure word shingling: word k-grams as 64-bit hashes, never as Python strings.

Each word is hashed once with xxh3; a k-gram's hash is a polynomial over its word hashes
(mod 2^64, vectorized in numpy) passed through the splitmix64 finalizer so that the
MinHash permutations see well-mixed, independent-looking values.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import xxhash

U64 = npt.NDArray[np.uint64]

_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd golden-ratio constant: the polynomial base
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix(x: U64) -> U64:
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX1
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX2
    return x ^ (x >> np.uint64(31))


def word_hashes(words: list[str], seed: int = 0) -> U64:
    h = xxhash.xxh3_64_intdigest
    distinct = {w: h(w.encode(), seed) for w in words}
    return np.array([distinct[w] for w in words], dtype=np.uint64)


def shingle_hashes(words: list[str], k: int, seed: int = 0) -> U64:
    """Distinct hashes of the word k-shingles; a text shorter than k words is one shingle."""
    return shingles_of(word_hashes(words, seed), k)


def shingles_of(t: U64, k: int) -> U64:
    """``shingle_hashes`` from precomputed word hashes (so one text can be cut several ways)."""
    if len(t) == 0:
        return np.empty(0, dtype=np.uint64)
    n = max(len(t) - k + 1, 1)
    acc = t[:n].copy()
    with np.errstate(over="ignore"):
        for j in range(1, min(k, len(t))):
            acc = acc * _MULT + t[j : j + n]
        return np.unique(_splitmix(acc))
