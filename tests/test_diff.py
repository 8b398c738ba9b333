"""Explained matches: the passages two texts share, hold alone or changed, as character
offsets, from the pure ``diff`` to GET /v1/articles/{id}/diff and /v1/check?explain=N."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from test_api import post

from dedup_service.diff import Words, diff

AFP = (
    "PARIS (AFP) - The French government on Tuesday announced a 2.5 billion euro plan to support farmers hit "
    "by the drought, the agriculture minister told a news conference.\n\n"
    "The plan includes direct aid to the hardest-hit farms, as well as a postponement of social contributions "
    "for the summer months, the minister said.\n\n"
    'Farm unions, which had been demanding emergency measures for several weeks, welcomed a "first step" but '
    "said the package was insufficient.\n\n"
    "The drought, the worst since 1976 according to Meteo-France, hit more than 60 departments this summer."
)
SITE = (
    "Drought: State releases 2.5 billion\n\n"
    + AFP.removeprefix("PARIS (AFP) - ").replace("told a news", "said at a news").split("\n\nFarm unions")[0]
    + "\n\nThe drought, the worst since 1976 according to Meteo-France, hit more than 75 departments this summer."
    + "\n\nWith AFP"
)


def _texts(a: str, b: str) -> list[tuple[str, str | None, str | None, bool]]:
    return [(p.kind, a[p.a[0] : p.a[1]] if p.a else None, b[p.b[0] : p.b[1]] if p.b else None, p.facts)
            for p in diff(a, b).passages]  # fmt: skip


def test_passages_show_the_headline_the_cut_paragraph_and_the_changed_figure() -> None:
    found = _texts(AFP, SITE)
    assert found[0] == ("changed", "PARIS (AFP", "Drought: State releases 2.5 billion", True)
    kinds = [kind for kind, *_ in found]
    assert kinds.count("same") >= 3
    cut = [a for kind, a, _, _ in found if kind == "only_a"]
    assert any(a is not None and a.startswith("Farm unions") for a in cut)  # the paragraph the site cut
    assert ("changed", "60", "75", True) in found  # a figure changed, marked as a fact
    assert found[-1] == ("only_b", None, "With AFP", False)  # the credit line the site added
    # the passages cover both texts' words, in order, with no overlap
    d = diff(AFP, SITE)
    assert sum(p.words_a for p in d.passages) == len(Words.of(AFP).folded)
    assert sum(p.words_b for p in d.passages) == len(Words.of(SITE).folded)
    starts = [p.a[0] for p in d.passages if p.a]
    assert starts == sorted(starts)
    assert 0.7 < d.kept_a < 0.9 and 0.8 < d.kept_b < 1.0


def test_identical_texts_are_one_shared_passage_and_empty_ones_none() -> None:
    d = diff(AFP, AFP.upper())
    assert [(p.kind, p.a, p.b) for p in d.passages] == [("same", (0, len(AFP) - 1), (0, len(AFP) - 1))]
    assert (d.kept_a, d.kept_b) == (1.0, 1.0)
    assert diff("", "").passages == [] and diff("", "words here").passages[0].kind == "only_b"


async def test_diff_of_two_indexed_articles_and_check_with_explain(client: TestClient) -> None:
    await post(client, "/v1/articles", {"id": "afp-1", "text": AFP, "site": "afp.com"}, 201)
    await post(client, "/v1/articles", {"id": "site-1", "text": SITE, "site": "example-news.com"}, 201)
    resp = await client.get("/v1/articles/afp-1/diff?against=site-1")
    assert resp.status == 200
    body = await resp.json()
    assert (body["id"], body["against"]) == ("afp-1", "site-1")
    text, other = body["text"], body["against_text"]
    changed = [(text[p["a"][0] : p["a"][1]], other[p["b"][0] : p["b"][1]]) for p in body["passages"]
               if p["kind"] == "changed" and p["facts"]]  # fmt: skip
    assert ("60", "75") in changed
    assert body["kept_b"] > body["kept_a"] > 0.7

    checked = await post(client, "/v1/check?explain=1", {"text": SITE}, 200)
    first = checked["matches"][0]
    assert first["id"] in {"afp-1", "site-1"} and "passages" in first and "kept_a" in first
    assert all("passages" not in m for m in checked["matches"][1:])
    shared = [checked["text"][p["a"][0] : p["a"][1]] for p in first["passages"] if p["kind"] == "same"]
    assert any("billion euro plan" in s for s in shared)
    plain = await post(client, "/v1/check", {"text": SITE}, 200)
    assert "text" not in plain and all("passages" not in m for m in plain["matches"])

    for path, status, named in [("/v1/articles/afp-1/diff", 422, "against"),
                                ("/v1/articles/afp-1/diff?against=nope", 404, "nope"),
                                ("/v1/articles/nope/diff?against=afp-1", 404, "nope")]:  # fmt: skip
        resp = await client.get(path)
        assert resp.status == status and named in (await resp.json())["error"]["message"], path
    resp = await client.post("/v1/check?explain=99", json={"text": SITE})
    assert resp.status == 422 and "explain" in (await resp.json())["error"]["message"]


def test_curly_and_straight_apostrophes_make_the_same_words() -> None:
    """A site's typography is no change: a curly apostrophe makes the words a straight one does."""
    a, b = "The monitor's head said it.", "The monitor\u2019s head said it."
    assert [p.kind for p in diff(a, b).passages] == ["same"]
