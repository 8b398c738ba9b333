"""Pure verification of LSH candidates: estimated similarity, containment and relation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .fingerprint import Fingerprint
from .minhash import Signature, jaccard_many
from .models import Match, Relation


@dataclass(frozen=True, slots=True)
class Candidate:
    """An indexed article as the index returns it for verification."""

    iid: str
    id: str
    signature: Signature
    text_hash: bytes
    meta: dict[str, str]
    cluster_id: str


def containment(jaccard: float, size_a: int, size_b: int) -> float:
    """Share of A's shingles that lie in B, from J = |A & B| / |A | B| and the set sizes."""
    if size_a <= 0:
        return 0.0
    inter = jaccard * (size_a + size_b) / (1.0 + jaccard)
    return min(1.0, inter / size_a)


def verify(query: Fingerprint, candidates: Sequence[Candidate], threshold: float) -> list[Match]:
    """Matches at or above ``threshold``, best first (ties by id, for stable answers)."""
    if not candidates:
        return []
    sims = jaccard_many(query.signature.values, np.stack([c.signature.values for c in candidates]))
    matches = []
    for cand, sim in zip(candidates, sims.tolist(), strict=True):
        if cand.text_hash == query.text_hash:
            relation, sim = Relation.EXACT, 1.0
        elif sim >= threshold:
            relation = Relation.NEAR_DUPLICATE
        else:
            continue
        cont = containment(sim, query.signature.size, cand.signature.size)
        matches.append(Match(cand.id, sim, cont, relation, cand.cluster_id, cand.meta))
    matches.sort(key=lambda m: (-m.similarity, m.id))
    return matches


def overall_relation(matches: Sequence[Match]) -> Relation:
    if not matches:
        return Relation.NEW
    return Relation.EXACT if any(m.relation is Relation.EXACT for m in matches) else matches[0].relation
