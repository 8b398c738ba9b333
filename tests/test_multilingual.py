"""Wire copy in every script the agencies write in: site copies stay copies, template
stories with other figures stay apart, and agencies are named in their own languages."""

import random
import sys
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from conftest import REPO, SHARED
from test_syndication import COPIES, FR_COPY, SECHERESSE, post

from dedup_service.features import fact_keys, facts_python, tokens
from dedup_service.normalize import normalize, words

sys.path.insert(0, str(REPO / "benchmarks"))
from langcopies import LANGUAGES, site_copy, stories

CPI = """新华社北京12月4日电 国家统计局4日发布数据显示，11月份全国居民消费价格指数（CPI）同比上涨2.1%，涨幅比上月回落0.3个百分点，环比下降0.2%。其中，城市上涨2.0%，农村上涨2.4%；食品价格上涨3.5%，非食品价格上涨1.7%。

国家统计局城市司首席统计师董莉娟解读称，从同比看，食品价格中，猪肉价格下降8.6%，鲜菜价格上涨9.8%，鲜果价格上涨4.1%，粮食价格上涨1.2%，食用植物油价格下降2.3%。非食品中，能源价格上涨1.5%，其中汽油价格上涨2.8%。

从环比看，受季节性因素和市场供应充足影响，鲜菜价格下降3.4%，鸡蛋价格下降2.6%，猪肉价格下降1.9%，羊肉和牛肉价格分别上涨0.7%和0.4%。服务价格环比持平，其中旅游价格下降4.5%，飞机票价格下降11.2%。

据测算，在11月份2.1%的同比涨幅中，去年价格变动的翘尾影响约为0.6个百分点，新涨价影响约为1.5个百分点。1至11月平均，全国居民消费价格比上年同期上涨1.9%，扣除食品和能源价格后的核心CPI上涨1.3%。"""  # noqa: E501

# the same day's producer price story: the same template, other words and figures
PPI = """新华社北京12月4日电 国家统计局4日发布数据显示，11月份全国工业生产者出厂价格指数（PPI）同比下降1.4%，降幅比上月扩大0.5个百分点，环比下降0.6%。其中，生产资料价格下降1.9%，生活资料价格上涨0.3%；采掘工业价格下降4.2%，原材料工业价格下降2.5%。

国家统计局城市司首席统计师董莉娟解读称，从同比看，生产资料价格中，煤炭开采价格下降12.4%，黑色金属冶炼价格下降6.8%，石油开采价格上涨3.1%，化学原料价格下降2.7%，有色金属价格上涨5.6%。生活资料中，食品价格上涨0.9%，其中衣着价格上涨0.4%。

从环比看，受国际原油价格波动和国内需求偏弱影响，石油开采价格下降4.1%，煤炭开采价格下降3.3%，钢材价格下降2.2%，有色金属和化工产品价格分别下降0.8%和0.5%。生活资料价格环比持平，其中耐用消费品价格下降0.6%，一般日用品价格下降0.3%。

据测算，在11月份1.4%的同比降幅中，去年价格变动的翘尾影响约为0.8个百分点，新涨价影响约为-0.6个百分点。1至11月平均，全国工业生产者出厂价格比上年同期下降1.1%，工业生产者购进价格下降1.6%。"""  # noqa: E501


def xinhua_site_copy(story: str) -> str:
    """A site's copy: cut to the first two paragraphs, the dateline replaced by a credit,
    a related-reading line added."""
    first, second, *_ = story.split("\n\n")
    first = first.replace("新华社北京12月4日电 ", "据新华社消息，")
    return "\n\n".join([first, second, "相关阅读：统计局解读11月份数据"])


async def test_a_cut_chinese_site_copy_is_held_to_its_xinhua_original(client: TestClient) -> None:
    await post(client, "/v1/articles", {"id": "xinhua-cpi", "text": CPI}, 201)
    verdict = await post(client, "/v1/check", {"text": xinhua_site_copy(CPI)}, 200)
    assert [(m["id"], m["relation"]) for m in verdict["matches"]] == [("xinhua-cpi", "contained")], verdict


