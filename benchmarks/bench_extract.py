"""HTML extraction: the service (trafilatura plus two rules, see dedup_service/extract.py),
trafilatura with its defaults, and resiliparse, on scraped-page renderings of the
reuters_dev stories, same pages, same run.

The evaluation data is plain text, so each story is rendered into a web page in one of
three site layouts (semantic HTML5 with a cookie banner and a related-stories aside; a
div-only blog theme with "You may also like:" teasers, a newsletter box and comments; an
aggregator page with ads and "READ MORE" links between paragraphs). The chrome is made of
real sentences too: teasers are the leads of other stories, the hardest case for an
extractor. Scored against the story's own words:

- precision / recall: word multiset overlap of the extracted text with the story body;
- clean pages: share with precision >= 0.98 and recall >= 0.95 (no chrome, nothing lost);
- shingle Jaccard: word 5-shingle Jaccard of extracted text and story (what MinHash sees);
- title / date / site: metadata found (resiliparse extracts text only).

    python benchmarks/bench_extract.py [--pages N] [--json FILE]
"""

from __future__ import annotations

import argparse
import html
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from common import load_articles, print_table, write_json

from dedup_service.extract import extract_html
from dedup_service.normalize import split_lines, words

SITES = ("Daily Courier", "Metro Wire Today", "NewsHub Aggregator")
NAV = ["Home", "World", "Business", "Markets", "Technology", "Sport", "Opinion", "Video"]


def paragraphs(text: str) -> list[str]:
    """Reuters copy: a paragraph starts on an indented line; drop the closing 'Reuter'."""
    paras: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip() or line.strip() == "Reuter":
            continue
        if line.startswith((" ", "\t")) or not paras:
            paras.append([])
        paras[-1].append(line.strip())
    return [" ".join(p) for p in paras]


def _teasers(others: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(o["title"].title(), paragraphs(o["text"])[0][:160]) for o in others]


def page_semantic(story: dict[str, Any], others: list[dict[str, Any]], rng: random.Random) -> str:
    e = html.escape
    paras = "".join(f"<p>{e(p)}</p>" for p in paragraphs(story["text"]))
    related = "".join(
        f'<li><a href="/n/{rng.randrange(10**6)}">{e(t)}</a><p>{e(s)}</p></li>' for t, s in _teasers(others)
    )
    nav = "".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in NAV)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{e(story["title"].title())} | {SITES[0]}</title>
<meta property="og:site_name" content="{SITES[0]}">
<meta property="article:published_time" content="{story["date"]}"></head><body>
<div class="cookie-banner">We use cookies to improve your experience on our site. By continuing you accept
our use of cookies. <button>Accept all</button> <button>Manage preferences</button></div>
<header><a href="/" class="logo">{SITES[0]}</a><nav><ul>{nav}</ul></nav></header>
<main><article><h1>{e(story["title"].title())}</h1>
<p class="byline">By Reuters staff <time datetime="{story["date"]}">{story["date"][:10]}</time></p>
{paras}
<div class="share">Share this article: <a href="#">Facebook</a> <a href="#">Twitter</a> <a href="#">Email</a></div>
</article><aside><h2>Related stories</h2><ul>{related}</ul></aside></main>
<footer><p>With 2,400 staff representing 100 nationalities, our partner agency covers the world.</p>
<p>Copyright 2026 {SITES[0]}. All rights reserved. <a href="/privacy">Privacy</a> <a href="/terms">Terms</a></p>
</footer></body></html>"""


def page_divs(story: dict[str, Any], others: list[dict[str, Any]], rng: random.Random) -> str:
    e = html.escape
    paras = "<br><br>".join(e(p) for p in paragraphs(story["text"]))
    teasers = "".join(
        f'<div class="teaser"><a href="/p/{rng.randrange(10**6)}">{e(t)}</a><div class="excerpt">{e(s)}</div></div>'
        for t, s in _teasers(others)
    )
    comments = "".join(
        f'<div class="comment"><b>reader{rng.randrange(999)}</b> {e(s)}</div>'
        for s in ("Great reporting, thanks.", "I do not agree with this at all.", "Where is the source for this?")
    )
    return f"""<html><head><title>{e(story["title"].title())} - {SITES[1]}</title></head><body>
