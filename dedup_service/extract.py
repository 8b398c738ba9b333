"""Pure HTML-to-article extraction with trafilatura: main text and metadata, no chrome.

Two rules on top of trafilatura's main-text detection (benchmarks/bench_extract.py
measures them): a line that is mostly link text ("READ MORE: <a>another story</a>", a
teaser list) is navigation, not body; and the headline is metadata, not body, so a first
line that repeats the title is left out (syndicated copies are retitled, and a headline
in the shingles would set every copy apart).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import trafilatura
from trafilatura.settings import Document

# trafilatura writes a link as [text](target) with include_links
_LINK = re.compile(r"\[([^\]]*)\]\([^)\s]*\)")


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str
    title: str | None
    published_at: str | None
    site: str | None


def extract_html(html: str, url: str | None = None) -> Extracted:
    doc = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_links=True, favor_precision=True
    )
    if not isinstance(doc, Document):
        return Extracted("", None, None, None)
    title = doc.title or None
    return Extracted(
        text=body_text(doc.text or "", title),
        title=title,
        published_at=doc.date or None,
        site=doc.sitename or doc.hostname or None,
    )


def body_text(marked: str, title: str | None) -> str:
    """Lines of extracted text (links marked up as [text](target)) without navigation:
    a line whose words are at least half link text goes; other links become their text."""
    lines = []
    for line in marked.splitlines():
        linked = sum(len(m.group(1).split()) for m in _LINK.finditer(line))
        plain = _LINK.sub(r"\1", line)
        if linked and 2 * linked >= len(plain.split()):
            continue
        lines.append(plain)
    if lines and title and " ".join(lines[0].split()).casefold() == " ".join(title.split()).casefold():
        lines = lines[1:]
    return "\n".join(lines)
