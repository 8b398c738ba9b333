"""Pure language and script identification of an article's cleaned text.

The script is read from the letters themselves (ISO 15924 codes). Where the script names
one language (Hangul: Korean; Han with kana: Japanese; Han alone: Chinese; Thai; Greek;
Hebrew) that is the language; elsewhere (Latin, Cyrillic, Arabic, Devanagari...)
py3langid, a well-kept n-gram classifier of 97 languages, reads the start of the text.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from typing import NamedTuple

import py3langid

# the start of a text says its language; py3langid's cost grows with the length it reads
# (about 160 µs for 200 characters, 420 µs for 600), and 200 characters named the
# language of 99-100% of the articles of every language of the multilingual data
SAMPLE_CHARS = 200
# the blocks of the scripts news is written in: (first code point, last, ISO 15924 script);
# a letter outside them counts for no script
_BLOCKS = (
    (0x0041, 0x024F, "Latn"), (0x0370, 0x03FF, "Grek"), (0x0400, 0x052F, "Cyrl"), (0x0530, 0x058F, "Armn"),
    (0x0590, 0x05FF, "Hebr"), (0x0600, 0x06FF, "Arab"), (0x0750, 0x077F, "Arab"), (0x0900, 0x097F, "Deva"),
    (0x0980, 0x09FF, "Beng"), (0x0B80, 0x0BFF, "Taml"), (0x0E00, 0x0E7F, "Thai"), (0x0E80, 0x0EFF, "Laoo"),
    (0x1000, 0x109F, "Mymr"), (0x10A0, 0x10FF, "Geor"), (0x1100, 0x11FF, "Hang"), (0x1200, 0x139F, "Ethi"),
    (0x1780, 0x17FF, "Khmr"), (0x1E00, 0x1EFF, "Latn"), (0x1F00, 0x1FFF, "Grek"), (0x3040, 0x30FF, "Kana"),
    (0x3130, 0x318F, "Hang"), (0x31F0, 0x31FF, "Kana"), (0x3400, 0x4DBF, "Hani"), (0x4E00, 0x9FFF, "Hani"),
    (0xAC00, 0xD7AF, "Hang"), (0xF900, 0xFAFF, "Hani"), (0xFB50, 0xFEFF, "Arab"), (0xFF66, 0xFF9F, "Kana"),
    (0x20000, 0x3FFFF, "Hani"),
)  # fmt: skip
_STARTS = [first for first, _, _ in _BLOCKS]
_LATIN_LETTER = re.compile(r"[^\W\d_\u0250-\U0010ffff]")
_OTHER_LETTER = re.compile(r"[^\W\d_\u0000-\u024f]")
# scripts written by one language (of those news is written in); Han without kana is Chinese
_LANGUAGE_OF_SCRIPT = {"Hang": "ko", "Jpan": "ja", "Hani": "zh", "Thai": "th", "Grek": "el", "Hebr": "he", "Laoo": "lo",
                       "Khmr": "km", "Mymr": "my", "Geor": "ka", "Armn": "hy"}  # fmt: skip


class Language(NamedTuple):
    lang: str | None  # ISO 639-1, None when unknown
    script: str | None  # ISO 15924, None for a text with no letters


def _script_of_letter(ch: str) -> str | None:
    cp = ord(ch)
    i = bisect.bisect_right(_STARTS, cp) - 1
    return _BLOCKS[i][2] if i >= 0 and cp <= _BLOCKS[i][1] else None


def script_of(text: str) -> str | None:
    """The script most of the letters of the text's start (SAMPLE_CHARS) are written in. Japanese mixes
    Han and kana: any kana among Han makes it ``Jpan``; Korean may mix in Han: ``Hang``."""
    sample = text[:SAMPLE_CHARS]
    counts = Counter(s for ch in _OTHER_LETTER.findall(sample) if (s := _script_of_letter(ch)))
    if latin := len(_LATIN_LETTER.findall(sample)):  # most letters of most news: no lookup
        counts["Latn"] += latin
    if not counts:
        return None
    if counts["Kana"] and (counts["Hani"] or counts["Kana"] >= max(counts.values())):
        return "Jpan"
    if counts["Hang"] and counts["Hani"] >= max(counts.values()):
        return "Hang"
    return counts.most_common(1)[0][0]


def warm() -> None:
    """Load py3langid's model now (about a second, on its first use), so that the first
    article does not pay for it."""
    py3langid.classify("warm")


def identify(text: str) -> Language:
    """The language and script of a cleaned text."""
    script = script_of(text)
    if script is None:
        return Language(None, None)
    if lang := _LANGUAGE_OF_SCRIPT.get(script):
        return Language(lang, script)
    lang, _ = py3langid.classify(text[:SAMPLE_CHARS])
    return Language(str(lang), script)