async def test_the_same_days_chinese_template_story_stays_apart(client: TestClient) -> None:
    await post(client, "/v1/articles", {"id": "xinhua-cpi", "text": CPI}, 201)
    for text in (PPI, xinhua_site_copy(PPI)):
        verdict = await post(client, "/v1/check", {"text": text}, 200)
        assert all(m["relation"] not in COPIES for m in verdict["matches"]), verdict


async def test_a_french_template_story_with_other_figures_stays_apart(client: TestClient) -> None:
    await post(client, "/v1/articles", {"id": "afp-fr", "text": SECHERESSE}, 201)
    other = SECHERESSE.replace("2,5 milliards", "3,1 milliards").replace("60 départements", "75 départements")
    verdict = await post(client, "/v1/check", {"text": other.replace("1976", "2003")}, 200)
    assert all(m["relation"] not in COPIES for m in verdict["matches"]), verdict


# figures written in ideographic numerals, and the weekday in words
SCHOOLS = """新华社北京12月4日电 教育部星期二宣布，今年全国将新建和改扩建三千所乡村学校，新增学位二十万个，中央财政为此安排专项资金一百五十亿元。

教育部有关负责人表示，新建学校将优先布局在人口集中的县城和中心镇，并配套建设教师周转宿舍，解决乡村教师住房困难问题，同时为每所学校配备必要的教学设备。

据介绍，过去五年全国累计改善农村学校办学条件的投入超过三千亿元，乡村学校的寄宿条件和信息化水平明显提升，农村学生上学难的问题得到缓解。"""  # noqa: E501


async def test_a_chinese_template_with_other_ideographic_figures_stays_apart(client: TestClient) -> None:
    """Before ideographic numerals were figures, the only figures here were the dateline's."""
    await post(client, "/v1/articles", {"id": "xinhua-schools", "text": SCHOOLS}, 201)
    verdict = await post(client, "/v1/check", {"text": xinhua_site_copy(SCHOOLS)}, 200)
    assert [(m["id"], m["relation"]) for m in verdict["matches"]] == [("xinhua-schools", "contained")], verdict
    other = SCHOOLS
    for old, new in (("三千所", "五千所"), ("二十万", "三十万"), ("一百五十亿", "二百亿"), ("星期二", "星期四")):
        other = other.replace(old, new)
    for text in (other, xinhua_site_copy(other)):
        verdict = await post(client, "/v1/check", {"text": text}, 200)
        assert all(m["relation"] not in COPIES for m in verdict["matches"]), verdict


def test_numbers_are_one_figure_however_they_are_written() -> None:
    assert fact_keys(tokens("12 000 euros, 1 234,56 euros")) == ["#12 000", None, "#1 234,56", None]
    assert fact_keys(tokens("12000 ou 12.000")) == ["#12000", None, "#12.000"]
    # compared in place, a re-keyed decimal or fraction is the same figure
    assert fact_keys(tokens("0.50 1/2 6-1/4 6.25 1.0 2,5")) == ["#0.5", "#0.5", "#6.25", "#6.25", "#1", "#2,5"]
    assert [k for k in fact_keys(tokens("新建三千所，第三季度，2.5万人，统一")) if k] == ["#三千", "#第三", "#2.5万"]


def test_weekdays_and_months_are_facts_in_every_language() -> None:
    said = {
        "en": "on Tuesday 4 December", "fr": "mardi 4 décembre", "es": "el martes 4 de diciembre",
        "pt": "na terça-feira, 4 de dezembro", "de": "am Dienstag, 4. Dezember", "it": "martedì 4 dicembre",
        "ru": "во вторник, 4 декабря", "ar": "يوم الثلاثاء 4 ديسمبر", "ko": "12월 4일 화요일",
        "zh": "12月4日星期二", "ja": "12月4日火曜日",
    }  # fmt: skip
    for lang, text in said.items():
        keys = {k for k in fact_keys(tokens(text)) if k}
        assert "#weekday:2" in keys and ("#month:12" in keys or "#12" in keys or "#12월" in keys), (lang, keys)
    assert fact_keys(tokens("Thursday's quake, jusqu'à la mi-août et d'août, an eight-billion-dlr plan")) == [
        "#weekday:4", None, None, None, "#month:8", None, "#month:8", None, "#8", None]  # fmt: skip
    # another weekday is another fact, as another figure is
    assert facts_python("mardi").figures.tolist() != facts_python("mercredi").figures.tolist()
    assert facts_python("周二").figures.tolist() == facts_python("星期二").figures.tolist()


