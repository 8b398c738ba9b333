"""Articles made ready for the index: their text (extracted from HTML), its lines, the
site's chrome taken out, the fingerprint, and what the text says of itself (agency,
language). No Redis but the site-chrome cache; CPU-heavy work on long texts runs in a
thread, so the event loop keeps serving."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace

import xxhash

from . import constants as c
from .agency import detect
from .chrome import SiteChrome
from .errors import DedupError, InvalidField
from .extract import extract_html
from .fingerprint import Fingerprint, Fingerprinter
from .language import identify
from .models import Article
from .normalize import FOLD_EXPANSION, Line, folded_length_bound, split_lines


@dataclass(frozen=True, slots=True)
class Prepared:
    article: Article
    lines: list[Line]  # every line, chrome included (credits are often chrome)
    fingerprint: Fingerprint  # of the lines that are not the site's chrome
    meta: dict[str, str]  # as sent, with the agency, language and script found

    @property
    def sent_hash(self) -> bytes:
        """The text as sent, chrome included, normalized as words are: what decides that
        an id sent again carries the same text (learnt chrome moves the fingerprint's)."""
        return xxhash.xxh3_128_digest(" ".join(line.normalized for line in self.lines).encode())

    def chrome_candidates(self) -> list[bytes]:
        """Keys of the lines that may become site chrome: not those that run on into the
        next line (hard-wrapped copy, whose next line starts in lower case), which are
        pieces of a sentence, however often a site's stories repeat them ("Treasury
        Secretary James Baker said")."""
        lines = self.lines
        ends = [nxt.text[:1].islower() for nxt in lines[1:]] + [False]
        return [ln.key for ln, runs_on in zip(lines, ends, strict=True) if not runs_on]


class Preparer:
    def __init__(self, fingerprinter: Fingerprinter, chrome: SiteChrome) -> None:
        self.fingerprinter = fingerprinter
        self.chrome = chrome

    async def prepare(self, article: Article) -> Prepared:
        prep = (await self.prepare_many([article]))[0]
        if isinstance(prep, DedupError):
            raise prep
        return prep

    async def prepare_many(self, articles: Sequence[Article]) -> list[Prepared | DedupError]:
        """Each article prepared, or the error that names what is wrong with it."""
        staged: list[tuple[Article, list[Line], str] | DedupError] = []
        for article in articles:
            try:
                staged.append(await article_lines(article))
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
            return await asyncio.get_running_loop().run_in_executor(None, self.fingerprinter, lines, field)
        return self.fingerprinter(lines, field)


async def article_lines(article: Article) -> tuple[Article, list[Line], str]:
    """The article with its text (extracted from html in a thread: about 12 ms of work),
    that text's lines, and the name of the field it came from (errors name it)."""
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
    if len(text) > c.EXECUTOR_TEXT_CHARS:  # normalizing a long text takes milliseconds
        lines = await asyncio.get_running_loop().run_in_executor(None, split_lines, text)
    else:
        lines = split_lines(text)
    if not lines:
        raise InvalidField(field, "no article text found" if field == "html" else "contains no words")
    return article, lines, field


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
