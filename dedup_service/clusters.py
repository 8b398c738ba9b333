"""Story clusters as the API shows them: one cluster with its original and members, and
the listing of clusters by last change, page by page."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import constants as c
from .agency import dominant, is_own_copy
from .candidate import Candidate, pack_record
from .classify import COPY_RELATIONS, verify
from .errors import NotFound
from .features import Facts
from .fingerprint import Fingerprint
from .index import RedisIndex
from .models import FOUND_FIELDS, MATCH_FIELDS, Relation, iso_time, iso_timestamp
from .records import ClusterSummary, ListingCursor
from .thresholds import Thresholds

_NONE = np.empty(0, dtype=np.uint32)
_NO_FACTS = Facts(_NONE, _NONE, np.empty(0, dtype=np.uint16))


@dataclass(frozen=True, slots=True)
class ClusterFilters:
    """What a cluster listing keeps: changed since ``since`` (Unix seconds), at least
    ``min_size`` members, and (when given, case-insensitive) a member from ``site``, the
    agency and the language of most members."""

    since: float = 0.0
    min_size: int = 2
    site: str | None = None
    agency: str | None = None
    lang: str | None = None

    def listed(self, s: ClusterSummary) -> dict[str, Any] | None:
        """The listing's entry for ``s``, or None when it is filtered out."""
        sites = sorted({m["site"] for m in s.metas if m.get("site")})
        agency = dominant(m.get("agency") for m in s.metas)
        lang = dominant(m.get("lang") for m in s.metas)
        if self.site and self.site.casefold() not in {x.casefold() for x in sites}:
            return None
        for wanted, value in ((self.agency, agency), (self.lang, lang)):
            if wanted and (value or "").casefold() != wanted.casefold():
                return None
        titles = [m["title"] for m in s.metas if m.get("title")]
        return {"cluster_id": s.cluster_id, "size": s.size, "sites": sites, "agency": agency, "lang": lang,
                "title": titles[0] if titles else None, "updated_at": iso_time(float(s.position.score)),
                "first_seen": iso_time(s.first) if s.first is not None else None}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ClusterView:
    cluster_id: str
    size: int
    members: list[dict[str, Any]]
    sites: list[str]
    original: dict[str, Any]
    agency: str | None

    def to_json(self) -> dict[str, Any]:
        return {"cluster_id": self.cluster_id, "size": self.size, "agency": self.agency, "sites": self.sites,
                "original": self.original, "members": self.members}  # fmt: skip


def _published_key(meta: dict[str, str], ingested_at: float) -> tuple[float, bool, float]:
    """Sort key for "first seen": publish time when known; where that does not decide, the
    agency's own copy before its republications; then ingest time."""
    try:
        published = iso_timestamp(meta.get("published_at") or "")
    except ValueError:
        published = math.inf
    return (published, not is_own_copy(meta), ingested_at)


async def cluster_view(index: RedisIndex, thresholds: Thresholds, cluster_id: str) -> ClusterView:
    """A story cluster: its members sorted by first seen, each one's relation to the
    original (the first), its sites and its agency."""
    size, members = await index.cluster(cluster_id, c.MAX_CLUSTER_MEMBERS)
    if not members:
        raise NotFound(f"no cluster with id {cluster_id!r}")
    members.sort(key=lambda m: (_published_key(m.meta, m.ingested_at), m.id))
    original = members[0]
    fp = Fingerprint("", original.signature, b"", b"", original.text_hash, _NO_FACTS,
                     pack_record(original.signature, _NO_FACTS))  # fmt: skip
    rows = []
    for m in members:
        relation, kept = "original", 1.0
        if m is not original:
            cand = Candidate.of(m.iid, m.id, m.signature, m.text_hash, m.meta, cluster_id, _NO_FACTS)
            found = verify(fp, [cand], 0, thresholds)
            # reversed: the member's relation to the original, not the original's to it
            reverse = {Relation.CONTAINED: Relation.CONTAINS, Relation.CONTAINS: Relation.CONTAINED}
            copied = found and found[0].relation in COPY_RELATIONS
            relation = reverse.get(found[0].relation, found[0].relation).value if copied else "linked"
            # the estimated share of the original's words the member holds
            kept = round(found[0].containment, 4) if found else 0.0
        rows.append({"id": m.id, "relation": relation, "kept": kept, "ingested_at": iso_time(m.ingested_at),
                     **_public_meta(m.meta)})  # fmt: skip
    sites = sorted({m.meta["site"] for m in members if m.meta.get("site")})
    agency = dominant(m.meta.get("agency") for m in members)
    return ClusterView(cluster_id, size, rows, sites, rows[0], agency)


async def recent_clusters(
    index: RedisIndex, filters: ClusterFilters, limit: int, after: ListingCursor | None
) -> tuple[list[dict[str, Any]], ListingCursor | None]:
    """Up to ``limit`` clusters that pass ``filters``, most recently changed first,
    after ``after``; and where the listing goes on (None: nothing left). One request
    scans at most MAX_CLUSTER_PAGES pages: a sparse filter can answer with fewer than
    ``limit`` clusters, and a cursor to go on."""
    out: list[dict[str, Any]] = []
    for _ in range(c.MAX_CLUSTER_PAGES):
        after, summaries = await index.recent_clusters(
            filters.since, after, c.CLUSTER_PAGE, filters.min_size, c.CLUSTER_SAMPLE
        )
        for s in summaries:
            if (listed := filters.listed(s)) is not None:
                out.append(listed)
                if len(out) >= limit:
                    return out, s.position
        if after is None:
            break
    return out, after


def _public_meta(meta: dict[str, str]) -> dict[str, str | None]:
    return {k: meta.get(k) for k in (*MATCH_FIELDS, "source", *FOUND_FIELDS)}
