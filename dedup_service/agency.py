"""Pure news-agency attribution from an article's source, dateline and credit lines."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Iterable
from importlib import resources

from .normalize import SOLO_SCRIPTS

# canonical name -> spellings seen in bylines, datelines and credits, and -> the agency's own
# sites (what they publish is the agency's own copy); the table is data, kept in agencies.toml
_TABLE = tomllib.loads(resources.files(__package__).joinpath("agencies.toml").read_text("utf-8"))
AGENCIES: dict[str, tuple[str, ...]] = {name: tuple(entry["spellings"]) for name, entry in _TABLE.items()}
AGENCY_DOMAINS: dict[str, tuple[str, ...]] = {name: tuple(entry["sites"]) for name, entry in _TABLE.items()}
_BY_SPELLING = {s.casefold(): name for name, spellings in AGENCIES.items() for s in spellings}
_ALT = "|".join(sorted((re.escape(s) for s in _BY_SPELLING), key=len, reverse=True))
# spellings in scripts written without spaces: no word boundary sets them apart
_CJK_ALT = "|".join(sorted((re.escape(s) for s in _BY_SPELLING if re.search(f"[{SOLO_SCRIPTS}]", s)), key=len,
                           reverse=True))  # fmt: skip
# Chinese wire services (新华社, 新华网) open with their name, place, date and 电 ("cabled")
_WIRE_ALT = "|".join(re.escape(s) for s in _BY_SPELLING if s.endswith(("社", "网")))
_DATELINE = re.compile(
    rf"\((?P<a>{_ALT})\)\s*\.?\s*[-\u2013\u2014:]"  # "DAMASCUS (AFP) -", "(AP) —", "(EFE).-", "(أ ف ب) -"
    rf"|\([^()=]{{1,24}}=\s*(?P<b>{_ALT})\)"  # "(서울=연합뉴스)"
    rf"|【[^】]{{0,12}}?(?P<c>{_CJK_ALT})】"  # "【東京共同】"
    rf"|^[据據]?(?P<d>{_WIRE_ALT})(?:[^\s，。]{{0,16}}?电|消息)",  # "新华社北京12月4日电", "据新华社消息"
    re.IGNORECASE,
)
# a credit line on its own: "AFP", "Written By AFP", "By Jane Doe, Reuters", "Reuter", "-- AP",
# "With AFP", "Avec AFP", "Con EFE", "Mit dpa", "Com Lusa", "(EFE)", "© AFP", "© dpa-infocom",
# "AFP contributed to this report."
_CREDIT = re.compile(
    rf"^[-\u2013\u2014\s]*(?:(?:written\s+)?by\b.*?[\s,]+|(?:with|avec|con|mit|com)\s+(?:l')?|\(|©\s*)?"
    rf"(?P<a>{_ALT})(?:-infocom)?\)?(?:\s+contributed\s+to\s+this\s+report)?\s*\.?$",
    re.IGNORECASE,
)
# the agency's own copyright or reporting credits: "(Reporting by ...; Editing by ...)"
_REUTERS_CREDIT = re.compile(r"^\(reporting by .*\)$", re.IGNORECASE)
_HEAD_LINES = 3
_TAIL_LINES = 20


def _canonical(spelling: str) -> str:
    return _BY_SPELLING[spelling.casefold()]


def _host(site: str) -> str:
    """ "https://www.afp.com/en/x" -> "afp.com"."""
    host = site.strip().casefold().split("://")[-1].split("/")[0].split(":")[0]
    return host.removeprefix("www.")


_BY_DOMAIN = {d: name for name, domains in AGENCY_DOMAINS.items() for d in domains}


def agency_of_site(site: str | None) -> str | None:
    """The agency whose own site ``site`` is (a domain of ``AGENCY_DOMAINS`` or a subdomain)."""
    if not site:
        return None
    parts = _host(site).split(".")
    return next((_BY_DOMAIN[d] for i in range(len(parts) - 1) if (d := ".".join(parts[i:])) in _BY_DOMAIN), None)


def detect(lines: Iterable[str], source: str | None = None, site: str | None = None) -> str | None:
    """The agency named by ``source``, else whose own site ``site`` is, else named by a
    dateline near the top, else by a credit line."""
    if source and source.strip().casefold() in _BY_SPELLING:
        return _canonical(source.strip())
    if by_site := agency_of_site(site):
        return by_site
    lines = [line.strip() for line in lines if line.strip()]
    for line in lines[:_HEAD_LINES]:
        # NFKC: full-width brackets and letters ("（共同通信）") as the patterns have them
        if m := _DATELINE.search(unicodedata.normalize("NFKC", line[:200])):
            return _canonical(next(a for a in m.groups() if a))
    tail = [unicodedata.normalize("NFKC", line) for line in lines[-_TAIL_LINES:] if len(line) <= 80]
    for line in reversed(tail):
        if m := _CREDIT.match(line):
            return _canonical(m.group("a"))
        if _REUTERS_CREDIT.match(line):
            return "Reuters"
    return None


def is_own_copy(meta: dict[str, str]) -> bool:
    """Whether an article is its agency's own copy: published on the agency's own site,
    or, with no site given, sent with the agency as its source (a wire feed)."""
    agency = meta.get("agency")
    if not agency:
        return False
    if site := meta.get("site"):
        return agency_of_site(site) == agency
    source = (meta.get("source") or "").strip().casefold()
    return _BY_SPELLING.get(source) == agency


def dominant(agencies: Iterable[str | None]) -> str | None:
    """The agency most members of a cluster credit (ties: alphabetical)."""
    counts = Counter(a for a in agencies if a)
    if not counts:
        return None
    return min(counts, key=lambda a: (-counts[a], a))
