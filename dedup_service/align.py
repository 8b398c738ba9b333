"""Pure word alignment of two texts: how much of each one the other holds, and whether
their facts disagree where the texts differ.

Sites republish agency copy with edits at its edges and between its paragraphs: their own
headline or standfirst, the dateline dropped or restyled, a credit line, inserted links
and advertising, paragraphs cut. None of these states another fact. A template story
filled in for another company, or with other figures, says Y where the original says X,
in the same place. So facts are compared inside the aligned text only: the matching runs
agree; a run that replaces another is a substitution, except for whole lines that one side
holds and the other lacks (the headline line that took the place of a dateline).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from . import constants as c_
from .features import fact_keys, tokens
from .normalize import fold_script, split_lines, unify


@dataclass(frozen=True, slots=True)
class Tokens:
    """A text's tokens (``features.tokens``; case-folded, for aligning), each one's fact
    key (``fact_keys``), and the span of token positions of the line each one is in."""

    folded: list[str]
    facts: list[str | None]
    line: list[range]

    @classmethod
    def of(cls, text: str) -> Tokens:
        written: list[str] = []
        line: list[range] = []
        for ln in split_lines(text):
            found = tokens(fold_script(unify(ln.text)))
            span = range(len(written), len(written) + len(found))
            written += found
            line += [span] * len(found)
        return cls([w.casefold() for w in written], fact_keys(written), line)

    def stock_lines(self, other: Tokens) -> set[range]:
        """This text's lines of fewer than MIN_COPY_WORDS words that the other text holds
        as a line of its own: a tagline, a section name, an agency blurb, a credit."""
        theirs = {tuple(other.folded[r.start : r.stop]) for r in set(other.line)}
        return {
            r for r in set(self.line) if len(r) < c_.MIN_COPY_WORDS and tuple(self.folded[r.start : r.stop]) in theirs
        }

    def facts_by_place(self) -> dict[tuple[str, str], set[str]]:
        """The facts stated at each place of the text, a place being the words before and
        after them (facts next to each other share their place: "on 4 December 2024 at")."""
        places: dict[tuple[str, str], set[str]] = {}
        words = [i for i, k in enumerate(self.facts) if not k]
        at = 0  # words[at] is the first word after the current position
        for k in self.facts:
            if not k:
                at += 1
                continue
            before = self.folded[words[at - 1]] if at else ""
            after = self.folded[words[at]] if at < len(words) else ""
            places.setdefault((before, after), set()).add(k)
        return places

    def inner(self, start: int, end: int) -> list[int]:
        """Positions of [start, end) that are not in a line lying wholly inside it."""
        return [i for i in range(start, end) if not (self.line[i].start >= start and self.line[i].stop <= end)]


@dataclass(frozen=True, slots=True)
class Alignment:
    share_a: float  # share of A's words aligned with words of B, in order
    share_b: float
    facts_agree: bool  # where the texts differ, the smaller text's facts are not replaced by others
    phrases_a: float  # share of A's distinct 3-word phrases found anywhere in B (reuse, in any order)
    phrases_b: float
    # of the smaller text's words inside sentences that the other text words otherwise,
    # the share that are facts: high for a template (other figures and names in the same
    # sentences), low for a rewrite (the same facts in other words)
    substituted_facts: float


@lru_cache(maxsize=64)
def _tokens(text: str) -> Tokens:
    """``Tokens.of``, remembered: an incoming article is measured against several candidates."""
    return Tokens.of(text)


def kept_phrases(text_a: str, text_b: str) -> float:
    """``phrase_share`` of the two texts: a quarter of the cost of ``align``, which a
    possible rewrite needs only when it keeps enough of the other's phrases."""
    return phrase_share(_tokens(text_a), _tokens(text_b))


def align(
    text_a: str, text_b: str, threshold: float, nearly_all: float, max_words: int = c_.MAX_ALIGNED_WORDS
) -> Alignment | None:
    """Measured, not estimated: an order-keeping alignment of the two word sequences
    (difflib's matching blocks). A re-keyed word or a re-edited sentence costs only its
    own words. None when a text has more than ``max_words`` words: alignment time
    grows with the product of the lengths (up to about 100 ms at the bound, for
    degenerate repetitive texts), and a long text's estimates are precise anyway.

    Facts, of the smaller text: most (``threshold``) of its figures and of its names in
    the aligned text must be the same on the other side, and so must the first of its
    names there (the subject of its lead), unless nearly all (``nearly_all``) are."""
    a, b = _tokens(text_a), _tokens(text_b)
    if max(len(a.folded), len(b.folded)) > max_words:
        return None
    if not a.folded or not b.folded:
        return Alignment(0.0, 0.0, True, 0.0, 0.0, 0.0)
    ops = SequenceMatcher(None, a.folded, b.folded, autojunk=False).get_opcodes()
    aligned = sum(i2 - i1 for tag, i1, i2, _, _ in ops if tag == "equal")
    small, large = (b, a) if len(b.folded) < len(a.folded) else (a, b)  # the smaller text's facts, as in classify
    if small is b:
        ops = [(t, j1, j2, i1, i2) for t, i1, i2, j1, j2 in ops]
    return Alignment(aligned / len(a.folded), aligned / len(b.folded),
                     facts_agree_where_they_differ(small, large, ops, threshold, nearly_all),
                     phrase_share(a, b), phrase_share(b, a),
                     substituted_fact_share(small, large, ops))  # fmt: skip


