"""Pure extraction of the facts a duplicate must agree on: figures and names.

Wire templates (earnings tables, bond issues, price postings) share most of their words
with each other and differ only in figures and company names. Two texts are copies of one
story only when the figures and names of the shorter one reappear in the longer one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xxhash

from .native import fast
from .normalize import Line, ascii_digits, token_pattern

_TOKEN = token_pattern("'.,/-")
_DIGIT = re.compile(r"\d")
# function words that are capitalized at the start of a sentence, never names
_STOPWORDS = frozenset(
    """a an the and or but if then of in on at to for from by with as into about after before
    over under is are was were be been being it its he she they we you i his her their our
    this that these those there here which who whom what when where why how not no yes also
    mr mrs ms dr said says will would could should may might can has have had do does did""".split()
)
_STOP_BYTES = frozenset(w.encode() for w in _STOPWORDS)

# small numbers that style guides spell out and re-takes re-key as digits ("ten" -> "10");
# "one" is left out: far more often a pronoun ("one of the") than a figure
_NUMBER_WORDS = {
    w: str(n) for n, w in enumerate("two three four five six seven eight nine ten eleven twelve".split(), start=2)
}
_NUMBER_BYTES = {w.encode(): n.encode() for w, n in _NUMBER_WORDS.items()}  # as the native core takes them

U32 = npt.NDArray[np.uint32]
U16 = npt.NDArray[np.uint16]
# share of capitalized words in ordinary cased prose (news: about 0.1-0.4); outside it
# case says nothing about names
_CASED_SHARE = (0.06, 0.6)


def _hashes(tokens: Iterable[str]) -> U32:
    """32-bit hashes of distinct tokens, in order of first appearance."""
    h = xxhash.xxh32_intdigest
    return np.array(list(dict.fromkeys([h(t.encode()) for t in tokens])), dtype=np.uint32)


@dataclass(frozen=True, slots=True)
class Facts:
    """What a copy must agree on, as 32-bit hashes of case-folded tokens."""

    figures: U32  # tokens with a digit, in order of first appearance
    names: U32  # capitalized names, in order of first appearance (the first: the lead's subject)
    # every distinct word as a 16-bit key (see ``vocabulary_keys``), so a name can be
    # looked up whatever its case there
    vocabulary: U16


def facts(lines: list[Line]) -> Facts:
    """Figures, names and vocabulary of the lines as written (see ``facts_python``): native
    when built, the two agree value for value (tests/test_fingerprint.py)."""
    text = "\n".join(line.text for line in lines)
    if fast is None:
        return facts_python(text)
    figures, names, vocabulary = fast.facts(text, _NUMBER_BYTES, _STOP_BYTES, *_CASED_SHARE)
    return Facts(np.frombuffer(figures, np.uint32), np.frombuffer(names, np.uint32),
                 np.frombuffer(vocabulary, np.uint16))  # fmt: skip


def facts_python(text: str) -> Facts:
    """A figure is any token with a digit, or a small number spelled out. A name is a
    capitalized token that is not a function word and never appears in lower case in the
    same text (so "The" and sentence-initial common words drop out, "Phillips" and "OPEC"
    stay). Texts whose case carries no information (all lower case, as old teletype copy,
    or all capitals) get no names: an empty set means "unknown", and the check is skipped.
    """
    tokens = list(dict.fromkeys(_TOKEN.findall(text)))
    has_digit = _DIGIT.search
    # most tokens are plain words: isalpha() settles them without the regex
    # a figure is the number itself: words hyphenated to it ("50-mln-dlr") are not part of it
    figures = [_figure(t) for t in tokens if not t.isalpha() and has_digit(t)]
    words = [t for t in tokens if t.isalpha() or not has_digit(t)]
    folded = [t.casefold() for t in words]
    figures += [n for t in folded if (n := _NUMBER_WORDS.get(t))]
    vocabulary = vocabulary_keys(set(folded))
    capitalized = [t for t in words if t[0].isupper()]
    if not words or not _CASED_SHARE[0] <= len(capitalized) / len(words) <= _CASED_SHARE[1]:
        return Facts(_hashes(figures), _hashes(()), vocabulary)
    lower = {t for t in words if t.islower()}
    names = (t.casefold() for t in capitalized if (low := t.lower()) not in lower and low not in _STOPWORDS)
    return Facts(_hashes(figures), _hashes(names), vocabulary)


def _figure(token: str) -> str:
    """The number a token with a digit states: its parts with digits ("50" of "50-mln-dlr"),
    digits of every script as ASCII."""
    return ascii_digits("-".join(p for p in token.split("-") if _DIGIT.search(p)))


def tokens(text: str) -> list[str]:
    """The tokens facts are read from: words, and figures with their inner punctuation
    ("6-1/8", "2,400", "50-mln-dlr")."""
    return _TOKEN.findall(text)


def fact_keys(tokens: list[str]) -> list[str | None]:
    """For each token (``tokens``) of a text as written (not case-folded): the fact it
    states, by the rules of ``facts_python``: ``"#"`` and the figure ("#2.5", "#50" for
    "50-mln-dlr", and "#10" for "ten"), ``"@"`` and the case-folded name ("@phillips"),
    or None for any other word. Names are looked for only in texts whose case carries
    information."""
    has_digit = _DIGIT.search
    keys: list[str | None] = [None] * len(tokens)
    for i, t in enumerate(tokens):
        if has_digit(t):
            keys[i] = "#" + _figure(t)
        elif n := _NUMBER_WORDS.get(t.casefold()):
            keys[i] = "#" + n
    words = [t for t in tokens if not has_digit(t)]
    capitalized = sum(1 for t in words if t[0].isupper())
    if not words or not _CASED_SHARE[0] <= capitalized / len(words) <= _CASED_SHARE[1]:
        return keys
    lower = {t for t in words if t.islower()}
    for i, t in enumerate(tokens):
        if keys[i] is None and t[0].isupper() and (low := t.lower()) not in lower and low not in _STOPWORDS:
            keys[i] = "@" + t.casefold()
    return keys


def vocabulary_keys(tokens: Iterable[str]) -> U16:
    """The top 16 bits of the tokens' hashes, sorted, each once: a vocabulary of a few
    hundred words then costs 2 bytes a word in the index, and a word absent from it is
    found by chance with probability (distinct keys) / 65536, well under 1%: for a share
    of names, noise."""
    h = xxhash.xxh32_intdigest
    return np.array(sorted({h(t.encode()) >> 16 for t in tokens}), dtype=np.uint16)


def contained_share(small: npt.NDArray[np.unsignedinteger], large: npt.NDArray[np.unsignedinteger]) -> float | None:
    """Share of ``small``'s items found in ``large``; None when ``small`` is empty."""
    if len(small) == 0:
        return None
    # plain sets: these arrays hold tens of items, where numpy's isin is mostly overhead
    return len(set(small.tolist()).intersection(large.tolist())) / len(small)
