"""Pure verification of index candidates: similarity, containment, facts and relation.

``similarity`` is the MinHash estimate of Jaccard. ``containment`` (how much of the
incoming article lies inside the match) combines two estimates: the share of anchors
(a content-defined shingle sample) that the texts share, and the MinHash-derived
``J (|A| + |B|) / ((1 + J) |A|)``, whose error blows up for texts of unequal size.

Relations, strongest first (thresholds in ``Thresholds``):
- ``exact``: the same normalized word sequence;
- ``contained`` / ``contains``: the smaller text is clearly smaller and lies inside the
  larger one, and its figures and names reappear there;
- ``near_duplicate``: Jaccard at or above the threshold, figures and names agreeing;
- ``rewrite``: written from the match, reordered and reworded, keeping whole phrases of it;
- ``related``: the texts share far more than chance but are not copies of each other
  (an update, or the same template filled in with other figures or names).

The estimates are sketches: for a short text (a few dozen words, a handful of anchors)
their error is several points. And facts compared as sets over whole texts see a site's
headline, a dropped dateline or a credit line as other facts. A pair the estimates
place within two standard errors of a copy, or whose facts differ as sets, is therefore
settled by measuring it, and so are an article's likeliest sources (a rewrite's, a
template's): ``examine`` names such candidates, and given their stored texts aligns the
words (``align``), which also compares facts only where the texts differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from . import constants as c_
from .align import Alignment, align, facts_agree_in_place, kept_phrases
from .candidate import Candidate
from .estimates import Screened, containment_and_error, screen
from .features import Facts, contained_share
from .fingerprint import Fingerprint
from .models import Match, Relation
from .native import fast
from .thresholds import Thresholds

COPY_RELATIONS = frozenset({Relation.EXACT, Relation.NEAR_DUPLICATE, Relation.CONTAINED, Relation.CONTAINS})


def facts_agree(small: Facts, large: Facts, threshold: float, nearly_all: float) -> bool:
    """Most (``threshold``) of the smaller text's figures and of its names reappear in the
    larger, and so does the first name it mentions, the subject of its lead, unless nearly
    all (``nearly_all``) of its names do: a template filled in for another company changes
    its subject and with it a share of the names, while a rewrite of the same story may
    only rephrase its first one ("U.S." for "United States"). Names are looked up in the
    larger text's whole vocabulary, so a name written there in lower case (or at the
    start of a sentence) still counts.
    """
    figures = contained_share(small.figures, large.figures)
    if figures is not None and figures < threshold:
        return False
    if len(small.names) == 0 or len(large.vocabulary) == 0:
        return True
    vocabulary = set(large.vocabulary.tolist())
    keys = (small.names >> np.uint32(16)).tolist()  # as in ``vocabulary_keys``
    distinct = set(keys)
    names = len(distinct & vocabulary) / len(distinct)
    return names >= threshold and (keys[0] in vocabulary or names >= nearly_all)


def _smaller_first(query: Fingerprint, cand: Candidate) -> tuple[Facts, Facts]:
    """The facts of the smaller text (the query on a tie), then the larger's."""
    return (query.facts, cand.facts) if query.signature.size <= cand.size else (cand.facts, query.facts)


def _facts_agree(query: Fingerprint, cand: Candidate, t: Thresholds) -> bool:
    """``facts_agree`` of the smaller text in the larger."""
    if fast is not None:  # the same results as the Python below
        return fast.agree(query.record, cand.record, t.facts, t.contained)
    return facts_agree(*_smaller_first(query, cand), t.facts, t.contained)


def _figures_replaced(query: Fingerprint, cand: Candidate) -> bool:
    """Two or more of the smaller text's figures are missing from the larger: more than
    the one a site's own line adds to a copy (the day in its dateline, a figure in its
    headline), as a template's figures replaced do."""
    small, large = _smaller_first(query, cand)
    return len(set(small.figures.tolist()) - set(large.figures.tolist())) >= 2


