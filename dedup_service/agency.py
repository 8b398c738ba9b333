"""Pure news-agency attribution from an article's source, dateline and credit lines."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# canonical name -> spellings seen in bylines, datelines and credits
AGENCIES: dict[str, tuple[str, ...]] = {
    "AFP": ("AFP", "Agence France-Presse", "Agence France Presse"),
    "AP": ("AP", "Associated Press", "The Associated Press"),
    "Reuters": ("Reuters", "Reuter", "Thomson Reuters"),
    "dpa": ("dpa", "Deutsche Presse-Agentur"),
    "EFE": ("EFE", "Agencia EFE"),
    "ANSA": ("ANSA",),
    "Xinhua": ("Xinhua",),
    "Kyodo": ("Kyodo", "Kyodo News"),
    "Yonhap": ("Yonhap",),
    "PA": ("PA", "PA Media", "Press Association"),
    "UPI": ("UPI", "United Press International"),
    "Bloomberg": ("Bloomberg",),
    "TASS": ("TASS",),
    "ANI": ("ANI",),
    "PTI": ("PTI", "Press Trust of India"),
    "IANS": ("IANS",),
    "AAP": ("AAP", "Australian Associated Press"),
    "CP": ("The Canadian Press", "Canadian Press"),
    "Anadolu": ("Anadolu", "Anadolu Agency"),
    "APA": ("APA",),
    "Europa Press": ("Europa Press",),
}
_BY_SPELLING = {s.casefold(): name for name, spellings in AGENCIES.items() for s in spellings}
_ALT = "|".join(sorted((re.escape(s) for s in _BY_SPELLING), key=len, reverse=True))
# "DAMASCUS (AFP) -", "LONDON, March 3 (Reuters) -", "(AP) —"
_DATELINE = re.compile(rf"\((?P<a>{_ALT})\)\s*[-\u2013\u2014:]", re.IGNORECASE)
# a credit line on its own: "AFP", "Written By AFP", "By Jane Doe, Reuters", "Reuter", "-- AP"
_CREDIT = re.compile(rf"^(?:[-\u2013\u2014\s]*)(?:(?:written\s+)?by\b.*?[\s,]+)?(?P<a>{_ALT})\s*\.?$", re.IGNORECASE)
# the agency's own copyright or reporting credits: "(Reporting by ...; Editing by ...)"
_REUTERS_CREDIT = re.compile(r"^\(reporting by .*\)$", re.IGNORECASE)
_HEAD_LINES = 3
_TAIL_LINES = 20


def _canonical(spelling: str) -> str:
    return _BY_SPELLING[spelling.casefold()]


def detect(lines: Iterable[str], source: str | None = None) -> str | None:
    """The agency named by ``source``, else by a dateline near the top, else a credit line."""
    if source and source.strip().casefold() in _BY_SPELLING:
        return _canonical(source.strip())
    lines = [line.strip() for line in lines if line.strip()]
    for line in lines[:_HEAD_LINES]:
        if m := _DATELINE.search(line[:200]):
            return _canonical(m.group("a"))
    for line in reversed(lines[-_TAIL_LINES:]):
        if len(line) <= 80 and (m := _CREDIT.match(line)):
            return _canonical(m.group("a"))
        if _REUTERS_CREDIT.match(line):
            return "Reuters"
    return None


def dominant(agencies: Iterable[str | None]) -> str | None:
    """The agency most members of a cluster credit (ties: alphabetical)."""
    counts = Counter(a for a in agencies if a)
    if not counts:
        return None
    return min(counts, key=lambda a: (-counts[a], a))
