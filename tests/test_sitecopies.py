"""The site-copy generator of the syndication benchmark makes the edits it names."""

import random
import re
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from sitecopies import CREDITS, EDITS, EXCERPT_EDITS, MIN_EXCERPT_WORDS, Story, excerptable, site_copy

PARAS = [
    "Oil prices rose on Monday after the producers' group said it would cut output by 500,000 barrels a day.",
    "The cut, the first in two years, takes effect in March, the group said in a statement.",
    "Analysts said the move would tighten supply in the second quarter, when demand usually picks up.",
    "Brent crude rose 2.1 pct to 84.30 dlrs a barrel, its highest level since November.",
    "U.S. crude rose 1.9 pct to 79.10 dlrs, traders said.",
]
STORY = Story("s1", "OIL RISES ON OUTPUT CUT", "LONDON", "LONDON, Feb 26", "Reuters", PARAS)


def _paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


@pytest.mark.parametrize("edit", EDITS)
def test_every_edit_changes_the_agency_copy_and_keeps_the_story(edit: str) -> None:
    copy = site_copy(STORY, edit, random.Random(1), ["Markets close higher"])
    assert copy != STORY.original()
    if edit not in ("cut", *EXCERPT_EDITS):  # the whole story is still there
        assert "84.30 dlrs" in copy and "79.10" in copy


def test_the_edits_do_what_they_say() -> None:
    rng = random.Random(2)
    first = _paragraphs(site_copy(STORY, "headline", rng, []))[0]
    assert first == "Oil rises on output cut"
    assert "(Reuters)" not in site_copy(STORY, "dateline_dropped", rng, [])
    restyled = site_copy(STORY, "dateline_restyled", rng, [])
    assert "(Reuters)" not in restyled and restyled.lower().startswith("london")
    credit = _paragraphs(site_copy(STORY, "credit", rng, []))[-1]
    assert any(credit == form.format(a="Reuters") for form in CREDITS)
    inserted = site_copy(STORY, "inserted", rng, ["Markets close higher"])
    assert inserted.count("Markets close higher") + inserted.count("Advertisement") == 2
    for seed in range(20):
        kept = len(_paragraphs(site_copy(STORY, "cut", random.Random(seed), [])))
        assert 2 <= kept <= 4  # 40-80% of five paragraphs
    assert "\n\n" not in site_copy(STORY, "reflowed", rng, [])
    worded = site_copy(STORY, "wording", rng, [])
    assert "told reporters" in worded and "percent" in worded and " said" not in worded


@pytest.mark.parametrize("edit", EXCERPT_EDITS)
def test_excerpts_are_runs_of_whole_paragraphs_of_25_words_or_more(edit: str) -> None:
    for seed in range(10):
        excerpt = _paragraphs(site_copy(STORY, edit, random.Random(seed), []))
        assert sum(len(p.split()) for p in excerpt) >= MIN_EXCERPT_WORDS
        start = PARAS.index(excerpt[0])
        assert excerpt == PARAS[start : start + len(excerpt)]
        assert (start == 0) == (edit == "lede")


def test_only_stories_long_enough_for_every_edit_are_taken() -> None:
    assert sum(len(p.split()) for p in PARAS) < 120 and not excerptable(STORY)  # too short for a 40% cut
    assert excerptable(Story("s2", "T", "X", "X, Feb 1", "AFP", PARAS * 2))
    assert not excerptable(Story("s3", "T", "X", "X, Feb 1", "AFP", [p * 3 for p in PARAS[:3]]))  # 3 paragraphs
    assert not re.search(r"\(Reuters\)", site_copy(STORY, "lede", random.Random(0), []))