def _long_enough(query: Fingerprint, cand: Candidate, t: Thresholds) -> bool:
    """The smaller text has ``min_words`` words (a text of n words has about n - k + 1
    distinct k-shingles)."""
    return min(query.signature.size, cand.size) >= t.min_words - t.shingle_size + 1


class Judgement(NamedTuple):
    relation: Relation | None
    similarity: float
    containment: float  # of the query in the candidate
    coverage: float  # of the candidate in the query
    # below near-duplicate similarity, a copy or a possible one by the estimates (within
    # two standard errors), a copy but for facts that differ as sets, or a possible
    # rewrite: the pair should be measured (aligned, for texts of up to max_aligned_words,
    # whose copies' estimates are loose; longer possible rewrites by their phrases alone)
    undecided: bool = False
    # measured only to tell whether the query was written from the candidate (a rewrite,
    # or related as a template): the best REWRITE_SOURCES of these are
    source_only: bool = False


def could_be_copy(query: Fingerprint, cand: Candidate, sim: float, c_q: float, c_c: float,
                   searched_anchors: int, t: Thresholds) -> bool:  # fmt: skip
    """The larger estimated containment lies within two standard errors of ``contained``:
    measuring the pair could make it a copy."""
    nq, nc, perms = query.signature.size, cand.size, len(query.signature.values)
    size_a, size_b, anchors = (nq, nc, searched_anchors) if c_q >= c_c else (nc, nq, cand.anchors)
    error = containment_and_error(sim, size_a, size_b, cand.shared_anchors, anchors, perms, t.shingle_size)[1]
    return max(c_q, c_c) + 2 * float(error) >= t.contained


def relate(
    query: Fingerprint,
    cand: Candidate,
    sim: float,
    c_q: float,
    c_c: float,
    searched_anchors: int,
    t: Thresholds,
    aligned: Alignment | None = None,
) -> Judgement:
    """The relation of query and candidate, given the estimated containments of the query
    in the candidate (c_q) and the reverse (c_c) and the number of the query's anchors (a
    sample of its 3-word phrases) searched, of which the candidate holds
    ``cand.shared_anchors``; or, when known, the alignment of their texts: its facts
    check, and below near-duplicate similarity its measured shares."""
    phrases = cand.shared_anchors / max(searched_anchors, 1)
    if cand.text_hash == query.text_hash:
        return Judgement(Relation.EXACT, 1.0, 1.0, 1.0)
    if sim < t.near and max(c_q, c_c) < min(t.related, t.contained) and phrases < t.rewrite_screen:
        return Judgement(None, sim, c_q, c_c)  # far below every relation: no need to compare facts
    nq, nc = query.signature.size, cand.size
    measurable = aligned is None and max(nq, nc) <= t.max_aligned_words
    agree = aligned.facts_agree if aligned is not None else _facts_agree(query, cand, t)
    if agree and sim >= t.near:
        if c_q >= t.contained and nq <= t.size_ratio * nc:
            return Judgement(Relation.CONTAINED, sim, c_q, c_c)
        if c_c >= t.contained and nc <= t.size_ratio * nq:
            return Judgement(Relation.CONTAINS, sim, c_q, c_c)
        return Judgement(Relation.NEAR_DUPLICATE, sim, c_q, c_c)
    if not _long_enough(query, cand, t):
        return Judgement(None, sim, c_q, c_c)
    if aligned is not None:
        c_q, c_c = aligned.share_a, aligned.share_b
    if agree and max(c_q, c_c) >= t.contained:
        # below near-duplicate similarity a copy is known by its containment alone; one
        # shared anchor (a short text may be a candidate by one) is one phrase in common,
        # whatever it makes of the estimate: measured, where the texts can be aligned
        thin = cand.shared_anchors < c_.MIN_SHARED_ANCHORS
        return Judgement(Relation.CONTAINED if c_q >= c_c else Relation.CONTAINS, sim, c_q, c_c, measurable and thin)
    if aligned is None:
        if max(c_q, c_c) >= t.related:
            copy_possible = could_be_copy(query, cand, sim, c_q, c_c, searched_anchors, t)
            # a possible rewrite too long to align is measured too, by its phrases (``examine``)
            return Judgement(Relation.RELATED, sim, c_q, c_c, measurable or not copy_possible, not copy_possible)
        # a possible rewrite is measured at any length
        return Judgement(None, sim, c_q, c_c, phrases >= t.rewrite_screen, True)
    # measured: an alignment pairs common words ("the", "of") between any two texts, so
    # what the texts share is read from their 3-word phrases, not from the aligned words
    if not agree and max(c_q, c_c) >= t.related and aligned.substituted_facts >= t.template_facts:
        # the same text, other facts in its sentences: a template filled in again, or an update
        return Judgement(Relation.RELATED, sim, c_q, c_c)
    if aligned.phrases_a >= t.rewrite:
        # written from the match: reordered and reworded, whole phrases kept; its figures
        # are the shares of each text's phrases found in the other
        return Judgement(Relation.REWRITE, sim, aligned.phrases_a, aligned.phrases_b)
    return Judgement(None, sim, c_q, c_c)


