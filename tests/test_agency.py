import pytest
from conftest import shared_file

from dedup_service.agency import agency_of_site, detect, dominant, is_own_copy


@pytest.mark.parametrize(
    ("lines", "source", "expected"),
    [
        (["DAMASCUS (AFP) - A second batch of fighters left."], None, "AFP"),
        (["LONDON, March 3 (Reuters) - Shares fell."], None, "Reuters"),
        (["BERLIN (dpa) \u2014 Die Regierung"], None, "dpa"),
        (["Text of the story.", "Written By AFP"], None, "AFP"),
        (["Text of the story.", "Reuter"], None, "Reuters"),
        (["Text.", "(Reporting by Jane Doe; Editing by John Roe)"], None, "Reuters"),
        (["Text.", "-- AP"], None, "AP"),
        (["A story that mentions the AP and AFP in passing, without credits."], None, None),
        (["Anything."], "Xinhua", "Xinhua"),
        (["Anything."], "Associated Press", "AP"),
        (["Anything."], "Daily Planet", None),
        (["Text of the story.", "With AFP"], None, "AFP"),
        (["Texte de la dépêche.", "Avec AFP"], None, "AFP"),
        (["Texto de la noticia.", "(EFE)"], None, "EFE"),
        (["Text der Meldung.", "\u00a9 dpa-infocom"], None, "dpa"),
        (["Text of the story.", "\u00a9 AFP"], None, "AFP"),
        (["Text of the story.", "AFP contributed to this report."], None, "AFP"),
        (["Text of the story.", "The AFP said so."], None, None),
        # agencies in their own languages and scripts
        (["دمشق (أ ف ب) - غادرت دفعة ثانية من المقاتلين"], None, "AFP"),
        (["MADRID (EFE).- El Gobierno aprobó hoy"], None, "EFE"),
        (["新华社北京12月4日电 国家统计局4日发布数据"], None, "Xinhua"),
        (["据新华社消息，国家统计局4日发布数据"], None, "Xinhua"),
        (["【東京共同】政府は4日、閣議を開いた。"], None, "Kyodo"),
        (["本文。", "（共同通信）"], None, "Kyodo"),
        (["(서울=연합뉴스) 홍길동 기자 = 정부는 4일"], None, "Yonhap"),
        (["Текст сообщения.", "ТАСС"], None, "TASS"),
        (["Texto da notícia.", "(Lusa)"], None, "Lusa"),
        (["Testo della notizia.", "(ANSA)"], None, "ANSA"),
        (["الرياض (واس) - أعلن المتحدث"], None, "SPA"),
        (["中共同发电机组今天投产。", "我们共同努力。"], None, None),  # 共同 ("together") is not Kyodo
        (["JAPAN (ICAP) - a broker's note"], None, None),
    ],
)
def test_detect(lines: list[str], source: str | None, expected: str | None) -> None:
    assert detect(lines, source) == expected


def test_seed_page_credit_line_is_found() -> None:
    assert detect(shared_file("seed/afp-damascus.txt").read_text().splitlines()) == "AFP"


def test_dominant_agency_of_a_cluster() -> None:
    assert dominant(["AFP", None, "AP", "AFP"]) == "AFP"
    assert dominant(["AP", "AFP"]) == "AFP"  # ties: alphabetical, so the answer is stable
    assert dominant([None]) is None


@pytest.mark.parametrize(
    ("site", "expected"),
    [("afp.com", "AFP"), ("https://www.afp.com/en/news/1", "AFP"), ("en.yna.co.kr", "Yonhap"), ("apnews.com", "AP"),
     ("notafp.com", None), ("lemonde.fr", None), ("", None)],
)  # fmt: skip
def test_an_agency_site_is_its_own(site: str, expected: str | None) -> None:
    assert agency_of_site(site) == expected
    assert detect(["A story with no dateline and no credit."], site=site) == expected


def test_own_copy_is_the_agency_site_or_a_feed_with_the_agency_as_source() -> None:
    assert is_own_copy({"agency": "AFP", "site": "afp.com"})
    assert is_own_copy({"agency": "AFP", "source": "Agence France-Presse"})
    assert not is_own_copy({"agency": "AFP", "site": "lemonde.fr", "source": "AFP"})
    assert not is_own_copy({"site": "afp.com"})
