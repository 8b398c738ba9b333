import pytest
from conftest import shared_file

from dedup_service.agency import detect, dominant


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