_RANK = {
    Relation.EXACT: 0,
    Relation.CONTAINED: 1,
    Relation.CONTAINS: 1,
    Relation.NEAR_DUPLICATE: 1,
    Relation.REWRITE: 2,
    Relation.RELATED: 3,
}


def examine(
    query: Fingerprint,
    candidates: Sequence[Candidate],
    searched_anchors: int,
    thresholds: Thresholds,
    texts: Mapping[str, str] | None = None,
) -> tuple[list[Match], list[str]]:
    """Verified matches (see ``verify``), and the internal ids of the candidates whose
    relation the estimates could not settle and ``texts`` did not hold: give their texts
    to settle them."""
    matches = []
    screened = screen(query, candidates, searched_anchors, thresholds)
    judged_all = [relate(query, candidates[i], sim, c_q, c_c, searched_anchors, thresholds)
                  for i, sim, c_q, c_c in screened]  # fmt: skip
    # an article is written from one source, two at most: of the possible sources (a
    # rewrite's, a template's), only those holding the most of its sampled phrases are measured,
    # and of as many, the most similar (a rewrite keeps a little of its source's signature)
    rewrites = [k for k, j in enumerate(judged_all) if j.undecided and j.source_only]
    rewrites.sort(key=lambda k: (-candidates[screened[k][0]].shared_anchors, -screened[k][1]))
    for k in rewrites[c_.REWRITE_SOURCES :]:
        judged_all[k] = judged_all[k]._replace(undecided=False)
    templates, unsure = _templates_in_place(query, candidates, screened, judged_all, thresholds, texts)
    for (i, sim, c_q, c_c), judged in zip(screened, judged_all, strict=True):
        cand = candidates[i]
        if judged.relation in COPY_RELATIONS and cand.cluster_id in templates:
            judged = judged._replace(relation=Relation.RELATED)  # other figures in place: a template
        elif judged.undecided:
            if texts and cand.iid in texts:
                judged = _measured(query, cand, (sim, c_q, c_c), judged, texts[cand.iid], searched_anchors, thresholds)
            else:
                unsure.append(cand.iid)
        if judged.relation is not None:
            matches.append(Match(cand.id, judged.similarity, judged.containment, judged.relation, cand.cluster_id,
                                 cand.meta, judged.coverage))  # fmt: skip
    return sort_matches(matches), unsure


