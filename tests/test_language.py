"""Language and script of a text: from the script where it names the language, else py3langid."""

import pytest

from dedup_service.language import identify, script_of


@pytest.mark.parametrize(
    ("text", "lang", "script"),
    [
        ("The French government on Tuesday announced a plan to support farmers hit by the drought.", "en", "Latn"),
        ("Le gouvernement français a annoncé mardi un plan pour soutenir les agriculteurs.", "fr", "Latn"),
        ("Die Bundesregierung hat am Dienstag ein Hilfspaket für die Landwirte beschlossen.", "de", "Latn"),
        ("Правительство во вторник объявило о плане поддержки фермеров.", "ru", "Cyrl"),
        ("أعلنت الحكومة الفرنسية يوم الثلاثاء عن خطة لدعم المزارعين.", "ar", "Arab"),
        ("国家统计局4日发布数据显示，11月份全国居民消费价格指数同比上涨2.1%。", "zh", "Hani"),
        ("政府は4日、干ばつの被害を受けた農家を支援する計画を発表した。", "ja", "Jpan"),
        ("정부는 4일 가뭄 피해 농가를 지원하는 계획을 발표했다.", "ko", "Hang"),
        ("รัฐบาลประกาศแผนช่วยเหลือเกษตรกร", "th", "Thai"),
        ("12 000 !!! 2,5", None, None),
    ],
)
def test_language_and_script(text: str, lang: str | None, script: str | None) -> None:
    assert tuple(identify(text)) == (lang, script)


def test_the_script_is_that_of_most_letters() -> None:
    assert script_of("CPI上涨2.1%，国家统计局发布数据") == "Hani"  # a Latin acronym in Chinese text
    assert script_of("Yonhap 연합뉴스 정부는 발표했다 政府") == "Hang"
