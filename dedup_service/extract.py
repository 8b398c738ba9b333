"""Pure HTML-to-article extraction with trafilatura: main text and metadata, no chrome."""

from __future__ import annotations

from dataclasses import dataclass

import trafilatura
from trafilatura.settings import Document


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str
    title: str | None
    published_at: str | None
    site: str | None


def extract_html(html: str, url: str | None = None) -> Extracted:
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)
    if not isinstance(doc, Document):
        return Extracted("", None, None, None)
    return Extracted(
        text=doc.text or "",
        title=doc.title or None,
        published_at=doc.date or None,
        site=doc.sitename or doc.hostname or None,
    )
