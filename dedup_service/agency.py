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
    "Lusa": ("Lusa",),
}
# canonical name -> the agency's own sites: what they publish is the agency's own copy
AGENCY_DOMAINS: dict[str, tuple[str, ...]] = {
    "AFP": ("afp.com",),
    "AP": ("apnews.com", "ap.org"),
    "Reuters": ("reuters.com",),
    "dpa": ("dpa.com", "dpa-international.com"),
    "EFE": ("efe.com",),
    "ANSA": ("ansa.it",),
    "Xinhua": ("xinhuanet.com", "news.cn"),
    "Kyodo": ("kyodonews.net", "kyodonews.jp"),
    "Yonhap": ("yna.co.kr", "yonhapnews.co.kr"),
    "PA": ("pa.media",),
    "UPI": ("upi.com",),
    "Bloomberg": ("bloomberg.com",),
    "TASS": ("tass.com", "tass.ru"),
    "ANI": ("aninews.in",),
    "PTI": ("ptinews.com",),
    "IANS": ("ianslive.in",),
    "AAP": ("aap.com.au",),
    "CP": ("thecanadianpress.com",),
    "Anadolu": ("aa.com.tr",),
    "APA": ("apa.at",),
    "Europa Press": ("europapress.es",),
    "Lusa": ("lusa.pt",),
}
_BY_SPELLING = {s.casefold(): name for name, spellings in AGENCIES.items() for s in spellings}
_ALT = "|".join(sorted((re.escape(s) for s in _BY_SPELLING), key=len, reverse=True))
# "DAMASCUS (AFP) -", "LONDON, March 3 (Reuters) -", "(AP) —"
_DATELINE = re.compile(rf"\((?P<a>{_ALT})\)\s*[-\u2013\u2014:]", re.IGNORECASE)
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
        if m := _DATELINE.search(line[:200]):
            return _canonical(m.group("a"))
    for line in reversed(lines[-_TAIL_LINES:]):
        if len(line) <= 80 and (m := _CREDIT.match(line)):
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