async def test_agencies_are_named_in_their_own_languages(client: TestClient) -> None:
    await post(client, "/v1/articles", {"id": "xinhua-cpi", "text": CPI}, 201)
    await post(client, "/v1/articles", {"id": "site-cpi", "text": xinhua_site_copy(CPI)}, 201)
    for article_id in ("xinhua-cpi", "site-cpi"):  # the dateline, and "据新华社消息" in its place
        async with client.get(f"/v1/articles/{article_id}") as r:
            article = await r.json()
        assert article["agency"] == "Xinhua", article


async def test_articles_record_their_language_and_clusters_filter_on_it(client: TestClient) -> None:
    stories = {"xinhua-cpi": CPI, "site-cpi": xinhua_site_copy(CPI), "afp-fr": SECHERESSE, "site-fr": FR_COPY}
    for article_id, text in stories.items():
        await post(client, "/v1/articles", {"id": article_id, "text": text}, 201)
    clusters = {}
    for article_id, lang, script in (("xinhua-cpi", "zh", "Hani"), ("afp-fr", "fr", "Latn")):
        async with client.get(f"/v1/articles/{article_id}") as r:
            article = await r.json()
        assert (article["lang"], article["script"]) == (lang, script), article
        clusters[lang] = article["cluster_id"]
    for lang in ("zh", "fr", "de"):
        async with client.get("/v1/clusters", params={"lang": lang, "min_size": "2"}) as r:
            listed = (await r.json())["clusters"]
        assert [(x["cluster_id"], x["lang"]) for x in listed] == ([(clusters[lang], lang)] if lang in clusters else [])


def test_scripts_without_spaces_are_shingled_by_character() -> None:
    """One changed character changes a few shingles, not a whole clause's."""
    assert words(normalize("国家统计局4日发布")) == ["国", "家", "统", "计", "局", "4", "日", "发", "布"]
    assert words(normalize("【東京共同】カタカナ")) == ["東", "京", "共", "同", "カ", "タ", "カ", "ナ"]
    assert words(normalize("ราคาข้าว")) == ["ร", "า", "ค", "า", "ข", "า", "ว"]  # marks are not word characters
    assert words(normalize("정부는 4일 발표했다")) == ["정부는", "4일", "발표했다"]  # Hangul is spaced
    assert words(normalize("CPI上涨2.5%")) == ["cpi", "上", "涨", "2.5"]


def test_digits_of_every_script_and_optional_marks_are_folded() -> None:
    assert normalize("١٢٣ ۴۵ १२ １２３ ๑๒") == "123 45 12 123 12"
    assert normalize("مُحَمَّدٌ ـــ قالــــت") == normalize("محمد قالت")  # harakat and tatweel
    assert normalize("שָׁלוֹם") == normalize("שלום")  # Hebrew points
    assert normalize("ＣＰＩ\u3000上涨") == "cpi 上涨"  # full width, ideographic space


@pytest.mark.parametrize("code", list(LANGUAGES))
async def test_site_copies_of_real_news_are_copies_in_every_language(client: TestClient, code: str) -> None:
    path = SHARED / "data" / "multilingual" / f"{code}.jsonl"
    if not path.exists():
        pytest.skip(f"{path} is absent (set DEDUP_SHARED_DIR to the shared/ folder to run this test)")
    lang = LANGUAGES[code]
    story = stories(path, lang, 120 if lang.spaced else 250)[0]
    others = [s.title for s in stories(path, lang, 120 if lang.spaced else 250)[1:4] if s.title] or ["…"]
    await post(client, "/v1/articles", {"id": story.id, "text": story.original()}, 201)
    rng = random.Random(3)
    for edit in ("combined", "cut", "reflowed", "inserted"):
        verdict: dict[str, Any] = await post(client, "/v1/check", {"text": site_copy(story, edit, rng, others)}, 200)
        assert [(m["id"], m["relation"] in COPIES) for m in verdict["matches"]] == [(story.id, True)], (edit, verdict)
