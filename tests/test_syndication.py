"""Site copies of agency stories stay copies: a site's headline, a dropped dateline, a
credit line, a lede on its own; template stories with other facts stay apart."""

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from conftest import shared_file

from dedup_service.align import align

DROUGHT = """PARIS (AFP) - The French government on Tuesday announced a 2.5 billion euro plan to support farmers hit by the drought, the agriculture minister told a news conference.

The plan includes direct aid to the hardest-hit farms, as well as a postponement of social contributions for the summer months, the minister said.

Farm unions, which had been demanding emergency measures for several weeks, welcomed a "first step" but said the package was insufficient.

The drought, the worst since 1976 according to Meteo-France, hit more than 60 departments this summer."""  # noqa: E501

SECHERESSE = """PARIS (AFP) - Le gouvernement français a annoncé mardi un plan de 2,5 milliards d'euros pour soutenir les agriculteurs touchés par la sécheresse, a déclaré le ministre de l'Agriculture lors d'une conférence de presse.

Le plan comprend des aides directes aux exploitations les plus touchées, ainsi qu'un report des cotisations sociales pour les mois d'été, a précisé le ministre.

Les syndicats agricoles, qui réclamaient depuis plusieurs semaines des mesures d'urgence, ont salué un "premier pas" mais jugé le dispositif insuffisant.

La sécheresse, la pire depuis 1976 selon Météo-France, a touché plus de 60 départements cet été."""  # noqa: E501


def site_copy(original: str, headline: str, edit: tuple[str, str], credit: str) -> str:
    """What a site publishes: its own headline, the dateline gone, a word changed, a credit."""
    body = original.replace("PARIS (AFP) - ", "").replace(*edit)
    assert body != original.replace("PARIS (AFP) - ", "")  # the edit applies
    return f"{headline}\n\n{body}\n\n{credit}"


EN_COPY = site_copy(DROUGHT, "Drought: State releases 2.5 billion", ("told a news", "said at a news"), "With AFP")
FR_COPY = site_copy(
    SECHERESSE, "Sécheresse: l'Etat débloque 2,5 milliards", ("lors d'une", "au cours d'une"), "Avec AFP"
)
COPIES = {"near_duplicate", "contained", "contains", "exact"}


async def post(client: TestClient, path: str, body: dict[str, Any], status: int) -> Any:
    async with client.post(path, json=body) as r:
        assert r.status == status, await r.text()
        return await r.json()


@pytest.mark.parametrize(("original", "copy"), [(DROUGHT, EN_COPY), (SECHERESSE, FR_COPY)], ids=["en", "fr"])
async def test_a_site_copy_with_its_own_headline_and_no_dateline_is_a_copy(
    client: TestClient, original: str, copy: str
) -> None:
    await post(client, "/v1/articles", {"id": "afp-1", "text": original, "site": "afp.com"}, 201)
    verdict = await post(client, "/v1/check", {"text": copy, "site": "example-news.com"}, 200)
    assert [(m["id"], m["relation"] in COPIES) for m in verdict["matches"]] == [("afp-1", True)], verdict


async def test_the_same_story_with_other_figures_stays_apart_despite_the_same_edits(client: TestClient) -> None:
    await post(client, "/v1/articles", {"id": "afp-1", "text": DROUGHT}, 201)
    other = DROUGHT.replace("2.5 billion", "3.1 billion").replace("60 departments", "75 departments")
    other = other.replace("1976", "2003")
    verdict = await post(client, "/v1/check", {"text": site_copy(other, "Drought: 3.1 billion", ("told a", "said at a"),
                                                                    "With AFP")}, 200)  # fmt: skip
    assert all(m["relation"] not in COPIES for m in verdict["matches"]), verdict


def _seed_body() -> list[str]:
    """The seed page's second, curly-quoted copy of the AFP body (423 words), by paragraph."""
    page = shared_file("seed/afp-damascus.txt").read_text()
    lede = "A second batch of fighters"
    body = page[page.index(lede, page.index(lede) + 1) : page.index("AFP\nWritten By")]
    assert "\u201c" in body and len(body.split()) == 423
    return [p.strip() for p in body.split("\n\n") if p.strip()]


@pytest.mark.parametrize("paragraphs", [1, 2, 3])
async def test_the_lede_of_an_agency_story_is_contained_in_it(client: TestClient, paragraphs: int) -> None:
    body = _seed_body()
    await post(client, "/v1/articles", {"id": "afp", "text": "\n\n".join(body), "site": "afp.com"}, 201)
    lede = "\n\n".join(body[:paragraphs])
    assert len(lede.split()) >= 25
    verdict = await post(client, "/v1/check", {"text": lede}, 200)
    assert [(m["id"], m["relation"]) for m in verdict["matches"]] == [("afp", "contained")]
    # and the other way round: the story, checked against the indexed lede, contains it
    await post(client, "/v1/articles", {"id": "lede", "text": lede}, 201)
    story = await post(client, "/v1/check", {"text": "\n\n".join(body)}, 200)
    assert ("lede", "contains") in [(m["id"], m["relation"]) for m in story["matches"]]