<div id="top-menu">{" | ".join(NAV)}</div>
<div id="wrapper"><div class="post"><div class="post-title">{e(story["title"].title())}</div>
<div class="post-meta">Posted on {story["date"][:10]} by Wire Desk</div>
<div class="post-content">{paras}</div>
<div class="post-share">Connect with us <a href="#">f</a> <a href="#">t</a> <a href="#">in</a></div></div>
<div class="related"><div class="related-title">You may also like:</div>{teasers}</div>
<div class="newsletter">Get the morning briefing in your inbox. <input placeholder="Your email">
<button>Subscribe</button></div>
<div class="comments"><div class="comments-title">3 comments</div>{comments}</div></div>
<div id="footer">{SITES[1]} - All content is property of its respective owners.</div></body></html>"""


def page_aggregator(story: dict[str, Any], others: list[dict[str, Any]], rng: random.Random) -> str:
    e = html.escape
    parts = []
    teasers = _teasers(others)
    for i, p in enumerate(paragraphs(story["text"])):
        parts.append(f"<p>{e(p)}</p>")
        if i % 2 == 1 and teasers:
            t, _ = teasers.pop()
            parts.append(f'<div class="ad">Advertisement</div><p class="readmore"><strong>READ MORE:</strong> '
                         f'<a href="/r/{rng.randrange(10**6)}">{e(t)}</a></p>')  # fmt: skip
    trending = "".join(f"<li>{e(o['title'].title())}</li>" for o in others)
    return f"""<!DOCTYPE html><html><head><title>{e(story["title"].title())}</title>
<meta name="date" content="{story["date"]}"></head><body>
<div class="breadcrumbs"><a href="/">{SITES[2]}</a> &gt; <a href="/business">Business</a></div>
<div class="layout"><div class="col-main"><h1>{e(story["title"].title())}</h1>
<div class="source">Published {story["date"][:10]} via Reuters</div>
{"".join(parts)}
</div><div class="col-side"><h3>Trending now</h3><ol>{trending}</ol></div></div>
<div class="footer">About us | Contact | Advertise with {SITES[2]}</div></body></html>"""


LAYOUTS = (page_semantic, page_divs, page_aggregator)


def _words(text: str) -> list[str]:
    return words(" ".join(line.normalized for line in split_lines(text)))


def _shingles(tokens: list[str], k: int = 5) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + k]) for i in range(max(len(tokens) - k + 1, 1))}


def score_page(extracted: str, body: str) -> tuple[float, float, float]:
    got, want = Counter(_words(extracted)), Counter(_words(body))
    common = sum((got & want).values())
    precision = common / max(sum(got.values()), 1)
    recall = common / max(sum(want.values()), 1)
    a, b = _shingles(_words(extracted)), _shingles(_words(body))
    return precision, recall, len(a & b) / max(len(a | b), 1)


def service_extract(page: str) -> tuple[str, bool, bool, bool]:
    ex = extract_html(page)
    return ex.text, bool(ex.title), bool(ex.published_at), bool(ex.site)


def trafilatura_extract(page: str) -> tuple[str, bool, bool, bool]:
    import trafilatura

    doc = trafilatura.bare_extraction(page, with_metadata=True)
    return doc.text or "", bool(doc.title), bool(doc.date), bool(doc.sitename or doc.hostname)


def resiliparse_extract(page: str) -> tuple[str, bool, bool, bool]:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(page, main_content=True), False, False, False


EXTRACTORS: dict[str, Callable[[str], tuple[str, bool, bool, bool]]] = {
    "service (trafilatura + link and headline rules)": service_extract,
    "trafilatura, defaults": trafilatura_extract,
    "resiliparse main_content": resiliparse_extract,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=600, help="pages rendered (split over the three layouts)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    rng = random.Random(11)
    stories = [a for a in load_articles() if len(paragraphs(a["text"])) >= 3]
    picked = rng.sample(stories, min(args.pages, len(stories)))
    pages = []
    for i, story in enumerate(picked):
        others = rng.sample(stories, 4)
        pages.append((LAYOUTS[i % len(LAYOUTS)](story, others, rng), "\n".join(paragraphs(story["text"]))))
    results: dict[str, dict[str, float]] = {}
    for name, extract in EXTRACTORS.items():
        scores, meta, t0 = [], [], time.perf_counter()
        for page, body in pages:
            text, *found = extract(page)
            scores.append(score_page(text, body))
            meta.append(found)
        ms = (time.perf_counter() - t0) / len(pages) * 1000
        results[name] = {
            "precision": statistics.mean(s[0] for s in scores),
            "recall": statistics.mean(s[1] for s in scores),
            "clean_pages": sum(s[0] >= 0.98 and s[1] >= 0.95 for s in scores) / len(scores),
            "shingle_jaccard": statistics.mean(s[2] for s in scores),
            "title": sum(m[0] for m in meta) / len(meta),
            "date": sum(m[1] for m in meta) / len(meta),
            "site": sum(m[2] for m in meta) / len(meta),
            "ms_per_page": ms,
        }
    rows = [
        [name, f"{r['precision']:.4f}", f"{r['recall']:.4f}", f"{r['clean_pages']:.3f}", f"{r['shingle_jaccard']:.4f}",
         f"{r['title']:.2f} / {r['date']:.2f} / {r['site']:.2f}", f"{r['ms_per_page']:.2f}"]
        for name, r in results.items()
    ]  # fmt: skip
    header = ["extractor", "precision", "recall", "clean pages", "5-shingle Jaccard", "title / date / site", "ms/page"]
    print_table(f"Main-text extraction, {len(pages)} pages in {len(LAYOUTS)} layouts", header, rows)
    write_json(args.json, {"pages": len(pages), "extractors": results})


if __name__ == "__main__":
    main()
