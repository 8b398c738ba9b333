"""Story clusters through the API: merge on a bridging copy, split on delete, first seen, agency."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient
from conftest import FIXTURES
from test_api import post

AGENCY = (FIXTURES / "agency_body.txt").read_text()
PARAS = [p for p in AGENCY.split("\n\n") if p.strip()]
FIRST_HALF = "\n\n".join(PARAS[:4])
SECOND_HALF = "\n\n".join(PARAS[4:])


async def cluster_of(client: TestClient, article_id: str) -> str:
    return (await (await client.get(f"/v1/articles/{article_id}")).json())["cluster_id"]  # type: ignore[no-any-return]


async def test_bridging_copy_merges_and_deleting_it_splits(client: TestClient) -> None:
    a = await post(client, "/v1/articles", {"id": "a", "text": FIRST_HALF}, 201)
    c = await post(client, "/v1/articles", {"id": "c", "text": SECOND_HALF}, 201)
    assert a["cluster_id"] != c["cluster_id"]
    b = await post(client, "/v1/articles", {"id": "b", "text": AGENCY}, 201)
    assert {m["id"]: m["relation"] for m in b["matches"]} == {"a": "contains", "c": "contains"}
    assert {await cluster_of(client, i) for i in "abc"} == {b["cluster_id"]}
    cluster = await (await client.get(f"/v1/clusters/{b['cluster_id']}")).json()
    assert cluster["size"] == 3 and {m["id"] for m in cluster["members"]} == {"a", "b", "c"}

    assert (await client.delete("/v1/articles/b")).status == 204
    assert await cluster_of(client, "a") != await cluster_of(client, "c")
    resp = await client.get(f"/v1/clusters/{b['cluster_id']}")
    assert resp.status == 200 and (await resp.json())["size"] == 1


async def _first_seen(client: TestClient, article_id: str) -> tuple[str, str]:
    """The listed first appearance of the article's cluster, and the article's ingest time."""
    cid = await cluster_of(client, article_id)
    listed = (await (await client.get("/v1/clusters", params={"min_size": "1", "limit": "100"})).json())["clusters"]
    members = (await (await client.get(f"/v1/clusters/{cid}")).json())["members"]
    ingested = next(m["ingested_at"] for m in members if m["id"] == article_id)
    return next(c["first_seen"] for c in listed if c["cluster_id"] == cid), ingested


async def test_a_clusters_first_appearance_follows_merges_splits_and_deletes(client: TestClient) -> None:
    await post(client, "/v1/articles", {"id": "a", "text": FIRST_HALF}, 201)
    await asyncio.sleep(1.1)  # ingest times are listed to the second
    await post(client, "/v1/articles", {"id": "c", "text": SECOND_HALF}, 201)
    await asyncio.sleep(1.1)
    await post(client, "/v1/articles", {"id": "b", "text": AGENCY}, 201)  # bridges a and c
    first, a_at = await _first_seen(client, "a")
    assert first == a_at and first < (await _first_seen(client, "c"))[1]
    assert (await client.delete("/v1/articles/b")).status == 204  # splits them again
    for article_id in "ac":
        first, at = await _first_seen(client, article_id)
        assert first == at
    await post(client, "/v1/articles", {"id": "b", "text": AGENCY}, 201)
    assert (await client.delete("/v1/articles/a")).status == 204  # the first member gone
    first, b_at = await _first_seen(client, "b")
    assert first == (await _first_seen(client, "c"))[1] < b_at


async def test_replacing_the_bridge_with_other_text_splits_too(client: TestClient) -> None:
    await post(client, "/v1/articles", {"id": "a", "text": FIRST_HALF}, 201)
    await post(client, "/v1/articles", {"id": "c", "text": SECOND_HALF}, 201)
    await post(client, "/v1/articles", {"id": "b", "text": AGENCY}, 201)
    other = "A chess tournament in a small mountain village drew players from eleven countries this week."
    await post(client, "/v1/articles", {"id": "b", "text": other}, 201)
    assert len({await cluster_of(client, i) for i in "abc"}) == 3


async def test_cluster_view_names_original_sites_and_agency(client: TestClient) -> None:
    wire = "PORT ALDER (AFP) - " + AGENCY
    await post(client, "/v1/articles", {"id": "late", "text": wire, "site": "b.example",
                                        "published_at": "2026-11-24T12:00:00+00:00"}, 201)  # fmt: skip
    await post(client, "/v1/articles", {"id": "early", "text": wire + "\n\nAFP", "site": "a.example",
                                        "published_at": "2026-11-24T09:00:00+00:00"}, 201)  # fmt: skip
    res = await post(client, "/v1/articles", {"id": "undated", "text": AGENCY, "site": "c.example"}, 201)
    cluster = await (await client.get(f"/v1/clusters/{res['cluster_id']}")).json()
    assert cluster["original"]["id"] == "early" and cluster["original"]["relation"] == "original"
    assert cluster["sites"] == ["a.example", "b.example", "c.example"]
    assert cluster["agency"] == "AFP"
    assert {m["id"]: m["agency"] for m in cluster["members"]}["undated"] is None
    assert (await client.get("/v1/clusters/c999999")).status == 404


async def test_without_dates_the_agency_own_copy_is_the_original(client: TestClient) -> None:
    page = "Floods: the dykes hold\n\n" + AGENCY + "\n\nWith AFP"
    await post(client, "/v1/articles", {"id": "scraped", "text": page, "site": "news.example"}, 201)
    res = await post(client, "/v1/articles", {"id": "afp", "text": AGENCY, "site": "www.afp.com"}, 201)
    cluster = await (await client.get(f"/v1/clusters/{res['cluster_id']}")).json()
    assert cluster["original"]["id"] == "afp" and cluster["original"]["agency"] == "AFP"
    assert {m["id"]: m["agency"] for m in cluster["members"]} == {"afp": "AFP", "scraped": "AFP"}


async def test_recent_clusters_filter_by_site_and_agency(client: TestClient) -> None:
    await post(client, "/v1/articles", {"id": "x1", "text": AGENCY, "site": "a.example", "source": "AFP"}, 201)
    await post(client, "/v1/articles", {"id": "x2", "text": AGENCY.upper(), "site": "b.example"}, 201)
    await post(client, "/v1/articles", {"id": "solo", "text": "Just one lonely story with nothing to match."}, 201)
    listed = (await (await client.get("/v1/clusters")).json())["clusters"]
    assert [(c["size"], c["sites"], c["agency"]) for c in listed] == [(2, ["a.example", "b.example"], "AFP")]
    assert len((await (await client.get("/v1/clusters?min_size=1")).json())["clusters"]) == 2
    for query in ("site=b.example", "agency=afp", "since=2000-01-01"):
        assert len((await (await client.get(f"/v1/clusters?{query}")).json())["clusters"]) == 1, query
    for query in ("site=nowhere.example", "agency=Reuters", "since=2999-01-01"):
        assert (await (await client.get(f"/v1/clusters?{query}")).json())["clusters"] == [], query
    resp = await client.get("/v1/clusters?since=last-week")
    assert resp.status == 422 and "since" in (await resp.json())["error"]["message"]


async def _listing(client: TestClient, query: str) -> tuple[list[str], str | None]:
    resp = await client.get(f"/v1/clusters?{query}")
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    return [c["cluster_id"] for c in body["clusters"]], body["next"]


async def test_cluster_listing_pages_through_every_cluster_with_a_cursor(client: TestClient) -> None:
    """2,400 single stories around 40 copied ones: more clusters than one request scans
    (2,000), written a batch at a time (so many share one change time)."""
    pairs: set[str] = set()
    for round_ in range(4):
        for i in range(10):
            story = f"Story {round_}-{i}: " + " ".join(f"p{round_}x{i}w{j}" for j in range(40))
            await post(client, "/v1/articles", {"id": f"p{round_}-{i}a", "text": story}, 201)
            pairs.add((await post(client, "/v1/articles", {"id": f"p{round_}-{i}b", "text": story}, 201))["cluster_id"])
        solo = [{"id": f"s{round_}-{i}", "text": " ".join(f"s{round_}x{i}w{j}" for j in range(30))} for i in range(600)]
        await post(client, "/v1/articles:batch", solo, 200)
    assert len(pairs) == 40

    first, more = await _listing(client, "min_size=2&limit=1000")
    assert more is not None and len(first) < 40  # the scan stopped short, and says where to go on
    seen, pages = list(first), 1
    while more:
        found, more = await _listing(client, f"min_size=2&limit=1000&cursor={more}")
        seen, pages = seen + found, pages + 1
    assert sorted(seen) == sorted(pairs) and pages == 2

    seen, more = [], ""  # small pages: the cursor also stops within a scan, and within ties
    while more is not None:
        found, more = await _listing(client, "min_size=2&limit=7" + (f"&cursor={more}" if more else ""))
        assert len(found) <= 7
        seen += found
    assert sorted(seen) == sorted(pairs)

    everything, more = await _listing(client, "min_size=1&limit=1000")
    while more:
        found, more = await _listing(client, f"min_size=1&limit=1000&cursor={more}")
        everything += found
    assert len(everything) == len(set(everything)) == 2440

    for bad in ("nonsense", "aW5mIGM1", "", "MSA"):  # not base64; "inf c5"; empty; "1 "
        resp = await client.get(f"/v1/clusters?cursor={bad}")
        assert resp.status == 422 and "cursor" in (await resp.json())["error"]["message"], bad
