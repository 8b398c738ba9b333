"""Multilingual site copies: copy recall and precision per language, with the datasketch baseline.

For each of the nine languages of ../shared/data/multilingual, --stories articles are made
agency originals (``langcopies.py``: the language's agency dateline) and each gets one
site copy per edit. One index holds every article of every language: the sampled ones as
their agency sent them, the others as they are (the distractors: other stories of the
same sites, days and topics). Each copy is checked, not indexed:
- recall: copies linked to their story by a copy relation;
- precision: the share of copies with any copy link whose links are all to their story;
- templates: the story with every number of its body changed (stories with three numbers
  or more); a copy link to the story is a false copy.
The baseline is datasketch MinHashLSH (threshold 0.5, 128 permutations, word 5-shingles
split on whitespace, as its README teaches), over the same texts in the same run.

Signature time: the fingerprint (lines, shingles, MinHash, facts) of each language's
originals, in µs per KB of UTF-8, against English (reuters_dev) in the same run.

    python benchmarks/bench_multilingual.py [--stories 60] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter, defaultdict
from typing import Any

from common import DATA, load_articles, naive_minhash, print_table, private_redis, write_json
from datasketch import MinHashLSH
from langcopies import EDITS, LANGUAGES, Story, site_copy, stories, template_of

from dedup_service.classify import COPY_RELATIONS
from dedup_service.config import Settings
from dedup_service.fingerprint import Fingerprinter
from dedup_service.models import Article
from dedup_service.normalize import normalize, split_lines, words
from dedup_service.runtime import open_service

MULTILINGUAL = DATA.parent / "multilingual"
MIN_WORDS, MIN_CHARS = 120, 250  # a story long enough for every edit to leave a real part of it
TWIN_SHARE = 0.2


def _with_twins(texts: dict[str, str]) -> set[str]:
    """Texts that share TWIN_SHARE of the 5-grams of the smaller of the two with another
    text: the data's own republications (the same press release in several Korean papers,
    Saudi Press Agency copy in several papers). A link between them is not a false one,
    so their stories are not sampled; they stay in the index."""
    grams = {i: _grams(t) for i, t in texts.items()}
    postings: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for i, g in grams.items():
        for x in g:
            postings[x].append(i)
    out = set()
    for i, g in grams.items():
        shared = Counter(j for x in g for j in postings[x] if j != i)
        if any(k >= TWIN_SHARE * max(min(len(g), len(grams[j])), 1) for j, k in shared.items()):
            out.add(i)
    return out


def _grams(text: str) -> set[tuple[str, ...]]:
    w = words(normalize(text))
    return {tuple(w[i : i + 5]) for i in range(len(w) - 4)}


def _sample(n: int, rng: random.Random) -> tuple[list[Story], dict[str, str], dict[str, dict[str, int]]]:
    """Sampled stories, every indexed text by id, and per language how many texts were
    indexed and how many have twins."""
    sampled: list[Story] = []
    docs: dict[str, str] = {}
    info: dict[str, dict[str, int]] = {}
    for code, lang in LANGUAGES.items():
        path = MULTILINGUAL / f"{code}.jsonl"
        every = stories(path, lang, MIN_WORDS if lang.spaced else MIN_CHARS)
        twins = _with_twins({s.id: "\n".join(s.paragraphs) for s in every})
        info[code] = {"indexed": len(every), "twinned": len(twins)}
        picked = rng.sample([s for s in every if s.id not in twins], min(n, len(every) - len(twins)))
        picked_ids = {s.id for s in picked}
        for s in every:  # texts too short to sample stay out: they are not the story of any copy
            if s.id not in picked_ids:
                docs[s.id] = "\n\n".join(s.paragraphs)
        docs |= {s.id: s.original() for s in picked}
        sampled += picked
    return sampled, docs, info


def _count(c: Counter[str], key: str, found: bool, false: bool) -> None:
    c[f"{key}:n"] += 1
    c[f"{key}:found"] += found
    c[f"{key}:false"] += false
    c[f"{key}:reported"] += found or false


async def run(n: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    sampled, docs, info = _sample(n, rng)
    titles: dict[str, list[str]] = defaultdict(list)
    for s in sampled:
        if s.title:
            titles[s.lang.code].append(s.title)
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    for i, text in docs.items():
        lsh.insert(i, naive_minhash(text))
    counts: dict[str, dict[str, Counter[str]]] = {"service": defaultdict(Counter), "datasketch": defaultdict(Counter)}
    with private_redis() as url:
        async with open_service(Settings(redis_url=url, key_prefix="multilingual")) as dedup:
            ids = list(docs)
            for start in range(0, len(ids), 500):
                await dedup.ingest_batch([Article(id=i, text=docs[i]) for i in ids[start : start + 500]])
            t0, checks = time.perf_counter(), 0
            for story in sampled:
                code = story.lang.code
                others = titles[code] or ["…"]
                for edit in EDITS:
                    text = site_copy(story, edit, rng, others)
                    verdict = await dedup.check(Article(id=None, text=text))
                    linked = {m.id for m in verdict.matches if m.relation in COPY_RELATIONS}
                    _count(counts["service"][code], edit, story.id in linked, bool(linked - {story.id}))
                    near = set(lsh.query(naive_minhash(text)))
                    _count(counts["datasketch"][code], edit, story.id in near, bool(near - {story.id}))
                    checks += 1
                if (template := template_of(story, rng)) is not None:
                    verdict = await dedup.check(Article(id=None, text=template))
                    linked = {m.id for m in verdict.matches if m.relation in COPY_RELATIONS}
                    _count(counts["service"][code], "template", False, story.id in linked)
                    _count(
                        counts["datasketch"][code], "template", False, story.id in lsh.query(naive_minhash(template))
                    )
            check_ms = 1000 * (time.perf_counter() - t0) / max(checks, 1)
    return {"stories": {c: sum(s.lang.code == c for s in sampled) for c in LANGUAGES},
            "indexed": {c: info[c]["indexed"] for c in LANGUAGES},
            "twinned": {c: info[c]["twinned"] for c in LANGUAGES},
            "counts": {d: {c: dict(v) for c, v in per.items()} for d, per in counts.items()},
            "check_ms": check_ms, "signature": _signature_times(sampled)}  # fmt: skip


def _signature_times(sampled: list[Story], reps: int = 9) -> dict[str, float]:
    """µs per KB of UTF-8 to fingerprint each language's originals (best of ``reps``),
    with English (reuters_dev stories of 2 KB or more) as the yardstick. The languages
    take turns in each round, so that a slow spell of the box falls on all of them."""
    fp = Fingerprinter(num_perm=128, shingle_size=5, threshold=0.5, seed=1)
    texts: dict[str, list[str]] = defaultdict(list)
    for s in sampled:
        texts[s.lang.code].append(s.original())
    texts["en"] = [r["text"] for r in load_articles() if len(r["text"].encode()) >= 2000][:200]
    best = dict.fromkeys(texts, float("inf"))
    for _ in range(reps):
        for code, group in texts.items():
            t0 = time.perf_counter()
            for t in group:
                fp(split_lines(t))
            best[code] = min(best[code], time.perf_counter() - t0)
    return {code: 1e6 * best[code] / (sum(len(t.encode()) for t in group) / 1024) for code, group in texts.items()}


def _rates(c: Counter[str], keys: tuple[str, ...]) -> tuple[int, float, float]:
    n, found, false, reported = (sum(c.get(f"{k}:{x}", 0) for k in keys) for x in ("n", "found", "false", "reported"))
    return n, found / max(n, 1), 1 - false / max(reported, 1)


def _print(res: dict[str, Any]) -> None:
    rows = []
    for code in LANGUAGES:
        row: list[Any] = [code, res["stories"][code], res["indexed"][code], res["twinned"][code]]
        for detector in ("service", "datasketch"):
            c = Counter(res["counts"][detector].get(code, {}))
            _, recall, precision = _rates(c, EDITS)
            t_n, _, _ = _rates(c, ("template",))
            row += [f"{recall:.3f}", f"{precision:.3f}", f"{c.get('template:false', 0)}/{t_n}"]
        row.append(f"{res['signature'][code] / res['signature']['en']:.2f}" if code in res["signature"] else "-")
        rows.append(row)
    print_table(
        "Site copies per language (one copy per edit of each story; one index of every language)",
        ["lang", "stories", "indexed", "with twins (not sampled)", "service recall", "service precision",
         "service false templates",
         "datasketch recall", "datasketch precision", "datasketch false templates", "signature time / English"],
        rows,
    )  # fmt: skip
    edits = [[e] + [f"{_rates(Counter(res['counts']['service'].get(c, {})), (e,))[1]:.2f}" for c in LANGUAGES]
             for e in EDITS]  # fmt: skip
    print_table("Service recall per edit and language", ["edit", *LANGUAGES], edits)
    en = res["signature"]["en"]
    print(f"signature time: English {en:.0f} µs per KB; check {res['check_ms']:.1f} ms a copy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stories", type=int, default=60, help="stories per language")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--json")
    args = parser.parse_args()
    if not MULTILINGUAL.exists():
        raise SystemExit(f"{MULTILINGUAL} is absent: the benchmarks read the evaluation data from ../shared/data")
    res = asyncio.run(run(args.stories, args.seed))
    write_json(args.json, res)
    _print(res)


if __name__ == "__main__":
    main()