async def test_a_sentence_of_a_story_is_too_short_to_be_a_copy(client: TestClient) -> None:
    await post(client, "/v1/articles", {"id": "afp-1", "text": DROUGHT}, 201)
    sentence = "The plan includes direct aid to the hardest-hit farms, the minister said."
    assert (await post(client, "/v1/check", {"text": sentence}, 200))["matches"] == []


def test_a_headline_in_place_of_a_dateline_is_not_another_fact() -> None:
    assert align(DROUGHT, EN_COPY, 0.6, 0.9).facts_agree  # type: ignore[union-attr]


def test_a_name_replaced_in_the_lead_is_another_fact() -> None:
    phillips = ("Phillips Petroleum said it raised its posted prices for crude oil by 50 cts a barrel, effective "
                "today, bringing West Texas Intermediate to 18 dlrs.")  # fmt: skip
    citgo = phillips.replace("Phillips Petroleum", "Citgo")
    assert not align(phillips, citgo, 0.6, 0.9).facts_agree  # type: ignore[union-attr]
    headlined = "Oil prices up\n" + phillips
    assert align(phillips, headlined, 0.6, 0.9).facts_agree  # type: ignore[union-attr]


def test_a_figure_replaced_inside_a_sentence_is_another_fact() -> None:
    fed = ("The Federal Reserve entered the U.S. Government securities market to arrange one billion dlrs of "
           "customer repurchase agreements, a Fed spokesman said. Dealers said Federal funds were trading at "
           "6-1/8 pct when the Fed began its temporary and indirect supply of reserves.")  # fmt: skip
    other = fed.replace("one billion", "two billion").replace("6-1/8", "6-3/8")
    assert not align(fed, other, 0.6, 0.9).facts_agree  # type: ignore[union-attr]
    assert align(fed, fed.replace("a Fed spokesman said", "a Fed spokesman told reporters"), 0.6, 0.9).facts_agree  # type: ignore[union-attr]


def _figures_back_the_relation(match: dict[str, Any]) -> bool:
    """The thresholds of docs/design.md, read from the figures a match reports."""
    sim, contained, covered = match["similarity"], match["containment"], match["coverage"]
    return {
        "exact": contained == covered == 1.0,
        "near_duplicate": sim >= 0.5,
        "contained": contained >= 0.9,
        "contains": covered >= 0.9,
        "rewrite": contained >= 1 / 8,
        "related": max(contained, covered) >= 0.7,
    }[match["relation"]]


async def test_every_reported_relation_is_backed_by_its_figures(client: TestClient) -> None:
    body = _seed_body()
    other = DROUGHT.replace("2.5 billion", "3.1 billion").replace("60 departments", "75 departments")
    await post(client, "/v1/articles:batch", [
        {"id": "drought", "text": DROUGHT}, {"id": "secheresse", "text": SECHERESSE},
        {"id": "seed", "text": "\n\n".join(body)}, {"id": "seed-lede", "text": "\n\n".join(body[:2])},
    ], 200)  # fmt: skip
    template_copy = site_copy(other, "3.1 billion", ("told a", "said at a"), "(AFP)")
    excerpts = ["\n\n".join(body[:1]), "\n\n".join(body[2:6]), "\n\n".join(reversed(body[:5]))]
    checks = [EN_COPY, FR_COPY, DROUGHT, other.replace("1976", "2003"), template_copy, *excerpts]
    seen = set()
    for text in checks:
        for match in (await post(client, "/v1/check", {"text": text}, 200))["matches"]:
            assert _figures_back_the_relation(match), match
            seen.add(match["relation"])
    assert {"exact", "contained", "contains", "related"} <= seen  # the checks reach most relations


def test_short_lines_both_texts_hold_whole_are_stock_text_not_reuse() -> None:
    blurb = "With 2,400 staff from 100 nationalities, the agency covers the world as a leading news agency."
    chrome = ["Connect with us", "You may also like:", blurb]
    story, other = DROUGHT + "\n" + "\n".join(chrome), SECHERESSE + "\n" + "\n".join(chrome)
    shared = align(story, other, 0.6, 0.9)
    assert shared is not None and shared.phrases_a == 0.0
    # the same words inside a paragraph of the other text are reused phrases
    inside = align(story, SECHERESSE + "\n" + "Selon l'AFP: " + " ".join(chrome), 0.6, 0.9)
    assert inside is not None and inside.phrases_a > 0.1