def _measured(
    query: Fingerprint,
    cand: Candidate,
    estimated: tuple[float, float, float],
    judged: Judgement,
    text: str,
    searched_anchors: int,
    t: Thresholds,
) -> Judgement:
    """An undecided pair settled on the candidate's stored ``text``: aligned, or when too
    long to align, by its phrases alone. A possible rewrite only is measured when it keeps
    enough of the candidate's phrases (a cheaper count, first)."""
    kept = None if judged.relation is not None else kept_phrases(query.text, text)
    if kept is not None and kept < t.rewrite:
        return judged
    aligned = align(query.text, text, t.facts, t.contained, t.max_aligned_words)
    if aligned is not None:
        return relate(query, cand, *estimated, searched_anchors, t, aligned)
    return _rewrite_of_long(query.text, text, judged, t, kept)


def _rewrite_of_long(query_text: str, text: str, judged: Judgement, t: Thresholds, kept: float | None) -> Judgement:
    """A possible rewrite too long to align, measured as the alignment would be without its
    word order: a rewrite when it keeps ``rewrite`` of the candidate's phrases and, where the
    estimates make it related, its facts agree in place (else a template, still related);
    its figures are then the shares of each text's phrases found in the other. ``kept``:
    the query's share, when already counted."""
    kept = kept_phrases(query_text, text) if kept is None else kept
    template = judged.relation is Relation.RELATED and not facts_agree_in_place(query_text, text, t.facts)
    if kept < t.rewrite or template:
        return judged._replace(undecided=False)
    return Judgement(Relation.REWRITE, judged.similarity, kept, kept_phrases(text, query_text))


# copy verdicts whose figures may still differ (an exact copy's are the same)
_INEXACT_COPIES = COPY_RELATIONS - {Relation.EXACT}


def _templates_in_place(
    query: Fingerprint,
    candidates: Sequence[Candidate],
    screened: Screened,
    judged_all: Sequence[Judgement],
    thresholds: Thresholds,
    texts: Mapping[str, str] | None,
) -> tuple[set[str], list[str]]:
    """The clusters of which the query is a template, and the internal ids whose texts
    that needs. Figures that agree as sets may be small numbers that collide (a template's
    "7" where the story said "3", and a "7" elsewhere in the story), so a copy with
    figures replaced (``_figures_replaced``) has its facts compared in place
    (``facts_agree_in_place``, any length; the estimates stand). A cluster is one story:
    only its most similar copy is looked at, and its other copies follow, so a story
    copied hundreds of times costs one comparison."""
    leads: dict[str, Candidate] = {}
    for k in sorted(range(len(screened)), key=lambda k: -screened[k][1]):
        judged = judged_all[k]
        if judged.relation in _INEXACT_COPIES and not judged.undecided:
            cand = candidates[screened[k][0]]
            leads.setdefault(cand.cluster_id, cand)
    templates: set[str] = set()
    needed: list[str] = []
    for cluster_id, cand in leads.items():
        if not _figures_replaced(query, cand):
            continue
        if texts and cand.iid in texts:
            if not facts_agree_in_place(query.text, texts[cand.iid], thresholds.facts):
                templates.add(cluster_id)
        else:
            needed.append(cand.iid)
    return templates, needed


def verify(
    query: Fingerprint,
    candidates: Sequence[Candidate],
    searched_anchors: int,
    thresholds: Thresholds,
    texts: Mapping[str, str] | None = None,
) -> list[Match]:
    """Verified matches: copies first, then related texts, each by similarity (ties by id).
    ``texts`` (cleaned text by internal id) settles the undecided candidates."""
    return examine(query, candidates, searched_anchors, thresholds, texts)[0]


def sort_matches(matches: list[Match]) -> list[Match]:
    """Copies first, then related texts, each by similarity (ties by id, for stable answers)."""
    return sorted(matches, key=lambda m: (_RANK[m.relation], -m.similarity, m.id))


def overall_relation(matches: Sequence[Match]) -> Relation:
    """The incoming article's relation: that of its strongest match, or ``new``."""
    return matches[0].relation if matches else Relation.NEW
