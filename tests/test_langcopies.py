"""The multilingual site-copy generator of bench_multilingual makes the edits it names."""

import itertools
import random
import re
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from langcopies import EDITS, LANGUAGES, Story, paragraphs, site_copy, template_of

ZH = Story("zh-1", LANGUAGES["zh"], "", [
    "国家统计局2011年12月9日发布数据显示，11月份CPI同比上涨4.2%，涨幅比上月回落1.3个百分点。",
    "其中，食品价格上涨8.8%，非食品价格上涨1.9%，消费品价格上涨5.0%，服务项目价格上涨2.3%。",
    "1至11月平均，全国居民消费价格总水平比去年同期上涨5.5%。",
    "11月份，全国居民消费价格总水平环比下降0.2%，其中食品价格下降0.7%。",
])  # fmt: skip
FR = Story("fr-1", LANGUAGES["fr"], "Sécurité routière: baisse de 15,6% des morts en mai", [
    "Le nombre de personnes tuées sur les routes a baissé de 15,6% en mai, selon la Sécurité routière.",
    "205 personnes sont décédées sur les routes, soit 38 de moins qu'un an plus tôt (243).",
    "Les mois de mars et d'avril ont été marqués par une baisse de 39,6% et de 55,8%.",
    "En mai, le nombre d'accidents corporels a baissé de 34%, passant à 3.076 contre 4.660.",
])  # fmt: skip


@pytest.mark.parametrize("story", [ZH, FR], ids=["zh", "fr"])
@pytest.mark.parametrize("edit", EDITS)
def test_every_edit_changes_the_agency_copy_and_keeps_its_text(story: Story, edit: str) -> None:
    copy = site_copy(story, edit, random.Random(1), ["Autre titre"])
    assert copy != story.original()
    squeezed = "".join(copy.split())
    assert "".join(story.paragraphs[0].split()) in squeezed  # the lede is kept, whatever the edit
    if edit in ("dateline_dropped", "combined"):
        assert story.lang.dateline.strip() not in copy


def test_unspaced_text_is_wrapped_without_cutting_numbers_or_latin_words() -> None:
    copy = site_copy(ZH, "reflowed", random.Random(2), [])
    lines = copy.split("\n")
    assert len(lines) > 4
    for a, b in itertools.pairwise(lines):
        assert not (a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum()), (a, b)


def test_a_template_changes_every_number_of_the_body() -> None:
    template = template_of(FR, random.Random(3))
    assert template is not None and template.startswith(FR.lang.dateline)
    before = re.findall(r"\d+", "\n\n".join(FR.paragraphs))
    after = re.findall(r"\d+", template.removeprefix(FR.lang.dateline))
    assert len(before) == len(after) and all(a != b for a, b in zip(before, after, strict=True))


def test_a_story_whose_figures_do_not_carry_it_has_no_template() -> None:
    wordy = Story("fr-2", LANGUAGES["fr"], "", [" ".join(["mot"] * 200) + " 12", "a 3", "b 4", "c"])  # 3 in 200 words
    assert template_of(wordy, random.Random(1)) is None


def test_a_block_of_text_is_cut_into_paragraphs() -> None:
    text = "Erste Satz. Zweiter Satz. " * 6
    assert len(paragraphs(text)) == 6
    assert len(paragraphs(" ".join(["단어"] * 120))) == 3  # no sentence punctuation: 40 words each
