"""Pure pipeline from cleaned lines to what the index stores and verification compares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xxhash

from . import constants as c
from .errors import InvalidField
from .features import Facts, facts
from .lsh import Banding
from .minhash import MinHasher, Signature
from .normalize import Line, words
from .shingle import U64, shingles_of, word_hashes


@dataclass(frozen=True, slots=True)
class Fingerprint:
    text: str  # the cleaned text that was shingled, lines as written
    signature: Signature
    bands: bytes  # 8 bytes per LSH band
    anchors: bytes  # 8 bytes per anchor (see ``anchor_sample``)
    # 16-byte hash of the normalized word sequence: equal means "exact" copy
    text_hash: bytes
    facts: Facts


def anchor_sample(shingles: U64) -> U64:
    """A content-defined sample of the shingles: those whose hash is 0 mod ANCHOR_MOD.

    Unlike MinHash, the sample of a passage does not depend on the rest of the text, so
    a truncated copy shares all of its anchors with the original and an extended copy
    holds all of the original's: that is what lets containment candidates be found.
    Very long texts keep their MAX_ANCHORS smallest anchors.
    """
    picked: U64 = shingles[(shingles & np.uint64(c.ANCHOR_MOD - 1)) == 0]
    if len(picked) > c.MAX_ANCHORS:
        picked = np.sort(picked)[: c.MAX_ANCHORS]
    return picked


class Fingerprinter:
    def __init__(self, num_perm: int, shingle_size: int, threshold: float, seed: int) -> None:
        self.hasher = MinHasher(num_perm, seed)
        self.banding = Banding.for_threshold(threshold, num_perm)
        self.shingle_size = shingle_size
        self.seed = seed

    def __call__(self, lines: Sequence[Line], field: str = "text") -> Fingerprint:
        tokens = words(" ".join(line.normalized for line in lines))
        if not tokens:
            raise InvalidField(field, "contains no words")
        hashed = word_hashes(tokens, self.seed)
        shingles = shingles_of(hashed, self.shingle_size)
        sig = self.hasher.signature(shingles)
        return Fingerprint(
            text="\n".join(line.text for line in lines),
            signature=sig,
            bands=self.banding.band_hashes(sig),
            anchors=anchor_sample(shingles_of(hashed, c.ANCHOR_SHINGLE_SIZE)).astype("<u8").tobytes(),
            text_hash=xxhash.xxh3_128_digest(" ".join(tokens).encode()),
            facts=facts(list(lines)),
        )
