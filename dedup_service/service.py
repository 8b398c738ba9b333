"""Orchestration: article -> cleaned lines -> fingerprint -> index -> verified matches."""

from __future__ import annotations

import asyncio
import collections
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import xxhash

from . import constants as c
from .agency import detect, dominant, is_own_copy
from .candidate import Candidate, pack_record
from .chrome import SiteChrome
from .classify import COPY_RELATIONS, Thresholds, examine, overall_relation, verify
from .coalesce import Coalescer
from .config import Settings
from .errors import DedupError, InvalidField, NotFound
from .extract import extract_html
from .features import Facts
from .fingerprint import Fingerprint, Fingerprinter
from .index import (
    ClusterSummary,
    Encoded,
    Finish,
    FinishResult,
    Found,
    ListingCursor,
    RedisIndex,
    Stored,
    UpsertResult,
    Write,
)
from .language import identify
from .models import FOUND_FIELDS, MATCH_FIELDS, Article, Match, Relation, Verdict, iso_timestamp
from .normalize import FOLD_EXPANSION, Line, folded_length_bound, split_lines
from .tasks import abandon

_NONE = np.empty(0, dtype=np.uint32)
_NO_FACTS = Facts(_NONE, _NONE, np.empty(0, dtype=np.uint16))


@dataclass(frozen=True, slots=True)
class Prepared:
    article: Article
    lines: list[Line]  # every line, chrome included (credits are often chrome)
    fingerprint: Fingerprint
    meta: dict[str, str]


@dataclass(frozen=True, slots=True)
class Written:
    """A prepared article as the index took it: the write (its id, its chrome-candidate
    line keys), what the write returned, and its verified matches."""

    write: Write
    prep: Prepared
    result: UpsertResult
    matches: list[Match]


@dataclass(frozen=True, slots=True)
class StoredView:
    id: str
    cluster_id: str
    meta: dict[str, str]
    matches: list[Match]
    text: str


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
                "title": titles[0] if titles else None}  # fmt: skip


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


