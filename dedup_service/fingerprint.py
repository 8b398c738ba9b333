"""Pure pipeline from cleaned lines to what the index stores and verification compares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xxhash

from . import constants as c
from .candidate import pack_record
from .errors import InvalidField
from .features import Facts, facts
from .lsh import Banding
from .minhash import MinHasher, Signature
from .native import fast
from .normalize import Line, words
from .shingle import U64, shingles_of, word_hashes

# words, text hash, signature (uint16 bytes), distinct shingles, anchors (uint64 bytes)
Core = tuple[int, bytes, bytes, int, bytes]


@dataclass(frozen=True, slots=True)
class Fingerprint:
    text: str  # the cleaned text that was shingled, lines as written
    signature: Signature
    bands: bytes  # 8 bytes per LSH band
    anchors: bytes  # 8 bytes per anchor (see ``sample_anchors``)
    # 16-byte hash of the normalized word sequence: equal means "exact" copy
    text_hash: bytes
    facts: Facts
    record: bytes  # signature and facts packed as the index stores them (``candidate.pack_record``)


def sample_anchors(shingles: U64, every: int) -> U64:
    """A content-defined sample of the shingles: those whose hash is 0 mod ``every`` (a
    power of two).

    Unlike MinHash, the sample of a passage does not depend on the rest of the text, so
    a truncated copy shares all of its anchors with the original and an extended copy
    holds all of the original's: that is what lets containment candidates be found.
    Very long texts keep their MAX_ANCHORS smallest anchors.
    """
    picked: U64 = shingles[(shingles & np.uint64(every - 1)) == 0]
    if len(picked) > c.MAX_ANCHORS:
        picked = np.sort(picked)[: c.MAX_ANCHORS]
    return picked


class Fingerprinter:
    def __init__(
        self, num_perm: int, shingle_size: int, threshold: float, seed: int,
        anchor_sample: int = c.DEFAULT_ANCHOR_SAMPLE,
    ) -> None:  # fmt: skip
        self.hasher = MinHasher(num_perm, seed)
        self.banding = Banding.for_threshold(threshold, num_perm)
        self.shingle_size = shingle_size
        self.seed = seed
        self.anchor_sample = anchor_sample
        self._perms = self.hasher.packed()
        self.native = fast is not None

    def core(self, normalized: str) -> Core | None:
        """Words, shingles, signature and anchors of normalized text (None: no words).
        Native when built, else numpy: the two agree bit for bit (tests/test_fingerprint.py)."""
        if self.native:
            return fast.core(normalized, self.seed, self.shingle_size, c.ANCHOR_SHINGLE_SIZE, self.anchor_sample,
                              c.MAX_ANCHORS, *self._perms)  # fmt: skip
        return self.core_numpy(normalized)

    def core_numpy(self, normalized: str) -> Core | None:
        tokens = words(normalized)
        if not tokens:
            return None
        hashed = word_hashes(tokens, self.seed)
        sig = self.hasher.signature(shingles_of(hashed, self.shingle_size))
        anchors = sample_anchors(shingles_of(hashed, c.ANCHOR_SHINGLE_SIZE), self.anchor_sample).astype("<u8").tobytes()
        return len(tokens), xxhash.xxh3_128_digest(" ".join(tokens).encode()), sig.to_bytes(), sig.size, anchors

    def __call__(self, lines: Sequence[Line], field: str = "text") -> Fingerprint:
        core = self.core(" ".join(line.normalized for line in lines))
        if core is None:
            raise InvalidField(field, "contains no words")
        _, text_hash, signature, size, anchors = core
        sig = Signature.from_bytes(signature, size)
        found = facts(list(lines))
        return Fingerprint(
            text="\n".join(line.text for line in lines),
            signature=sig,
            bands=self.banding.band_hashes(sig),
            anchors=anchors,
            text_hash=text_hash,
            facts=found,
            record=pack_record(sig, found),
        )
