"""Pure text normalization: the canonical form that shingles and exact-match hashes see."""

from __future__ import annotations

import re
import unicodedata

_CHAR_MAP = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u2035\u2039\u203a\u0060\u00b4", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58", "-"),
        **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", ""),
        "\u2026": "...",
    }
)
_SPACE = re.compile(r"[^\S\n]+")
# a word: letters/digits, with inner apostrophes, dots or commas kept ("don't", "u.s", "2,400")
_WORD = re.compile(r"\w+(?:['.,]\w+)*")


def normalize(text: str) -> str:
    """NFKC, unified quotes and dashes, case-folded, whitespace collapsed, one line per line.

    Lines that repeat an earlier line are dropped: scraped pages often print the story
    body twice (once per template), which must not change what the article is.
    """
    text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP).casefold()
    seen: set[str] = set()
    lines: list[str] = []
    for raw in text.splitlines():
        line = _SPACE.sub(" ", raw).strip()
        if not line:
            continue
        if line in seen:
            continue
        seen.add(line)
        lines.append(line)
    return "\n".join(lines)


def words(normalized: str) -> list[str]:
    """Word tokens of normalized text; punctuation is dropped."""
    return _WORD.findall(normalized)
