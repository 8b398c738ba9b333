"""Pure text normalization: the canonical form that shingles and exact-match hashes see."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import NamedTuple

import xxhash

from .native import fast

# character -> replacement; no replacement holds a mapped character, so replacing them one
# after another is the same as translating with the table
CHAR_MAP = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u2035\u2039\u203a\u0060\u00b4", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58", "-"),
    **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", ""),
    "\u2026": "...",
}
# the quotes and dashes of CHAR_MAP that become one ASCII character: text translated with
# these keeps its offsets ("monitor’s" is then one token, as "monitor's" is)
QUOTES_AND_DASHES = str.maketrans({k: v for k, v in CHAR_MAP.items() if len(v) == 1})

# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, kana and other CJK
# symbols, Bopomofo, Han. A run of them between two punctuation marks is a clause, not a word,
# so each of their characters is a token and shingles there are character n-grams: one
# changed character then changes k shingles, as one changed word does elsewhere. (Hangul is
# written with spaces.) The native core's is_solo holds the same ranges.
SOLO_SCRIPTS = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3000-\u312f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\U00020000-\U0003ffff"
)


def token_pattern(joiners: str) -> re.Pattern[str]:
    """Tokens: a word character of a solo script alone, else word characters with single
    ``joiners`` between them kept inside the token ("don't", "u.s", "2,400")."""
    joined = rf"[^\W{SOLO_SCRIPTS}]"
    return re.compile(rf"(?=\w)[{SOLO_SCRIPTS}]|{joined}+(?:[{re.escape(joiners)}]{joined}+)*")


_WORD = token_pattern("'.,")
# digits of every script as ASCII ("١٢٣" and "१२३" are 123), and the marks that writers of
# Arabic (tatweel, harakat) and Hebrew (points) add or leave out at will, dropped
_DIGITS = {cp: str(unicodedata.decimal(chr(cp))) for cp in range(0x80, 0x20000) if chr(cp).isdecimal()}  # none above
_SCRIPT_FOLD: dict[int, str | None] = {
    **_DIGITS,
    **dict.fromkeys([0x640, *range(0x64B, 0x660), 0x670], None),
    **dict.fromkeys([*range(0x591, 0x5BE), 0x5BF, 0x5C1, 0x5C2, 0x5C4, 0x5C5, 0x5C7], None),
}


class Line(NamedTuple):
    """One non-empty line of an article: as written, normalized, and its 8-byte key."""

    text: str
    normalized: str
    key: bytes


def unify(text: str) -> str:
    """NFKC, unified quotes and dashes; case, whitespace and line breaks as they are.

    As ``str.translate`` with ``CHAR_MAP`` would, but a dict lookup per character costs
    about 28 µs on a 1,000-character story with curly quotes; a search for each of the few
    mapped characters (and a replace for those present) costs about 2.
    """
    text = unicodedata.normalize("NFKC", text)
    for char, replacement in CHAR_MAP.items():
        if char in text:
            text = text.replace(char, replacement)
    return text


def fold(text: str) -> str:
    """``unify``, case-folded."""
    return unify(text).casefold()


# the most characters ``fold`` makes of one: U+FDFA, an Arabic ligature, is 18 once NFKC
# (tests/test_production.py checks every code point)
FOLD_EXPANSION = 18


def folded_length_bound(text: str) -> int:
    """At least ``len(fold(text))``, found without folding the text, which for a text of
    expanding characters costs seconds: ASCII is its own length; other text counts each
    distinct character's folded length (folding composes, never lengthens, what the
    characters make alone)."""
    if text.isascii():
        return len(text)
    return sum(len(fold(ch)) * n for ch, n in Counter(text).items())


def fold_script(text: str) -> str:
    """Digits of every script as ASCII digits; Arabic tatweel and harakat, and Hebrew
    points, dropped (the native ``lines`` does this as it collapses a line)."""
    return text if text.isascii() else text.translate(_SCRIPT_FOLD)


def ascii_digits(text: str) -> str:
    """Digits of every script as ASCII digits."""
    return text if text.isascii() else text.translate(_DIGITS)


def normalize(text: str) -> str:
    """NFKC, unified quotes and dashes, case-folded, ``fold_script``, whitespace collapsed."""
    return " ".join(fold_script(fold(text)).split())


def split_lines(text: str) -> list[Line]:
    """The article's lines with words in them, each once, inner whitespace collapsed.

    A line that repeats an earlier one (after normalization) is dropped: scraped pages
    often print the story body twice, once per template, which must not change the article.
    Native when built (the two agree line for line: tests/test_fingerprint.py).
    """
    folded = fold(text)  # one pass over the whole text, usually line for line
    if fast is not None and (rows := fast.lines(text, folded)) is not None:
        return [Line(*row) for row in rows]
    return split_lines_python(text, folded)


def split_lines_python(text: str, folded: str) -> list[Line]:
    raw_lines = text.splitlines()
    folded_lines = folded.splitlines()
    if len(folded_lines) != len(raw_lines):  # a compatibility character folded into a line break
        folded_lines = [fold(raw) for raw in raw_lines]
    seen: set[str] = set()
    lines = []
    h = xxhash.xxh3_64_digest
    for raw, folded_line in zip(raw_lines, folded_lines, strict=True):
        norm = " ".join(fold_script(folded_line).split())
        if norm in seen or not _WORD.search(norm):
            continue
        seen.add(norm)
        lines.append(Line(" ".join(raw.split()), norm, h(norm.encode())))
    return lines


def words(normalized: str) -> list[str]:
    """Word tokens of normalized text (a character each in solo scripts); punctuation is dropped."""
    return _WORD.findall(normalized)