def facts_agree_in_place(text_a: str, text_b: str, threshold: float) -> bool:
    """Facts compared in place without aligning the words, so at any length: each fact
    against what the other text states in the same place, between the same two words. A
    place that one text has and the other lacks (a headline, a cut paragraph) is no
    disagreement, and small numbers that collide elsewhere in the text do not make a
    template's other figures agree. Facts count once each, as in ``align``: most
    (``threshold``) of the smaller text's figures, and of its names, stated alike."""
    a, b = _tokens(text_a), _tokens(text_b)
    small, large = (b, a) if len(b.folded) < len(a.folded) else (a, b)  # as ``align`` picks them
    mine, theirs = small.facts_by_place(), large.facts_by_place()
    for kind in "#@":
        same: set[str] = set()
        other: set[tuple[frozenset[str], frozenset[str]]] = set()
        for place in mine.keys() & theirs.keys():
            here = {k for k in mine[place] if k[0] == kind}
            there = {k for k in theirs[place] if k[0] == kind}
            same |= here & there
            if here - there and there - here:  # X said here where the other says Y
                other.add((frozenset(here - there), frozenset(there - here)))
        if (same or other) and len(same) / (len(same) + len(other)) < threshold:
            return False
    return True


def phrase_share(a: Tokens, b: Tokens) -> float:
    """Share of A's distinct 3-word phrases that B holds too: a rewrite reorders and
    rewords its source, but keeps some of its phrases verbatim. Phrases of a short line
    that both texts hold whole (``stock_lines``) are not counted as kept."""
    k = c_.ANCHOR_SHINGLE_SIZE
    mine = {tuple(a.folded[i : i + k]) for i in range(len(a.folded) - k + 1)}
    if not mine:
        return 0.0
    theirs = {tuple(b.folded[i : i + k]) for i in range(len(b.folded) - k + 1)}
    stock = {i for r in a.stock_lines(b) for i in r}
    kept = {phrase for i in range(len(a.folded) - k + 1)
            if (phrase := tuple(a.folded[i : i + k])) in theirs and not stock.issuperset(range(i, i + k))}  # fmt: skip
    return len(kept) / len(mine)


Op = tuple[str, int, int, int, int]


def _substitutions(small: Tokens, large: Tokens, ops: Sequence[Op]) -> Iterator[tuple[Op, list[int], list[int]]]:
    """The replace ops inside lines, with the positions on each side that are not whole
    lines (a headline, a credit, a cut paragraph is text on one side, not a substitution)."""
    for op in ops:
        tag, i1, i2, j1, j2 = op
        if tag == "replace" and (inner := small.inner(i1, i2)) and (their_inner := large.inner(j1, j2)):
            yield op, inner, their_inner


def substituted_fact_share(small: Tokens, large: Tokens, ops: Sequence[Op]) -> float:
    """Share of facts among the smaller text's substituted words (see ``Alignment``)."""
    words = facts = 0
    for _, inner, _ in _substitutions(small, large, ops):
        words += len(inner)
        facts += sum(1 for i in inner if small.facts[i])
    return facts / words if words else 0.0


def facts_agree_where_they_differ(
    small: Tokens, large: Tokens, ops: Sequence[Op], threshold: float, nearly_all: float
) -> bool:
    """See ``align``: ``ops`` turn ``small`` into ``large`` (difflib's opcodes). Facts
    count once each, as in ``classify.facts_agree``: the distinct facts stated alike on
    both sides, against the distinct substitutions (these facts here, those there). Where
    one side states facts and the other none, a fact the other text states elsewhere is
    stated alike: a rewrite moves its facts ("on Thursday" at the end of the sentence),
    while a template says Y where the story says X, whatever else the story says."""
    stated = {k for k in small.facts if k}, {k for k in large.facts if k}
    same: dict[str, set[str]] = {"#": set(), "@": set()}
    other: dict[str, set[tuple[tuple[str, ...], tuple[str, ...]]]] = {"#": set(), "@": set()}
    first_name: bool | None = None  # whether the first name in the aligned text is stated alike
    substituted = {op: (inner, their_inner) for op, inner, their_inner in _substitutions(small, large, ops)}
    for op in ops:
        tag, i1, i2, _, _ = op
        if tag == "equal":
            mine, theirs = {k for k in small.facts[i1:i2] if k}, set()
        elif op in substituted:
            inner, their_inner = substituted[op]
            mine = {k for i in inner if (k := small.facts[i])}
            theirs = {k for j in their_inner if (k := large.facts[j])}
        else:
            continue  # text on one side only
        alike = mine if tag == "equal" else mine & theirs
        if not (mine - alike and theirs - alike):
            alike |= (mine & stated[1]) | (theirs & stated[0])
        for kind in "#@":
            same[kind] |= {k for k in alike if k[0] == kind}
            here = tuple(sorted(k for k in mine - alike if k[0] == kind))
            there = tuple(sorted(k for k in theirs - alike if k[0] == kind))
            if here or there:
                other[kind].add((here, there))  # X said where the other says Y
        if first_name is None and (names := [k for i in (range(i1, i2) if tag == "equal" else inner)
                                             if (k := small.facts[i]) and k[0] == "@"]):  # fmt: skip
            first_name = names[0] in alike
    for kind in "#@":
        total = len(same[kind]) + len(other[kind])
        if total and len(same[kind]) / total < threshold:
            return False
    names_total = len(same["@"]) + len(other["@"])
    return first_name is not False or len(same["@"]) / names_total >= nearly_all
