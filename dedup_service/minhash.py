"""Pure MinHash over 64-bit shingle hashes.

Permutation i maps a hash x to ``(a_i * x + b_i) mod 2^64 >> 32`` (multiply-shift,
Dietzfelbinger et al.), with full-range random a_i (odd) and b_i drawn once per seed.
The signature keeps the 32-bit minimum per permutation: 4 bytes a slot, packed as
little-endian uint32 so it is stored and compared as raw bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .shingle import U64

U32 = npt.NDArray[np.uint32]
_EMPTY = np.uint32(0xFFFFFFFF)
# shingles per block: bounds the temporary (block x num_perm) matrix to a few MB
_BLOCK = 2048


@dataclass(frozen=True, slots=True)
class Signature:
    values: U32
    # distinct shingles hashed: lets callers turn Jaccard into containment
    size: int

    def to_bytes(self) -> bytes:
        return self.values.astype("<u4", copy=False).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, size: int) -> Signature:
        return cls(np.frombuffer(data, dtype="<u4").astype(np.uint32), size)


class MinHasher:
    def __init__(self, num_perm: int = 128, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.num_perm = num_perm
        self._a = (rng.integers(0, 2**64, size=(1, num_perm), dtype=np.uint64)) | np.uint64(1)
        self._b = rng.integers(0, 2**64, size=(1, num_perm), dtype=np.uint64)

    def signature(self, shingles: U64) -> Signature:
        out = np.full(self.num_perm, _EMPTY, dtype=np.uint32)
        col = shingles.reshape(-1, 1)
        with np.errstate(over="ignore"):
            for start in range(0, len(col), _BLOCK):
                block = col[start : start + _BLOCK] * self._a + self._b
                np.minimum(out, (block.min(axis=0) >> np.uint64(32)).astype(np.uint32), out=out)
        return Signature(out, len(shingles))


def jaccard(a: U32, b: U32) -> float:
    """Estimated Jaccard similarity: the share of permutations whose minima agree."""
    return float(np.count_nonzero(a == b)) / len(a)


def jaccard_many(query: U32, candidates: U32) -> npt.NDArray[np.float64]:
    """Row-wise estimate for a (n, num_perm) matrix of candidate signatures."""
    agree = (candidates == query).sum(axis=1, dtype=np.float64)
    return np.asarray(agree / query.shape[0], dtype=np.float64)
