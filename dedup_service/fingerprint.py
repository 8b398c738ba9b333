"""Pure pipeline from text to what the index stores: normalize -> shingle -> MinHash -> bands."""

from __future__ import annotations

from dataclasses import dataclass

import xxhash

from .errors import InvalidField
from .lsh import Banding
from .minhash import MinHasher, Signature
from .normalize import normalize, words
from .shingle import shingle_hashes


@dataclass(frozen=True, slots=True)
class Fingerprint:
    normalized: str
    signature: Signature
    bands: bytes
    # 16-byte hash of the normalized word sequence: equal means "exact" copy
    text_hash: bytes


class Fingerprinter:
    def __init__(self, num_perm: int, shingle_size: int, threshold: float, seed: int) -> None:
        self.hasher = MinHasher(num_perm, seed)
        self.banding = Banding.for_threshold(threshold, num_perm)
        self.shingle_size = shingle_size
        self.seed = seed

    def __call__(self, text: str, field: str = "text") -> Fingerprint:
        normalized = normalize(text)
        tokens = words(normalized)
        if not tokens:
            raise InvalidField(field, "contains no words")
        sig = self.hasher.signature(shingle_hashes(tokens, self.shingle_size, self.seed))
        return Fingerprint(
            normalized=normalized,
            signature=sig,
            bands=self.banding.band_hashes(sig),
            text_hash=xxhash.xxh3_128_digest(" ".join(tokens).encode()),
        )
