"""The typed records that flow between the index (either layout) and the service: what a
write takes and returns, a verdict to record, a stored article, a cluster's members, a
place in the listing of clusters."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .candidate import Candidate
from .fingerprint import Fingerprint
from .minhash import Signature


@dataclass(frozen=True, slots=True)
class Found:
    """Candidates of one search, and how many of the query's anchors were searched."""

    candidates: list[Candidate]
    searched_anchors: int


@dataclass(frozen=True, slots=True)
class Write:
    """One article to index; its site's line keys are counted if it is a new story.
    ``sent_hash`` identifies the text as sent (before site chrome is taken out), so that
    sending an id again with the same text changes nothing (default: the cleaned text's
    hash)."""

    article_id: str
    fingerprint: Fingerprint
    meta: dict[str, str]
    site: str | None = None
    line_keys: Sequence[bytes] = ()
    sent_hash: bytes = b""


@dataclass(frozen=True, slots=True)
class Encoded:
    """Articles to write, as their script calls take them: the call's ARGV in one slot
    (``write_call``), each article's row in a partitioned index (``write_rows``)."""

    items: Sequence[Write]
    args: list[Any]


@dataclass(frozen=True, slots=True)
class Finish:
    """The verdict to record for one indexed article: its copies, and its site's lines."""

    iid: str
    links: Sequence[str]
    site: str | None = None
    line_keys: Sequence[bytes] = ()


@dataclass(frozen=True, slots=True)
class Learnt:
    """A site's lines that its latest story made chrome (carried by enough stories)."""

    site: str
    line_keys: list[bytes]


@dataclass(frozen=True, slots=True)
class UpsertResult:
    status: str  # created | replaced | unchanged | updated (same text, new metadata)
    iid: str
    cluster_id: str
    found: Found  # unverified: the caller verifies, then records the verdict with ``finish``
    learnt: Learnt | None
    # a candidate could be a copy: the verdict must be recorded with ``finish`` (until
    # then the article is pending); else the site's lines were counted already
    pending: bool


@dataclass(frozen=True, slots=True)
class FinishResult:
    cluster_id: str | None  # None when the article is gone
    learnt: Learnt | None


@dataclass(frozen=True, slots=True)
class Stored:
    article: Candidate
    text: str
    ingested_at: float
    found: Found


@dataclass(frozen=True, slots=True)
class Member:
    iid: str
    id: str
    signature: Signature
    text_hash: bytes
    meta: dict[str, str]
    ingested_at: float


@dataclass(frozen=True, slots=True)
class ListingCursor:
    """A place in the listing of clusters by last change: that change's time, as Redis
    wrote the score, and the cluster id (clusters changed at one time are many)."""

    score: str
    cluster_id: str

    def token(self) -> str:
        return base64.urlsafe_b64encode(f"{self.score} {self.cluster_id}".encode()).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str) -> ListingCursor:
        """Raises ValueError for anything ``token()`` did not make."""
        try:
            score, cluster_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(" ")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(token) from exc
        if not math.isfinite(float(score)) or not cluster_id:
            raise ValueError(token)
        return cls(score, cluster_id)


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    cluster_id: str
    size: int
    metas: list[dict[str, str]]
    position: ListingCursor  # where a listing that stops at this cluster goes on
    first: float | None  # ingest time of its earliest member (None in indexes older than that)
