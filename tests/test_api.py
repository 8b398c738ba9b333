"""The HTTP API through aiohttp's test client, against real Redis."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from conftest import FIXTURES, shared_file

PAGE = (FIXTURES / "scraped_page.txt").read_text()
AGENCY = (FIXTURES / "agency_body.txt").read_text()
TEASER = "Shares in the regional airline rose sharply on Friday after a takeover offer from its largest rival."


def edited(text: str) -> str:
    """A syndicated copy: a byline added, a word changed in the lead, straight quotes."""
    paras = [p for p in text.split("\n\n") if p.strip()]
    paras[0] = paras[0].replace(" the ", " a ", 1)
    return "By Staff Reporter\n\n" + "\n\n".join(paras).replace("\u201c", '"').replace("\u201d", '"')


async def post(client: TestClient, path: str, body: Any, status: int) -> Any:
    resp = await client.post(path, json=body)
    assert resp.status == status, await resp.text()
    return await resp.json() if resp.status != 204 else None


async def test_page_and_agency_body_match_and_edited_copy_matches_both(client: TestClient) -> None:
    first = await post(client, "/v1/articles", {"id": "page", "text": PAGE, "site": "example.com"}, 201)
    assert first["relation"] == "new" and first["matches"] == []
    second = await post(client, "/v1/articles", {"id": "wire", "text": AGENCY, "site": "agency"}, 201)
    # the page's chrome is not known yet (first article of the site): the body lies inside it
    assert second["relation"] in {"near_duplicate", "contained"}
    assert [m["id"] for m in second["matches"]] == ["page"]
    assert second["matches"][0]["site"] == "example.com"
    assert second["cluster_id"] == first["cluster_id"]
    check = await post(client, "/v1/check", {"text": edited(AGENCY)}, 200)
    assert {m["id"] for m in check["matches"]} == {"page", "wire"}
    assert all(0.5 <= m["similarity"] <= 1 for m in check["matches"])
    assert check["cluster_id"] == first["cluster_id"]
    teaser = await post(client, "/v1/check", {"text": TEASER}, 200)
    assert teaser == {"relation": "new", "matches": [], "cluster_id": None}


async def test_real_seed_page_matches_its_curly_quoted_agency_body(client: TestClient) -> None:
    page = shared_file("seed/afp-damascus.txt").read_text()
    start = page.index("A second batch")
    body = page[page.index("A second batch", start + 10) : page.index("AFP\nWritten By")]
    assert "\u201c" in body  # the second, curly-quoted copy of the body
    await post(client, "/v1/articles", {"id": "seed-page", "text": page, "site": "scraper"}, 201)
    wire = await post(client, "/v1/articles", {"id": "afp", "text": body, "source": "AFP"}, 201)
    assert [m["id"] for m in wire["matches"]] == ["seed-page"]
    check = await post(client, "/v1/check", {"text": edited(body)}, 200)
    assert {m["id"] for m in check["matches"]} == {"seed-page", "afp"}
    teaser = "Taylor Swift is primed to release her highly anticipated record on Friday."
    assert (await post(client, "/v1/check", {"text": teaser}, 200))["matches"] == []


async def test_exact_copy_and_idempotent_repost(client: TestClient) -> None:
    await post(client, "/v1/articles", {"id": "a", "text": AGENCY}, 201)
    straight = AGENCY.replace("\u201c", '"').replace("\u201d", '"').upper()
    dup = await post(client, "/v1/articles", {"id": "b", "text": straight}, 201)
    assert dup["relation"] == "exact" and dup["matches"][0]["similarity"] == 1.0
    again = await post(client, "/v1/articles", {"id": "b", "text": straight}, 200)
    assert again["relation"] == "exact" and [m["id"] for m in again["matches"]] == ["a"]
    assert again["cluster_id"] == dup["cluster_id"]


CHROME_TOP = "Connect with us\nHi, what are you looking for?\n"
CHROME_BOTTOM = "\nWritten By\nWith 2,400 staff the agency covers the world.\nYou may also like:\n"


async def test_sending_a_site_again_is_idempotent_while_its_chrome_is_learnt(client: TestClient) -> None:
    """The first stories of a site are indexed with chrome the later ones teach the index
    to take out: sending them again must still change nothing (200, same cluster)."""
    stories = [
        {"id": f"s{i}", "site": "example.com",
         "text": f"{CHROME_TOP}Story {i} begins here. " + " ".join(f"w{i}x{j}" for j in range(60)) + CHROME_BOTTOM}
        for i in range(6)
    ]  # fmt: skip
    first = [await post(client, "/v1/articles", s, 201) for s in stories]
    for _ in range(2):
        again = [await post(client, "/v1/articles", s, 200) for s in stories]
        assert [a["cluster_id"] for a in again] == [f["cluster_id"] for f in first]
    stored = await (await client.get("/v1/articles/s0?include=text")).json()
    assert "Connect with us" in stored["text"]  # indexed as it was first sent: nothing rewritten
    batch = await post(client, "/v1/articles:batch", stories, 200)
    assert [r["status"] for r in batch["results"]] == [200] * len(stories)


async def test_same_text_with_new_metadata_updates_the_metadata(client: TestClient) -> None:
    first = await post(client, "/v1/articles", {"id": "a", "text": AGENCY, "site": "old.example"}, 201)
    meta = {"site": "new.example", "published_at": "2026-11-24T10:00:00+00:00", "title": "Floods recede"}
    again = await post(client, "/v1/articles", {"id": "a", "text": AGENCY, **meta}, 200)
    assert again["cluster_id"] == first["cluster_id"]
    got = await (await client.get("/v1/articles/a")).json()
    assert {k: got[k] for k in meta} == meta
    cluster = await (await client.get(f"/v1/clusters/{first['cluster_id']}")).json()
    assert cluster["sites"] == ["new.example"]


async def test_same_id_with_new_text_replaces_the_old_version(client: TestClient) -> None:
    await post(client, "/v1/articles", {"id": "a", "text": AGENCY}, 201)
    other = "An entirely different story about a chess tournament held in a small mountain village."
    replaced = await post(client, "/v1/articles", {"id": "a", "text": other}, 201)
    assert replaced["relation"] == "new"
    assert (await post(client, "/v1/check", {"text": AGENCY}, 200))["matches"] == []
    assert [m["id"] for m in (await post(client, "/v1/check", {"text": other}, 200))["matches"]] == ["a"]


async def test_generated_id_metadata_get_and_delete(client: TestClient) -> None:
    meta = {"title": "Floods recede", "url": "https://example.com/x", "site": "example.com",
            "published_at": "2026-11-24T10:00:00Z", "source": "NWA"}  # fmt: skip
    created = await post(client, "/v1/articles", {"text": AGENCY, **meta}, 201)
    assert len(created["id"]) == 32
    await post(client, "/v1/articles", {"id": "copy", "text": edited(AGENCY)}, 201)
    resp = await client.get(f"/v1/articles/{created['id']}")
    assert resp.status == 200
    got = await resp.json()
    assert got["title"] == "Floods recede" and got["published_at"] == "2026-11-24T10:00:00+00:00"
    assert [m["id"] for m in got["matches"]] == ["copy"]
    resp = await client.delete(f"/v1/articles/{created['id']}")
    assert resp.status == 204
    for method in (client.get, client.delete):
        resp = await method(f"/v1/articles/{created['id']}")
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"
    assert (await post(client, "/v1/check", {"text": AGENCY}, 200))["matches"][0]["id"] == "copy"


async def test_limit_caps_matches(client: TestClient) -> None:
    for i in range(4):
        await post(client, "/v1/articles", {"id": f"c{i}", "text": AGENCY + f"\n\nEdition {i}."}, 201)
    resp = await client.post("/v1/check?limit=2", json={"text": AGENCY})
    assert len((await resp.json())["matches"]) == 2
    resp = await client.post("/v1/check?limit=zero", json={"text": AGENCY})
    assert resp.status == 422 and "limit" in (await resp.json())["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        (b"{not json", 400, "JSON"),
        (b"", 400, "empty"),
        ([1, 2], 400, "object"),
        ({"title": "x"}, 422, "text"),
        ({"text": "   "}, 422, "text"),
        ({"text": 42}, 422, "text"),
        ({"text": "ok words", "html": "<p>x</p>"}, 422, "text"),
        ({"text": "ok words", "id": 7}, 422, "id"),
        ({"text": "ok words", "id": "x" * 300}, 422, "id"),
        ({"text": "ok words", "published_at": "yesterday"}, 422, "published_at"),
        ({"text": "ok words", "date": "yesterday"}, 422, "date"),
        ({"text": "ok words", "date": "2026-01-02", "published_at": "2026-01-02"}, 422, "date"),
        ({"text": "ok words", "author": "A. Writer"}, 422, "author: unknown field"),
        ({"text": "ok words", "Title": "x", "tags": []}, 422, "Title, tags: unknown fields"),
        ({"text": "-- ... --"}, 422, "text"),
        ({"html": "<html><body><script>var a = 1;</script></body></html>"}, 422, "html"),
    ],
)
async def test_bad_input_gets_a_json_4xx_naming_the_problem(
    client: TestClient, body: bytes | object, status: int, named: str
) -> None:
    """``body`` as sent (bytes), or a JSON value to send."""
    data = body if isinstance(body, bytes) else json.dumps(body)
    for path in ("/v1/articles", "/v1/check"):
        resp = await client.post(path, data=data, headers={"Content-Type": "application/json"})
        assert resp.status == status
        error = (await resp.json())["error"]
        assert named in error["message"] and error["code"]


async def test_date_is_an_alias_of_published_at(client: TestClient) -> None:
    await post(client, "/v1/articles", {"id": "d", "text": AGENCY, "date": "2026-11-24T10:00:00Z"}, 201)
    got = await (await client.get("/v1/articles/d")).json()
    assert got["published_at"] == "2026-11-24T10:00:00+00:00" and "date" not in got


async def test_a_body_of_another_content_type_is_415_naming_the_expected_one(client: TestClient) -> None:
    for path in ("/v1/articles", "/v1/articles:batch", "/v1/check"):
        resp = await client.post(path, data={"text": AGENCY})  # a form, as curl -d sends it
        assert resp.status == 415, path
        error = (await resp.json())["error"]
        assert error["code"] == "unsupported_media_type"
        assert "application/json" in error["message"] and "application/x-www-form-urlencoded" in error["message"]
    # no Content-Type at all is taken as JSON
    resp = await client.post("/v1/check", data=b'{"text": "a few words of text"}', skip_auto_headers=["Content-Type"])
    assert resp.status == 200


async def test_a_check_without_an_id_answers_none(client: TestClient) -> None:
    checked = await post(client, "/v1/check", {"text": AGENCY}, 200)
    assert "id" not in checked
    assert (await post(client, "/v1/check", {"id": "mine", "text": AGENCY}, 200))["id"] == "mine"


async def test_oversized_body_is_413(client: TestClient) -> None:
    body = io.BytesIO(b'{"text": "' + b"word " * 600_000 + b'"}')
    resp = await client.post("/v1/articles", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "payload_too_large"


async def test_unknown_route_and_method_are_json(client: TestClient) -> None:
    resp = await client.get("/v1/nothing")
    assert resp.status == 404 and "error" in await resp.json()
    resp = await client.put("/v1/articles/x")
    assert resp.status == 405 and "error" in await resp.json()


async def test_html_input_is_extracted(client: TestClient) -> None:
    paras = "".join(f"<p>{p}</p>" for p in AGENCY.split("\n\n") if p.strip())
    html = (
        "<html><head><title>Floods recede | Example</title></head><body><nav>Home World Sport</nav>"
        f"<article><h1>Floods recede</h1>{paras}</article><aside>You may also like: cats</aside>"
        "<footer>Cookie settings</footer></body></html>"
    )
    await post(client, "/v1/articles", {"id": "wire", "text": AGENCY}, 201)
    res = await post(client, "/v1/articles", {"id": "page", "html": html}, 201)
    assert [m["id"] for m in res["matches"]] == ["wire"]
    assert (await (await client.get("/v1/articles/page")).json())["title"].startswith("Floods recede")


async def test_concurrent_near_identical_posts_see_each_other(client: TestClient) -> None:
    """32 clients post copies of one story at once: every pair is linked one way or the
    other, and all end in one cluster."""
    bodies = [{"id": f"r{i}", "text": AGENCY + f"\n\nUpdated {i}."} for i in range(32)]
    results = await asyncio.gather(*(client.post("/v1/articles", json=b) for b in bodies))
    seen = {}
    for resp in results:
        assert resp.status == 201
        data = await resp.json()
        seen[data["id"]] = {m["id"] for m in data["matches"]}
    for a in seen:
        for b in seen:
            if a < b:
                assert b in seen[a] or a in seen[b]
    clusters = {(await (await client.get(f"/v1/articles/{i}")).json())["cluster_id"] for i in seen}
    assert len(clusters) == 1


async def test_health_and_readiness(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 200
