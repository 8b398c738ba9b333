"""Syndication quality: site copies of agency stories, and newspaper rewrites of agency copy.

1. Site copies (``sitecopies.py``) of --stories Reuters stories from reuters_dev, one per
   edit type. The index holds every other reuters_dev story (templates and re-sends: the
   distractors) and each sampled story as the agency sent it (dateline and agency on its
   first paragraph). Each copy is checked, not indexed. A copy is found when a copy
   relation links it to its story (or to a re-send of it, by the data's clusters); any
   copy relation to another story is a false one. Excerpts must come back ``contained``.
2. METER (meter_dev): the PA stories are indexed and each newspaper article is checked.
   An article is called derived when a copy or ``rewrite`` relation links it to a PA
   story; it is right when that story is of the article's own event (``group``).

Baselines, same run, same data: datasketch MinHashLSH (threshold 0.5, 128 permutations,
word 5-shingles, as its README teaches), and exact word 3-gram containment searched over
the whole index (the share of the checked text's 3-grams in an indexed text; for site
copies at 0.5 either way, for METER at the service's rewrite share 1/8 and at 0.2).

    python benchmarks/bench_syndication.py [--stories 300] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter, defaultdict
from typing import Any

from common import DATA, load_articles, naive_minhash, print_table, private_redis, redis_cpu_us, write_json
from datasketch import MinHashLSH
from sitecopies import COPY_EDITS, EDITS, EXCERPT_EDITS, Story, excerptable, paragraphs, site_copy

from dedup_service.classify import COPY_RELATIONS
from dedup_service.config import IndexLayout, Settings
from dedup_service.constants import DEFAULT_ANCHOR_SAMPLE
from dedup_service.jsonl import json_object, numbered_lines
from dedup_service.models import Article, Relation
from dedup_service.normalize import normalize, words
from dedup_service.runtime import open_service

METER = DATA.parent / "meter_dev"
LINKS = COPY_RELATIONS | {Relation.REWRITE}


def _grams(text: str) -> set[tuple[str, ...]]:
    w = words(normalize(text))
    return {tuple(w[i : i + 3]) for i in range(len(w) - 2)}


class Baselines:
    """datasketch MinHashLSH and exact 3-gram containment over the same indexed texts."""

    def __init__(self, docs: dict[str, str]) -> None:
        self.lsh = MinHashLSH(threshold=0.5, num_perm=128)
        self.grams = {i: _grams(t) for i, t in docs.items()}
        self.postings: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for i, t in docs.items():
            self.lsh.insert(i, naive_minhash(t))
            for g in self.grams[i]:
                self.postings[g].append(i)

    def datasketch(self, text: str) -> set[str]:
        return set(self.lsh.query(naive_minhash(text)))

    def containment(self, text: str, at_least: float, both_ways: bool) -> set[str]:
        """Indexed texts holding ``at_least`` of the text's 3-grams (or, ``both_ways``,
        of which the text holds that share)."""
        mine = _grams(text)
        shared = Counter(i for g in mine for i in self.postings.get(g, ()))
        return {i for i, n in shared.items()
                if n >= at_least * len(mine) or (both_ways and n >= at_least * len(self.grams[i]))}  # fmt: skip


def _stories(rows: list[dict[str, Any]], n: int, rng: random.Random) -> list[Story]:
    stories = []
    for r in rows:
        place = (r.get("dateline") or "").split(",")[0].strip()
        story = Story(r["id"], r.get("title") or "", place, (r.get("dateline") or "").rstrip(" -"), "Reuters",
                      paragraphs(r["text"]))  # fmt: skip
        if place and excerptable(story):
            stories.append(story)
    return rng.sample(stories, min(n, len(stories)))


async def site_copies(n_stories: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    rows = load_articles()
    stories = _stories(rows, n_stories, rng)
    sampled = {s.id for s in stories}
    cluster = {r["id"]: r["cluster"] for r in rows}
    docs = {r["id"]: r["text"] for r in rows if r["id"] not in sampled}
    docs |= {s.id: s.original() for s in stories}
    titles = [r["title"] for r in rows if r.get("title")]
    copies = [(s, edit, site_copy(s, edit, rng, titles)) for s in stories for edit in EDITS]
    base = Baselines(docs)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    with private_redis() as url:
        settings = Settings(redis_url=url, key_prefix="syndication")
        async with open_service(settings) as dedup:
            t0 = time.perf_counter()
            ids = list(docs)
            for start in range(0, len(ids), 500):
                batch = [Article(id=i, text=docs[i], site="reuters.com" if i in sampled else None)
                         for i in ids[start : start + 500]]  # fmt: skip
                await dedup.ingest_batch(batch)
            index_s = time.perf_counter() - t0
            cpu0, t0 = redis_cpu_us(url), time.perf_counter()
            for story, edit, text in copies:
                right = {i for i in docs if cluster.get(i) == cluster[story.id]} | {story.id}
                verdict = await dedup.check(Article(id=None, text=text))
                linked = {m.id for m in verdict.matches if m.relation in COPY_RELATIONS}
                want = Relation.CONTAINED if edit in EXCERPT_EDITS else None
                found = any(m.id in right and (want is None or m.relation is want) for m in verdict.matches
                            if m.relation in COPY_RELATIONS)  # fmt: skip
                _count(counts, "service", edit, found, linked - right)
                _count(counts, "datasketch", edit, bool(base.datasketch(text) & right), base.datasketch(text) - right)
                exact = base.containment(text, 0.5, both_ways=True)
                _count(counts, "exact 3-gram", edit, bool(exact & right), exact - right)
            check_s = time.perf_counter() - t0
            redis_us = (redis_cpu_us(url) - cpu0) / len(copies)
    return {"stories": len(stories), "indexed": len(docs), "copies": len(copies), "index_s": index_s,
            "check_ms_per_copy": 1000 * check_s / len(copies), "redis_cpu_us_per_check": redis_us,
            "counts": {k: dict(v) for k, v in counts.items()}}  # fmt: skip


def _count(counts: dict[str, Counter[str]], detector: str, edit: str, found: bool, false: set[str]) -> None:
    c = counts[detector]
    c[f"{edit}:n"] += 1
    c[f"{edit}:found"] += found
    c[f"{edit}:false"] += len(false) > 0
    c[f"{edit}:reported"] += found or len(false) > 0


# the service at its default anchor sample, and at the denser one a deployment can choose
METER_SAMPLES = {"service": DEFAULT_ANCHOR_SAMPLE, "service, anchors 1/4": 4}


async def _service_links(
    pa: list[dict[str, Any]], news: list[dict[str, Any]], group: dict[str, str], anchor_sample: int
) -> tuple[dict[str, set[str]], dict[str, float]]:
    """Each article's links to PA stories, and the run's cost and mean reused share."""
    linked, reuse = {}, []
    with private_redis() as url:
        settings = Settings(redis_url=url, key_prefix="meter", layout=IndexLayout(anchor_sample=anchor_sample))
        async with open_service(settings) as dedup:
            await dedup.ingest_batch(
                [Article(id=p["id"], text=p["text"], site=p["site"], source=p["source"]) for p in pa]
            )
            cpu0, t0 = redis_cpu_us(url), time.perf_counter()
            for n in news:
                verdict = await dedup.check(Article(id=None, text=n["text"], site=n["site"]))
                links = [m for m in verdict.matches if m.relation in LINKS]
                linked[n["id"]] = {m.id for m in links}
                reuse += [m.coverage for m in links if group[m.id] == n["group"]][:1]
            check_s, redis_us = time.perf_counter() - t0, (redis_cpu_us(url) - cpu0) / len(news)
    costs = {"check_ms_per_article": 1000 * check_s / len(news), "redis_cpu_us_per_check": redis_us,
             "mean_reused_share": sum(reuse) / len(reuse) if reuse else 0.0}  # fmt: skip
    return linked, costs


async def meter() -> dict[str, Any]:
    pa = [json_object(line) for _, line in numbered_lines(METER / "meter_pa.jsonl")]
    news = [json_object(line) for _, line in numbered_lines(METER / "meter_news.jsonl")]
    group = {p["id"]: p["group"] for p in pa}
    base = Baselines({p["id"]: p["text"] for p in pa})
    linked: dict[str, dict[str, set[str]]] = defaultdict(dict)
    out: dict[str, Any] = {"pa": len(pa), "news": len(news), "costs": {}}
    for detector, sample in METER_SAMPLES.items():
        linked[detector], out["costs"][detector] = await _service_links(pa, news, group, sample)
    for n in news:
        linked["datasketch"][n["id"]] = base.datasketch(n["text"])
        linked["exact 3-gram ≥ 1/8"][n["id"]] = base.containment(n["text"], 1 / 8, both_ways=False)
        linked["exact 3-gram ≥ 0.2"][n["id"]] = base.containment(n["text"], 0.2, both_ways=False)
    for detector, links in linked.items():
        out[detector] = _meter_scores(news, group, links)
    return out


def _meter_scores(news: list[dict[str, Any]], group: dict[str, str], links: dict[str, set[str]]) -> dict[str, float]:
    tp = fp = fn = wrong = wholly = wholly_found = 0
    for n in news:
        mine = links[n["id"]]
        right = any(group[i] == n["group"] for i in mine)
        wrong += any(group[i] != n["group"] for i in mine)
        if n["label"] == "non":
            fp += bool(mine)
            continue
        tp += right
        fn += not right
        fp += bool(mine) and not right
        if n["label"] == "wholly":
            wholly += 1
            wholly_found += right
    return {"precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1),
            "wholly_recall": wholly_found / max(wholly, 1), "wrong_story_share": wrong / len(news)}  # fmt: skip


def _print_site_copies(res: dict[str, Any]) -> None:
    rows = []
    for edit in [*EDITS, "all copies", "all excerpts"]:
        row = [edit]
        for detector in ("service", "datasketch", "exact 3-gram"):
            c = res["counts"][detector]
            kinds = {"all copies": COPY_EDITS, "all excerpts": EXCERPT_EDITS}.get(edit, (edit,))
            n, found, false, reported = (sum(c.get(f"{k}:{x}", 0) for k in kinds) for x in ("n", "found", "false",
                                                                                           "reported"))  # fmt: skip
            row += [f"{found / n:.3f}", f"{1 - false / max(reported, 1):.3f}"]
        rows.append(row)
    print_table(
        f"Site copies of {res['stories']} Reuters stories ({res['copies']} copies; {res['indexed']} texts indexed)",
        ["edit", "service recall", "service precision", "datasketch recall", "datasketch precision",
         "exact 3-gram recall", "exact 3-gram precision"],
        rows,
    )  # fmt: skip
    print("recall: copies linked to their story by a copy relation (excerpts: by `contained`); precision: the share")
    print(
        "of copies with any link whose links are all to their own story. exact 3-gram: 0.5 of the 3-grams, either way."
    )
    print(f"service: {res['check_ms_per_copy']:.1f} ms and {res['redis_cpu_us_per_check']:.0f} µs of Redis CPU a check")


def _print_meter(res: dict[str, Any]) -> None:
    rows = [[d, f"{res[d]['precision']:.3f}", f"{res[d]['recall']:.3f}", f"{res[d]['wholly_recall']:.3f}",
             f"{100 * res[d]['wrong_story_share']:.1f}%"]
            for d in (*METER_SAMPLES, "datasketch", "exact 3-gram ≥ 1/8", "exact 3-gram ≥ 0.2")]  # fmt: skip
    print_table(
        f"METER dev: {res['news']} newspaper articles checked against {res['pa']} PA stories (whole index)",
        ["detector", "derived precision", "derived recall", "wholly derived recall", "wrong-story links"],
        rows,
    )
    for detector, costs in res["costs"].items():
        print(f"{detector}: share of the PA story reused (coverage) in right links, mean"
              f" {costs['mean_reused_share']:.2f}; {costs['check_ms_per_article']:.1f} ms and"
              f" {costs['redis_cpu_us_per_check']:.0f} µs of Redis CPU a check")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stories", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--part", choices=["all", "copies", "meter"], default="all")
    parser.add_argument("--json")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    if args.part in ("all", "copies"):
        out["site_copies"] = asyncio.run(site_copies(args.stories, args.seed))
        _print_site_copies(out["site_copies"])
    if args.part in ("all", "meter"):
        if not (METER / "meter_pa.jsonl").exists():
            raise SystemExit(f"{METER} is absent: the benchmarks read the evaluation data from ../shared/data")
        out["meter"] = asyncio.run(meter())
        _print_meter(out["meter"])
    write_json(args.json, out)


if __name__ == "__main__":
    main()