class Deduplicator:
    def __init__(self, index: RedisIndex, settings: Settings) -> None:
        self.index = index
        self.settings = settings
        self.thresholds = Thresholds(
            near=settings.threshold,
            contained=settings.contained_threshold,
            related=settings.related_threshold,
            facts=settings.facts_threshold,
            shingle_size=settings.shingle_size,
        )
        self.fingerprinter = Fingerprinter(settings.num_perm, settings.shingle_size, settings.threshold, settings.seed)
        self.chrome = SiteChrome(index)
        # single-article ingests arriving together share the batch path (see ``coalesce``)
        self._ingest_together: Coalescer[Article, Verdict | DedupError] = Coalescer(
            lambda articles: self.ingest_batch(articles, c.MAX_MATCH_LIMIT), settings.max_batch
        )

    @staticmethod
    async def _lines(article: Article) -> tuple[Article, list[Line], str]:
        """Extract (for html, in a thread: about 12 ms of work) and split into lines; errors
        name the body's field."""
        field = "text"
        if article.html is not None:
            field = "html"
            ex = await asyncio.get_running_loop().run_in_executor(None, extract_html, article.html, article.url)
            article = replace(
                article,
                text=ex.text,
                html=None,
                title=article.title or ex.title,
                published_at=article.published_at or ex.published_at,
                site=article.site or ex.site,
            )
        text = article.text or ""
        if len(text) * FOLD_EXPANSION > c.MAX_TEXT_CHARS:  # it could outgrow the limit once normalized
            await _within_limit_once_folded(text, field)
        if len(text) > c.EXECUTOR_TEXT_CHARS:  # normalizing a long text takes milliseconds: not on the event loop
            lines = await asyncio.get_running_loop().run_in_executor(None, split_lines, text)
        else:
            lines = split_lines(text)
        if not lines:
            raise InvalidField(field, "no article text found" if field == "html" else "contains no words")
        return article, lines, field

    def layout(self) -> dict[str, str]:
        """The settings an index is built with: changing any makes its content unusable."""
        b = self.fingerprinter.banding
        return {"num_perm": str(self.settings.num_perm), "shingle_size": str(self.settings.shingle_size),
                "seed": str(self.settings.seed), "bands": f"{b.bands}x{b.rows}",
                "shard_bits": str(self.settings.shard_bits)}  # fmt: skip

    async def _prepare_many(self, articles: Sequence[Article]) -> list[Prepared | DedupError]:
        """Lines, site chrome (cached per site, see ``chrome``) and fingerprints."""
        staged: list[tuple[Article, list[Line], str] | DedupError] = []
        for article in articles:
            try:
                staged.append(await self._lines(article))
            except DedupError as exc:
                staged.append(exc)
        chrome = await self.chrome.lines(st[0].site for st in staged if not isinstance(st, DedupError) and st[0].site)
        out: list[Prepared | DedupError] = []
        for i, st in enumerate(staged):
            await _yield_now_and_then(i)
            if isinstance(st, DedupError):
                out.append(st)
                continue
            article, lines, field = st
            kept = lines
            if site_chrome := chrome.get(article.site or ""):
                kept = [ln for ln in lines if ln.key not in site_chrome]
                kept = kept or lines  # a text made only of known chrome is still itself
            try:
                fp = await self._fingerprint(kept, field)
            except DedupError as exc:
                out.append(exc)
                continue
            meta = article.meta()
            if agency := detect((line.text for line in lines), article.source, article.site):
                meta["agency"] = agency
            meta |= {k: v for k, v in identify(fp.text)._asdict().items() if v}  # "lang", "script"
            out.append(Prepared(article, lines, fp, meta))
        return out

    async def _fingerprint(self, lines: list[Line], field: str) -> Fingerprint:
        if sum(len(line.text) for line in lines) > c.EXECUTOR_TEXT_CHARS:
            # long texts cost milliseconds of numpy work: keep the event loop serving
            return await asyncio.get_running_loop().run_in_executor(None, self.fingerprinter, lines, field)
        return self.fingerprinter(lines, field)

    async def _prepare(self, article: Article) -> Prepared:
        prep = (await self._prepare_many([article]))[0]
        if isinstance(prep, DedupError):
            raise prep
        return prep

    async def _verify(self, fp: Fingerprint, found: Found, limit: int) -> list[Match]:
        return (await self._verify_all([(fp, found)]))[0][:limit]

    async def _verify_all(self, queries: Sequence[tuple[Fingerprint, Found]]) -> list[list[Match]]:
        """Verified matches of each fingerprint's candidates. Candidates the estimates place
        in the undecided band (see ``classify``) are measured on their stored texts, fetched
        in one call for all."""
        t = self.thresholds
        examined = [examine(fp, found.candidates, found.searched_anchors, t) for fp, found in queries]
        results = [matches for matches, _ in examined]
        unsure = [i for i, (_, iids) in enumerate(examined) if iids]
        if unsure:
            texts = await self.index.texts(sorted({iid for i in unsure for iid in examined[i][1]}))

            def settle() -> list[list[Match]]:
                return [verify(queries[i][0], queries[i][1].candidates, queries[i][1].searched_anchors, t, texts)
                        for i in unsure]  # fmt: skip

            # aligning takes milliseconds (up to about 100 for degenerate texts): off the loop
            settled = await asyncio.get_running_loop().run_in_executor(None, settle)
            for i, matches in zip(unsure, settled, strict=True):
                results[i] = matches
        return results

    async def ingest(self, article: Article, limit: int = c.DEFAULT_MATCH_LIMIT) -> Verdict:
        result = await self._ingest_together(article)
        if isinstance(result, DedupError):
            raise result
        return replace(result, matches=result.matches[:limit])

    async def ingest_batch(
        self, items: Sequence[Article | DedupError], limit: int = c.DEFAULT_MATCH_LIMIT
    ) -> list[Verdict | DedupError]:
        """Index items in order (so "first seen" follows the batch); a bad item gets its own
        error and does not stop the others. Each article is written and its candidates
        found in one step (one script call per UPSERT_CHUNK articles, so an article with no
        possible copy costs one round trip); the candidates are then verified here and the
        copies linked by one more call per chunk. Until then an article with a possible
        copy is marked pending, so a crash in between is repaired by the sweep. Redis going
        away fails the batch (503): what was written stays, and re-sending is safe for
        items with an ``id``."""
        articles = [item for item in items if not isinstance(item, DedupError)]
        prepared: list[Prepared | DedupError] = []
        verdicts: list[Verdict] = []
        finishing: list[tuple[list[int], asyncio.Task[list[FinishResult]]]] = []
        # a pipeline over chunks: each chunk's write starts as soon as the one before it has
        # returned (``WriteChain``, up to BATCH_WRITES_AHEAD chunks ahead), while this
        # process prepares the chunk after and verifies the one before (a verification
        # that must fetch texts waits for them in a task of its own, not holding up the
        # pipeline); verdicts are concluded in order, and Redis records them behind the writes
        sent: collections.deque[tuple[list[Prepared], Encoded]] = collections.deque()
        verifying: collections.deque[asyncio.Task[list[Written]]] = collections.deque()

        async def conclude(at_least: int) -> None:
            while len(verifying) > at_least or (verifying and verifying[0].done()):
                self._conclude(await verifying.popleft(), limit, verdicts, finishing)

        async def receive() -> None:
            ready, encoded = sent.popleft()
            verifying.append(asyncio.create_task(self._verified(ready, encoded, await chain.receive())))

        try:
            async with self.index.chain() as chain:
                for start in range(0, len(articles), c.UPSERT_CHUNK):
                    chunk = await self._prepare_many(articles[start : start + c.UPSERT_CHUNK])
                    prepared += chunk
                    if ready := [p for p in chunk if not isinstance(p, DedupError)]:
                        encoded = self._encode(ready)
                        chain.send(encoded)
                        sent.append((ready, encoded))
                    if len(sent) > c.BATCH_WRITES_AHEAD:
                        await receive()
                    await conclude(at_least=1)
                while sent:
                    await receive()
            await conclude(at_least=0)
            for positions, task in finishing:
                for pos, done in zip(positions, await task, strict=True):
                    self.chrome.learn(done.learnt)
                    if done.cluster_id is not None:
                        verdicts[pos] = replace(verdicts[pos], cluster_id=done.cluster_id)
        finally:
            # when the batch fails: the articles stay pending, and the sweep records their verdicts
            abandon([*verifying, *(task for _, task in finishing)])
        # put verdicts and errors back in the order of the items
        done_verdicts = iter(verdicts)
        per_article = iter(p if isinstance(p, DedupError) else next(done_verdicts) for p in prepared)
        return [item if isinstance(item, DedupError) else next(per_article) for item in items]

    def _conclude(
        self,
        written: list[Written],
        limit: int,
        verdicts: list[Verdict],
        finishing: list[tuple[list[int], asyncio.Task[list[FinishResult]]]],
    ) -> None:
        """Append the verdicts of verified articles, and start the call that records those
        with copies or a pending mark (their positions in ``verdicts`` go with it)."""
        finishes: list[Finish] = []
        positions: list[int] = []
        for w in written:
            result, matches = w.result, w.matches
            verdict = Verdict(w.write.article_id, overall_relation(matches), matches[:limit], result.cluster_id,
                              result.status)  # fmt: skip
            verdicts.append(verdict)
            copies = _copies_of(matches, result.found)
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
        if finishes:
            finishing.append((positions, asyncio.create_task(self.index.finish_many(finishes))))

    def _encode(self, ready: list[Prepared]) -> Encoded:
        """The write of prepared articles, ready to send (ids drawn for those without one)."""
        return self.index.encode(
            [Write(p.article.id or uuid.uuid4().hex, p.fingerprint, p.meta, p.article.site, _chrome_candidates(p.lines),
                   _sent_hash(p.lines))
             for p in ready]
        )  # fmt: skip

    async def _verified(self, ready: list[Prepared], encoded: Encoded, results: list[UpsertResult]) -> list[Written]:
        """Written articles with their candidates verified."""
        for result in results:
            self.chrome.learn(result.learnt)
        verified = await self._verify_all([(p.fingerprint, r.found) for p, r in zip(ready, results, strict=True)])
        return [Written(*parts) for parts in zip(encoded.items, ready, results, verified, strict=True)]

    async def check(self, article: Article, limit: int = c.DEFAULT_MATCH_LIMIT) -> Verdict:
        prep = await self._prepare(article)
        matches = await self._verify(prep.fingerprint, await self.index.query(prep.fingerprint, article.id), limit)
        copies = [m for m in matches if m.relation in COPY_RELATIONS]
        cluster_id = copies[0].cluster_id if copies else None
        return Verdict(article.id, overall_relation(matches), matches, cluster_id, "checked")

    async def get(self, article_id: str, limit: int = c.DEFAULT_MATCH_LIMIT) -> StoredView:
        stored = await self.index.get(article_id)
        if stored is None:
            raise NotFound(f"no article with id {article_id!r}")
        art = stored.article
        return StoredView(art.id, art.cluster_id, art.meta, await self._stored_matches(stored, limit), stored.text)

    async def _stored_matches(self, stored: Stored, limit: int) -> list[Match]:
        """Matches of an indexed article, verified from what the index keeps of it."""
        return await self._verify(*self._stored_view(stored), limit)

    @staticmethod
    def _stored_view(stored: Stored) -> tuple[Fingerprint, Found]:
        """An indexed article as a fingerprint and its candidates, ready for verification."""
        art = stored.article
        fp = Fingerprint(stored.text, art.signature, b"", b"", art.text_hash, art.facts, art.record)
        return fp, replace(stored.found, searched_anchors=art.anchors)

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
                fp, found = self._stored_view(stored)
                copies = _copies_of((await self._verify_all([(fp, found)]))[0], found)
                await self.index.finish(stored.article.iid, [cand.iid for cand in copies])
                done += 1
            repaired += done
            if len(pending) < page or done == 0:
                return repaired

    async def delete(self, article_id: str) -> None:
        if not await self.index.delete(article_id):
            raise NotFound(f"no article with id {article_id!r}")

    async def cluster(self, cluster_id: str) -> ClusterView:
        size, members = await self.index.cluster(cluster_id, c.MAX_CLUSTER_MEMBERS)
        if not members:
            raise NotFound(f"no cluster with id {cluster_id!r}")
        members.sort(key=lambda m: (_published_key(m.meta, m.ingested_at), m.id))
        original = members[0]
        fp = Fingerprint("", original.signature, b"", b"", original.text_hash, _NO_FACTS,
                         pack_record(original.signature, _NO_FACTS))  # fmt: skip
        rows = []
        for m in members:
            relation = "original"
            if m is not original:
                cand = Candidate.of(m.iid, m.id, m.signature, m.text_hash, m.meta, cluster_id, _NO_FACTS)
                found = [match.relation for match in verify(fp, [cand], 0, self.thresholds)]
                # reversed: the member's relation to the original, not the original's to it
                reverse = {Relation.CONTAINED: Relation.CONTAINS, Relation.CONTAINS: Relation.CONTAINED}
                relation = reverse.get(found[0], found[0]).value if found and found[0] in COPY_RELATIONS else "linked"
            rows.append({"id": m.id, "relation": relation, **_public_meta(m.meta)})
        sites = sorted({m.meta["site"] for m in members if m.meta.get("site")})
        agency = dominant(m.meta.get("agency") for m in members)
        return ClusterView(cluster_id, size, rows, sites, rows[0], agency)

    async def recent_clusters(
        self, filters: ClusterFilters, limit: int, after: ListingCursor | None
    ) -> tuple[list[dict[str, Any]], ListingCursor | None]:
        """Up to ``limit`` clusters that pass ``filters``, most recently changed first,
        after ``after``; and where the listing goes on (None: nothing left). One request
        scans at most MAX_CLUSTER_PAGES pages: a sparse filter can answer with fewer than
        ``limit`` clusters, and a cursor to go on."""
        out: list[dict[str, Any]] = []
        for _ in range(c.MAX_CLUSTER_PAGES):
            after, summaries = await self.index.recent_clusters(
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

    async def ready(self) -> bool:
        return await self.index.ping()


def _chrome_candidates(lines: Sequence[Line]) -> list[bytes]:
    """Keys of the lines that may become site chrome: not those that run on into the next
    line (hard-wrapped copy, whose next line starts in lower case), which are pieces of a
    sentence, however often a site's stories repeat them ("Treasury Secretary James
    Baker said")."""
    ends = [nxt.text[:1].islower() for nxt in lines[1:]] + [False]
    return [ln.key for ln, runs_on in zip(lines, ends, strict=True) if not runs_on]


def _sent_hash(lines: Sequence[Line]) -> bytes:
    """The text as sent, chrome included, normalized as words are: what decides that an
    id sent again carries the same text (learnt chrome would move the cleaned text's hash)."""
    return xxhash.xxh3_128_digest(" ".join(line.normalized for line in lines).encode())


async def _within_limit_once_folded(text: str, field: str) -> None:
    """Refuse a text that normalization would make longer than MAX_TEXT_CHARS (NFKC makes
    up to 18 characters of one), counted a slice at a time with the event loop served in
    between: a few milliseconds each, where folding the text whole could take seconds."""
    total = 0
    for start in range(0, len(text), c.FOLD_BOUND_SLICE):
        total += folded_length_bound(text[start : start + c.FOLD_BOUND_SLICE])
        if total > c.MAX_TEXT_CHARS:
            raise InvalidField(field, f"longer than {c.MAX_TEXT_CHARS} characters once normalized (Unicode NFKC)")
        await asyncio.sleep(0)


async def _yield_now_and_then(i: int) -> None:
    """Let the event loop serve other requests every BATCH_YIELD_EVERY articles of a batch."""
    if i and i % c.BATCH_YIELD_EVERY == 0:
        await asyncio.sleep(0)


def _copies_of(matches: list[Match], found: Found) -> list[Candidate]:
    """The candidates that ``matches`` call copies: the links of the story cluster."""
    by_id = {cand.id: cand for cand in found.candidates}
    return [by_id[m.id] for m in matches if m.relation in COPY_RELATIONS]


def _public_meta(meta: dict[str, str]) -> dict[str, str | None]:
    return {k: meta.get(k) for k in (*MATCH_FIELDS, "source", *FOUND_FIELDS)}
