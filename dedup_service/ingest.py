"""Indexing a chunk of articles, read top-down:

1. prepare: text, lines, site chrome out, fingerprint (``prepare``);
2. write and search: one script call writes every article of the chunk and returns each
   one's candidates (``RedisIndex.write``);
3. verify the candidates into matches (``matching``);
4. record the copies: links and cluster merges, in one more call for the chunk (an
   article with a possible copy is marked pending until then, so that a crash in between
   is repaired by the sweep).

``Ingester.ingest`` takes one article (those that arrive together share a chunk, see
``coalesce``); ``ingest_batch`` takes many, and runs a batch of many chunks through the
same stages overlapped (``pipeline``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from . import constants as c
from .candidate import Candidate
from .chrome import SiteChrome
from .classify import COPY_RELATIONS, overall_relation
from .coalesce import Coalescer
from .errors import DedupError, in_place
from .index import RedisIndex
from .matching import Verifier
from .models import Article, Match, Verdict
from .pipeline import ingest_overlapped
from .prepare import Prepared, Preparer
from .records import Encoded, Finish, FinishResult, Found, UpsertResult, Write


@dataclass(frozen=True, slots=True)
class Written:
    """A prepared article as the index took it: the write, what it returned, and the
    verified matches."""

    write: Write
    prep: Prepared
    result: UpsertResult
    matches: list[Match]


@dataclass(frozen=True, slots=True)
class Concluded:
    """The verdicts of written articles, and what the index must record of them: the
    copies of those with any (or with a pending mark), at their verdicts' positions."""

    verdicts: list[Verdict]
    finishes: list[Finish]
    positions: list[int]


class Ingester:
    def __init__(
        self, index: RedisIndex, preparer: Preparer, verifier: Verifier, chrome: SiteChrome, max_batch: int
    ) -> None:
        self.index = index
        self.preparer = preparer
        self.verifier = verifier
        self.chrome = chrome
        self._together: Coalescer[Article, Verdict | DedupError] = Coalescer(
            lambda articles: self.ingest_batch(articles, c.MAX_MATCH_LIMIT), max_batch
        )

    async def ingest(self, article: Article, limit: int = c.DEFAULT_MATCH_LIMIT) -> Verdict:
        """Index one article. Those arriving at the same moment are indexed together, as one
        chunk (a script call for all, not one each; see ``coalesce``)."""
        result = await self._together(article)
        if isinstance(result, DedupError):
            raise result
        return replace(result, matches=result.matches[:limit])

    async def ingest_batch(
        self, items: Sequence[Article | DedupError], limit: int = c.DEFAULT_MATCH_LIMIT
    ) -> list[Verdict | DedupError]:
        """Index items in order (so "first seen" follows the batch); a bad item gets its own
        error and does not stop the others. Redis going away fails the batch (503): what
        was written stays, and sending it again is safe for items with an ``id``."""
        articles = [item for item in items if not isinstance(item, DedupError)]
        if len(articles) <= c.UPSERT_CHUNK:
            results = await self.ingest_chunk(articles, limit)
        else:
            results = await ingest_overlapped(self, articles, limit)
        return in_place(items, results)

    async def ingest_chunk(self, articles: Sequence[Article], limit: int) -> list[Verdict | DedupError]:
        """Index a chunk (at most UPSERT_CHUNK articles) in order; each article gets its
        verdict or its own error."""
        prepared = await self.preparer.prepare_many(articles)
        ready = [p for p in prepared if not isinstance(p, DedupError)]
        verdicts: list[Verdict] = []
        if ready:
            encoded = self.encode(ready)
            results = await self.index.write(encoded)
            written = await self.verified(ready, encoded, results)
            concluded = self.conclude(written, limit)
            verdicts = self.recorded(concluded, await self.index.finish_many(concluded.finishes))
        return in_place(prepared, verdicts)

    def encode(self, ready: Sequence[Prepared]) -> Encoded:
        """The write of prepared articles, ready to send (ids drawn for those without one)."""
        return self.index.encode(
            [Write(p.article.id or uuid.uuid4().hex, p.fingerprint, p.meta, p.article.site, p.chrome_candidates(),
                   p.sent_hash)
             for p in ready]
        )  # fmt: skip

    async def verified(
        self, ready: Sequence[Prepared], encoded: Encoded, results: Sequence[UpsertResult]
    ) -> list[Written]:
        """Written articles with their candidates verified."""
        for result in results:
            self.chrome.learn(result.learnt)
        verified = await self.verifier.matches_of(
            [(p.fingerprint, r.found) for p, r in zip(ready, results, strict=True)]
        )
        return [Written(*parts) for parts in zip(encoded.items, ready, results, verified, strict=True)]

    @staticmethod
    def conclude(written: Sequence[Written], limit: int) -> Concluded:
        """Verdicts, and the copies to record for those with copies or a pending mark."""
        verdicts: list[Verdict] = []
        finishes: list[Finish] = []
        positions: list[int] = []
        for w in written:
            result, matches = w.result, w.matches
            verdict = Verdict(w.write.article_id, overall_relation(matches), matches[:limit], result.cluster_id,
                              result.status)  # fmt: skip
            verdicts.append(verdict)
            copies = copies_of(matches, result.found)
            if result.pending or (copies and not verdict.indexed_before):
                site = w.prep.article.site
                # a line counts towards chrome once per story of the site, not once per copy
                # (without a pending mark, the index has counted them already)
                new_story = (
                    result.pending and site is not None and not any(cand.meta.get("site") == site for cand in copies)
                )
                finishes.append(Finish(result.iid, [cand.iid for cand in copies], site if new_story else None,
                                       w.write.line_keys))  # fmt: skip
                positions.append(len(verdicts) - 1)
        return Concluded(verdicts, finishes, positions)

    def recorded(self, concluded: Concluded, finished: Sequence[FinishResult]) -> list[Verdict]:
        """The verdicts with the clusters their copies were merged into; chrome learnt."""
        verdicts = list(concluded.verdicts)
        for pos, done in zip(concluded.positions, finished, strict=True):
            self.chrome.learn(done.learnt)
            if done.cluster_id is not None:
                verdicts[pos] = replace(verdicts[pos], cluster_id=done.cluster_id)
        return verdicts


def copies_of(matches: Sequence[Match], found: Found) -> list[Candidate]:
    """The candidates that ``matches`` call copies: the links of the story cluster."""
    by_id = {cand.id: cand for cand in found.candidates}
    return [by_id[m.id] for m in matches if m.relation in COPY_RELATIONS]
