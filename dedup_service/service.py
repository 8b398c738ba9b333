"""Orchestration: article -> fingerprint -> index -> verified matches -> verdict."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace

from . import constants as c
from .classify import Candidate, overall_relation, verify
from .config import Settings
from .errors import ArticleNotFound, InvalidField
from .extract import extract_html
from .fingerprint import Fingerprint, Fingerprinter
from .index import RedisIndex
from .models import Article, Match, Relation, Verdict


@dataclass(frozen=True, slots=True)
class StoredView:
    id: str
    cluster_id: str
    meta: dict[str, str]
    matches: list[Match]


class Deduplicator:
    def __init__(self, index: RedisIndex, settings: Settings) -> None:
        self.index = index
        self.threshold = settings.threshold
        self.fingerprinter = Fingerprinter(
            settings.num_perm, settings.shingle_size, settings.threshold, settings.seed
        )

    async def _prepare(self, article: Article) -> tuple[Article, Fingerprint]:
        if article.html is not None:
            ex = extract_html(article.html, article.url)
            article = replace(
                article,
                text=ex.text,
                html=None,
                title=article.title or ex.title,
                published_at=article.published_at or ex.published_at,
                site=article.site or ex.site,
            )
            field = "html"
        else:
            field = "text"
        text = article.text or ""
        if not text.strip():
            raise InvalidField(field, "no article text found")
        if len(text) > c.EXECUTOR_TEXT_CHARS:
            # long texts cost milliseconds of numpy work: keep the event loop serving
            fp = await asyncio.get_running_loop().run_in_executor(None, self.fingerprinter, text, field)
        else:
            fp = self.fingerprinter(text, field)
        return article, fp

    def _verify(self, fp: Fingerprint, candidates: list[Candidate], limit: int) -> list[Match]:
        return verify(fp, candidates, self.threshold)[:limit]

    async def ingest(self, article: Article, limit: int = c.DEFAULT_MATCH_LIMIT) -> Verdict:
        article, fp = await self._prepare(article)
        article_id = article.id or uuid.uuid4().hex
        result = await self.index.upsert(article_id, fp, article.meta())
        matches = verify(fp, result.candidates, self.threshold)
        cluster_id = result.cluster_id
        if matches and result.status != "unchanged":
            by_id = {cand.id: cand.iid for cand in result.candidates}
            cluster_id = await self.index.link(result.iid, [by_id[m.id] for m in matches]) or cluster_id
        return Verdict(article_id, overall_relation(matches), matches[:limit], cluster_id, result.status)

    async def check(self, article: Article, limit: int = c.DEFAULT_MATCH_LIMIT) -> Verdict:
        article, fp = await self._prepare(article)
        matches = self._verify(fp, await self.index.query(fp, article.id), limit)
        cluster_id = matches[0].cluster_id if matches else None
        return Verdict(article.id or "", overall_relation(matches), matches, cluster_id, "checked")

    async def get(self, article_id: str, limit: int = c.DEFAULT_MATCH_LIMIT) -> StoredView:
        stored = await self.index.get(article_id)
        if stored is None:
            raise ArticleNotFound(f"no article with id {article_id!r}")
        art = stored.article
        fp = Fingerprint("", art.signature, b"", art.text_hash)
        return StoredView(art.id, art.cluster_id, art.meta, self._verify(fp, stored.candidates, limit))

    async def delete(self, article_id: str) -> None:
        if not await self.index.delete(article_id):
            raise ArticleNotFound(f"no article with id {article_id!r}")

    async def ready(self) -> bool:
        return await self.index.ping()


__all__ = ["Deduplicator", "Relation", "StoredView"]
