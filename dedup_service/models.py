"""Typed payloads that flow between the HTTP/CLI edge, the service and the index."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import constants as c
from .errors import InvalidField, InvalidInput

# metadata sent with an article; what the service finds in its text; what a match shows
META_FIELDS = ("title", "url", "site", "published_at", "source")
FOUND_FIELDS = ("agency", "lang", "script")
MATCH_FIELDS = ("site", "url", "title", "published_at")
ARTICLE_FIELDS = frozenset({"id", "text", "html", *META_FIELDS})
# feeds often call the publication time "date": accepted as its alias (docs/api.md)
_DATE_ALIAS = "date"
ACCEPTED_FIELDS = ARTICLE_FIELDS | {_DATE_ALIAS}


class Relation(enum.StrEnum):
    NEW = "new"
    EXACT = "exact"
    NEAR_DUPLICATE = "near_duplicate"
    CONTAINED = "contained"
    CONTAINS = "contains"
    REWRITE = "rewrite"
    RELATED = "related"


@dataclass(frozen=True, slots=True)
class Article:
    """An incoming article: exactly one of ``text`` and ``html`` is set."""

    id: str | None
    text: str | None = None
    html: str | None = None
    title: str | None = None
    url: str | None = None
    site: str | None = None
    published_at: str | None = None
    source: str | None = None

    def meta(self) -> dict[str, str]:
        return {k: v for k in META_FIELDS if (v := getattr(self, k)) is not None}


@dataclass(frozen=True, slots=True)
class Match:
    id: str
    similarity: float
    containment: float  # share of the incoming article's words found in the match
    relation: Relation
    cluster_id: str
    meta: dict[str, str] = field(default_factory=dict)
    coverage: float = 0.0  # share of the match's words found in the incoming article

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "similarity": round(self.similarity, 4),
            "containment": round(self.containment, 4),
            "coverage": round(self.coverage, 4),
            "relation": self.relation.value,
            "cluster_id": self.cluster_id,
            **{k: self.meta.get(k) for k in MATCH_FIELDS},
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the service says about one article; ``status`` is what happened to the index."""

    id: str | None  # None: a check of an article sent without one
    relation: Relation
    matches: list[Match]
    cluster_id: str | None
    status: str  # created | replaced | unchanged | updated (same text, new metadata) | checked

    @property
    def indexed_before(self) -> bool:
        """This id was indexed with this text already: answered 200, not 201."""
        return self.status in ("unchanged", "updated")

    def to_json(self) -> dict[str, Any]:
        return {
            **({"id": self.id} if self.id is not None else {}),
            "relation": self.relation.value,
            "matches": [m.to_json() for m in self.matches],
            "cluster_id": self.cluster_id,
        }


def iso_time(seconds: float) -> str:
    """Unix seconds as ISO 8601 in UTC, to the second ("2026-12-06T05:40:00Z")."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_timestamp(value: str) -> float:
    """Unix seconds of an ISO 8601 date or date-time; one without a zone is taken as UTC.
    Raises ValueError when ``value`` is not ISO 8601."""
    stamp = datetime.fromisoformat(value)
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def _optional_str(obj: dict[str, Any], name: str, max_len: int | None = None) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField(name, f"must be a string, got {type(value).__name__}")
    if max_len is not None and len(value) > max_len:
        raise InvalidField(name, f"must be at most {max_len} characters")
    return value


def parse_article(obj: Any) -> Article:
    """Validate one article object from JSON; errors name the offending field."""
    if not isinstance(obj, dict):
        raise InvalidInput(f"an article must be a JSON object, got {type(obj).__name__}")
    if unknown := sorted(set(obj) - ACCEPTED_FIELDS):
        raise InvalidField(", ".join(unknown), f"unknown field{'s' if len(unknown) > 1 else ''}; an article has "
                           "id, text or html, title, url, site, published_at (or date) and source")  # fmt: skip
    if _DATE_ALIAS in obj and "published_at" in obj:
        raise InvalidField(_DATE_ALIAS, "give published_at or date, not both")
    text = _optional_str(obj, "text")
    html = _optional_str(obj, "html")
    if text is None and html is None:
        raise InvalidField("text", "required (or html)")
    if text is not None and html is not None:
        raise InvalidField("text", "give either text or html, not both")
    body_field, body = ("text", text) if text is not None else ("html", html)
    if not (body or "").strip():
        raise InvalidField(body_field, "must not be empty")
    if len(body or "") > c.MAX_TEXT_CHARS:
        raise InvalidField(body_field, f"longer than {c.MAX_TEXT_CHARS} characters")
    article_id = _optional_str(obj, "id", c.MAX_ID_LENGTH)
    if article_id is not None and not article_id.strip():
        raise InvalidField("id", "must not be empty")
    when = _DATE_ALIAS if _DATE_ALIAS in obj else "published_at"  # errors name the field as sent
    published_at = _optional_str(obj, when, 64)
    if published_at is not None:
        try:
            published_at = datetime.fromisoformat(published_at).isoformat()
        except ValueError:
            raise InvalidField(when, "must be an ISO 8601 date or date-time") from None
    return Article(
        id=article_id,
        text=text,
        html=html,
        title=_optional_str(obj, "title", 2048),
        url=_optional_str(obj, "url", 4096),
        site=_optional_str(obj, "site", 512),
        published_at=published_at,
        source=_optional_str(obj, "source", 512),
    )
