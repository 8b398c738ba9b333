"""Estimates of a query against its candidates, all at once: MinHash similarity, and the
containment of each text in the other combined from two sketches (see
``containment_and_error``); and the screen that keeps the candidates worth a close look.
Pure numpy, or the native core when built."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from . import constants as c_
from .candidate import Candidate
from .fingerprint import Fingerprint
from .minhash import jaccard_many
from .native import fast

if TYPE_CHECKING:
    from .thresholds import Thresholds

# the estimates take floats or numpy arrays alike, so that verification can screen every
# candidate at once before looking at any one closely
Num = npt.ArrayLike
Floats = npt.NDArray[np.float64]


def derived_containment(jaccard: Num, size_a: Num, size_b: Num) -> Floats:
    """Share of A's shingles in B, from J = |A & B| / |A | B| and the set sizes."""
    inter = np.multiply(jaccard, np.add(size_a, size_b)) / (1.0 + np.asarray(jaccard))
    return np.where(np.greater(size_a, 0), np.minimum(1.0, inter / np.maximum(size_a, 1)), 0.0)


def _clip(x: Num, low: float, high: float) -> Floats:
    return np.minimum(np.maximum(x, low), high)  # np.clip's dispatch costs more on small arrays


def _word_share(share: Num, var: Floats, k: int) -> tuple[Floats, Floats]:
    """Shingle-level share and variance -> word-level share p = share**(1/k), delta method."""
    share = _clip(share, 1e-3, 1.0)
    p = share ** (1.0 / k)
    slope = p / (k * share)
    return p, var * slope * slope


def containment(
    jaccard: Num, size_a: Num, size_b: Num, shared: Num, anchors_a: Num, num_perm: int, shingle_size: int
) -> Floats:
    """Estimated share of A's words that reappear in B (see ``containment_and_error``)."""
    return containment_and_error(jaccard, size_a, size_b, shared, anchors_a, num_perm, shingle_size)[0]


def containment_and_error(
    jaccard: Num, size_a: Num, size_b: Num, shared: Num, anchors_a: Num, num_perm: int, shingle_size: int
) -> tuple[Floats, Floats]:
    """Estimated share of A's words that reappear in B, and its standard error.

    Two estimates are combined by inverse variance: the share of A's anchors (word
    3-shingles) found in B, a binomial share with variance c(1-c)/n; and the share of
    A's k-shingles derived from the MinHash Jaccard, whose variance J(1-J)/num_perm is
    scaled by the squared slope (|A|+|B|) / (|A| (1+J)^2), large when A is much smaller
    than B. Each is moved to words first: an edit scattered through a text breaks every
    shingle over the changed word, so a share p of surviving words leaves about p**k of
    the shingles. Variances are floored so that no estimate is trusted absolutely.
    """
    j = _clip(jaccard, 0.02, 0.98)
    derived = derived_containment(jaccard, size_a, size_b)
    slope = np.add(size_a, size_b) / (np.maximum(size_a, 1) * (1 + j) ** 2)
    p_d, var_d = _word_share(derived, np.maximum(slope * slope * j * (1 - j) / num_perm, 1e-4), shingle_size)
    anchors = np.maximum(anchors_a, 1)
    by_anchors = np.minimum(1.0, np.divide(shared, anchors))
    c = _clip(by_anchors, 0.05, 0.95)
    p_a, var_a = _word_share(by_anchors, c * (1 - c) / anchors, c_.ANCHOR_SHINGLE_SIZE)
    w_a, w_d = 1 / np.maximum(var_a, 1e-6), 1 / np.maximum(var_d, 1e-6)
    has_anchors = np.greater(anchors_a, 0)
    return (np.where(has_anchors, (w_a * p_a + w_d * p_d) / (w_a + w_d), p_d),
            np.sqrt(np.where(has_anchors, 1 / (w_a + w_d), 1 / w_d)))  # fmt: skip


Screened = list[tuple[int, float, float, float]]  # (candidate index, similarity, c_q, c_c)


def estimates(
    query: Fingerprint, candidates: Sequence[Candidate], searched_anchors: int, t: Thresholds
) -> tuple[Floats, Floats, Floats]:
    """Similarity, and containment of the query in each candidate and of each candidate in
    the query, for all candidates at once."""
    sims = jaccard_many(query.signature.values, np.stack([c.signature.values for c in candidates]))
    sizes = np.array([c.signature.size for c in candidates], dtype=np.float64)
    shared = np.array([c.shared_anchors for c in candidates], dtype=np.float64)
    anchors = np.array([c.anchors for c in candidates], dtype=np.float64)
    nq, perms, k, n = query.signature.size, len(query.signature.values), t.shingle_size, len(candidates)
    # both directions in one call: the query in each candidate, then each candidate in the query
    both = containment(np.concatenate((sims, sims)), np.concatenate((np.full(n, nq), sizes)),
                       np.concatenate((sizes, np.full(n, nq))), np.concatenate((shared, shared)),
                       np.concatenate((np.full(n, searched_anchors), anchors)), perms, k)  # fmt: skip
    return sims, both[:n], both[n:]


def screen_numpy(query: Fingerprint, candidates: Sequence[Candidate], searched_anchors: int, t: Thresholds) -> Screened:
    """The candidates worth a close look as copies or related texts, with their estimates,
    computed for all at once: most share a few common phrases and nothing more. (The
    native core does the same in one call; this is the path without it.)"""
    if not candidates:
        return []
    sims, c_q, c_c = estimates(query, candidates, searched_anchors, t)
    exact = np.array([c.text_hash == query.text_hash for c in candidates])
    worth = exact | (sims >= t.near) | (np.maximum(c_q, c_c) >= min(t.related, t.contained))
    return [(i, float(sims[i]), float(c_q[i]), float(c_c[i])) for i in np.flatnonzero(worth).tolist()]


def screen_copies(
    query: Fingerprint, candidates: Sequence[Candidate], searched_anchors: int, t: Thresholds
) -> Screened:
    """``screen_numpy``, natively when built: from the candidates' packed records, so that
    only those worth a close look are ever decoded."""
    if fast is None or not candidates:
        return screen_numpy(query, candidates, searched_anchors, t)
    sig = query.signature
    return fast.screen(sig.to_bytes(), query.text_hash, sig.size, searched_anchors,
                          [c.record for c in candidates], [c.text_hash for c in candidates],
                          [c.shared_anchors for c in candidates], [c.anchors for c in candidates],
                          t.shingle_size, c_.ANCHOR_SHINGLE_SIZE, t.near, min(t.related, t.contained))  # fmt: skip


def screen(query: Fingerprint, candidates: Sequence[Candidate], searched_anchors: int, t: Thresholds) -> Screened:
    """``screen_copies``, then the possible rewrites among the rest: those holding
    ``rewrite_screen`` of the query's sampled phrases."""
    found = screen_copies(query, candidates, searched_anchors, t)
    seen = {i for i, *_ in found}
    enough = t.rewrite_screen * searched_anchors
    if rest := [i for i, c in enumerate(candidates) if i not in seen and c.shared_anchors >= enough]:
        sims, c_q, c_c = estimates(query, [candidates[i] for i in rest], searched_anchors, t)
        found += [(i, float(sims[j]), float(c_q[j]), float(c_c[j])) for j, i in enumerate(rest)]
    return found
