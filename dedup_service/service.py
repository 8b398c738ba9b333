"""The service: what the API and the CLI ask of the index, each in a few steps; indexing
itself is ``ingest``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from . import constants as c
from .chrome import SiteChrome
from .classify import COPY_RELATIONS, overall_relation
from .clusters import ClusterFilters, ClusterView, cluster_view, recent_clusters
from .config import Settings
from .deliveries import Deliveries
from .diff import Diff, diff
from .errors import DedupError, NotFound
from .fingerprint import Fingerprint, Fingerprinter
from .index import RedisIndex
from .ingest import Ingester, copies_of
from .matching import Verifier
from .models import Article, Match, Verdict
from .prepare import Preparer
from .records import Found, ListingCursor, Stored
from .thresholds import Thresholds


@dataclass(frozen=True, slots=True)
class StoredView:
    id: str
    cluster_id: str
    meta: dict[str, str]
    matches: list[Match]
    text: str


class Deduplicator:
    def __init__(self, index: RedisIndex, settings: Settings) -> None:
        self.index = index
        self.settings = settings
        layout = index.layout
        self.thresholds = Thresholds(
            near=layout.threshold,
            contained=settings.contained_threshold,
            related=settings.related_threshold,
            facts=settings.facts_threshold,
            shingle_size=layout.shingle_size,
        )
        self.fingerprinter = Fingerprinter(
            layout.num_perm, layout.shingle_size, layout.threshold, layout.seed, layout.anchor_sample
        )
        self.chrome = SiteChrome(index)
        self.preparer = Preparer(self.fingerprinter, self.chrome)
        self.verifier = Verifier(index, self.thresholds)
        self.ingester = Ingester(index, self.preparer, self.verifier, self.chrome, settings.max_batch)
        self.deliveries = Deliveries(index.redis, index.key_prefix)

    async def ingest(self, article: Article, limit: int = c.DEFAULT_MATCH_LIMIT) -> Verdict:
        return await self.ingester.ingest(article, limit)

    async def ingest_batch(
        self, items: Sequence[Article | DedupError], limit: int = c.DEFAULT_MATCH_LIMIT
    ) -> list[Verdict | DedupError]:
        return await self.ingester.ingest_batch(items, limit)

    async def check(self, article: Article, limit: int = c.DEFAULT_MATCH_LIMIT) -> Verdict:
        return (await self.check_explained(article, limit, explain=0))[0]

    async def check_explained(self, article: Article, limit: int, explain: int) -> tuple[Verdict, str, dict[str, Diff]]:
        """The verdict, the cleaned text that was matched, and the passages it shares with
        each of its first ``explain`` matches (see ``diff``)."""
        prep = await self.preparer.prepare(article)
        found = await self.index.query(prep.fingerprint, article.id)
        matches = await self.verifier.matches(prep.fingerprint, found, limit)
        copies = [m for m in matches if m.relation in COPY_RELATIONS]
        cluster_id = copies[0].cluster_id if copies else None
        verdict = Verdict(article.id, overall_relation(matches), matches, cluster_id, "checked")
        explained: dict[str, Diff] = {}
        if explain and matches:
            iid = {cand.id: cand.iid for cand in found.candidates}
            wanted = [m.id for m in matches[:explain]]
            texts = await self.index.texts([iid[m] for m in wanted])
            explained = await _diffs(prep.fingerprint.text, {m: texts[iid[m]] for m in wanted if iid[m] in texts})
        return verdict, prep.fingerprint.text, explained

    async def diff(self, article_id: str, against: str) -> tuple[str, str, Diff]:
        """The cleaned texts of two indexed articles and the passages they share (``diff``)."""
        texts = await self.index.texts([article_id, against], external=True)
        for name in (article_id, against):
            if name not in texts:
                raise NotFound(f"no article with id {name!r}")
        found = await _diffs(texts[article_id], {against: texts[against]})
        return texts[article_id], texts[against], found[against]

    async def get(self, article_id: str, limit: int = c.DEFAULT_MATCH_LIMIT) -> StoredView:
        stored = await self.index.get(article_id)
        if stored is None:
            raise NotFound(f"no article with id {article_id!r}")
        art = stored.article
        matches = await self.verifier.matches(*_stored_query(stored), limit)
        return StoredView(art.id, art.cluster_id, art.meta, matches, stored.text)

    async def repair(self, older_than: float = c.PENDING_GRACE, page: int = 100) -> int:
        """Record the verdicts that a stopped service never recorded: verify each pending
        article's candidates again and link its copies, ``page`` articles at a time until
        none is left. Returns how many were repaired."""
        repaired = 0
        while True:
            pending = await self.index.pending(time.time() - older_than, page)
            done = 0
            for article_id in pending:
                stored = await self.index.get(article_id)
                if stored is None:
                    continue
                fp, found = _stored_query(stored)
                copies = copies_of((await self.verifier.matches_of([(fp, found)]))[0], found)
                await self.index.finish(stored.article.iid, [cand.iid for cand in copies])
                done += 1
            repaired += done
            if len(pending) < page or done == 0:
                return repaired

    async def delete(self, article_id: str) -> None:
        if not await self.index.delete(article_id):
            raise NotFound(f"no article with id {article_id!r}")

    async def cluster(self, cluster_id: str) -> ClusterView:
        return await cluster_view(self.index, self.thresholds, cluster_id)

    async def recent_clusters(
        self, filters: ClusterFilters, limit: int, after: ListingCursor | None
    ) -> tuple[list[dict[str, Any]], ListingCursor | None]:
        return await recent_clusters(self.index, filters, limit, after)

    async def ready(self) -> bool:
        return await self.index.ping()


async def _diffs(text: str, others: dict[str, str]) -> dict[str, Diff]:
    """``diff`` of ``text`` with each other text, in a thread: difflib takes milliseconds
    for 1,000-word stories (about 100 for degenerate repetitive text)."""

    def run() -> dict[str, Diff]:
        return {name: diff(text, other) for name, other in others.items()}

    return await asyncio.get_running_loop().run_in_executor(None, run)


def _stored_query(stored: Stored) -> tuple[Fingerprint, Found]:
    """An indexed article as a fingerprint and its candidates, ready for verification."""
    art = stored.article
    fp = Fingerprint(stored.text, art.signature, b"", b"", art.text_hash, art.facts, art.record)
    return fp, replace(stored.found, searched_anchors=art.anchors)
