"""Pure explanation of a match: the passages two texts share, in order, and what each
holds alone, as character offsets into each text, so that an editor can see a site's
headline, a cut paragraph or a changed figure where it is.

Words are aligned as ``align`` aligns them (case-folded, one script folding, difflib's
matching blocks, order kept); a passage is a run of words with its characters from its
first word's start to its last word's end."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from .features import fact_keys, token_spans
from .normalize import QUOTES_AND_DASHES, fold_script, unify

_KINDS = {"equal": "same", "delete": "only_a", "insert": "only_b", "replace": "changed"}


@dataclass(frozen=True, slots=True)
class Words:
    """A text's words: each one's folded form, its place in the text, and its fact."""

    folded: list[str]
    starts: list[int]
    ends: list[int]
    facts: list[str | None]

    @classmethod
    def of(cls, text: str) -> Words:
        spans = token_spans(text.translate(QUOTES_AND_DASHES))  # the tokens facts are read from
        written = [text[start:end] for start, end in spans]
        folded = [_folded(w) for w in written]
        return cls(folded, [start for start, _ in spans], [end for _, end in spans], fact_keys(written))

    def span(self, i: int, j: int) -> tuple[int, int] | None:
        """Characters of words [i, j), or None when there are none."""
        return (self.starts[i], self.ends[j - 1]) if j > i else None


@dataclass(frozen=True, slots=True)
class Passage:
    kind: str  # same | only_a | only_b | changed
    a: tuple[int, int] | None  # characters [start, end) in text a
    b: tuple[int, int] | None
    words_a: int
    words_b: int
    facts: bool  # a changed passage where either side states a fact (a figure, a name)

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "a": list(self.a) if self.a else None, "b": list(self.b) if self.b else None,
                "words_a": self.words_a, "words_b": self.words_b, "facts": self.facts}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Diff:
    passages: list[Passage]
    kept_a: float  # share of a's words in passages both texts hold
    kept_b: float

    def to_json(self) -> dict[str, object]:
        return {"kept_a": round(self.kept_a, 4), "kept_b": round(self.kept_b, 4),
                "passages": [p.to_json() for p in self.passages]}  # fmt: skip


@lru_cache(maxsize=1 << 16)
def _folded(word: str) -> str:
    """A word as the alignment compares it; remembered, as wire copy repeats its words."""
    return fold_script(unify(word)).casefold()


@lru_cache(maxsize=64)
def _words(text: str) -> Words:
    """``Words.of``, remembered: an article is often compared with several others."""
    return Words.of(text)


def diff(text_a: str, text_b: str) -> Diff:
    """The passages of two texts, in order: shared, on one side only, or changed."""
    a, b = _words(text_a), _words(text_b)
    ops = SequenceMatcher(None, a.folded, b.folded, autojunk=False).get_opcodes()
    passages = []
    for tag, i1, i2, j1, j2 in ops:
        facts = tag == "replace" and any(f is not None for f in (*a.facts[i1:i2], *b.facts[j1:j2]))
        passages.append(Passage(_KINDS[tag], a.span(i1, i2), b.span(j1, j2), i2 - i1, j2 - j1, facts))
    same = sum(p.words_a for p in passages if p.kind == "same")
    return Diff(passages, same / max(len(a.folded), 1), same / max(len(b.folded), 1))
