"""The dashboard in a real browser (Playwright driving Debian's chromium) against a real
service on a real Redis: what a user sees on each page, at a laptop's and a phone's width.
Each page's screenshot goes to SCREENSHOTS (printed at the end of the run)."""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from conftest import FIXTURES, SCREENSHOTS, shared_file

from dedup_service.app import create_app
from dedup_service.config import Settings
from dedup_service.normalize import normalize, words
from dedup_service.security import check_ui_session, ui_session

playwright = pytest.importorskip("playwright.async_api", reason="a test dependency: pip install -e '.[test]'")

WIDTHS = {"laptop": 1280, "phone": 390}
PAGE = (FIXTURES / "scraped_page.txt").read_text()
AGENCY = (FIXTURES / "agency_body.txt").read_text()
DROUGHT = """PARIS (AFP) - The French government on Tuesday announced a 2.5 billion euro plan to support farmers hit by the drought, the agriculture minister told a news conference.

The plan includes direct aid to the hardest-hit farms, as well as a postponement of social contributions for the summer months, the minister said.

Farm unions, which had been demanding emergency measures for several weeks, welcomed a "first step" but said the package was insufficient."""  # noqa: E501


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)")
    async with playwright.async_playwright() as p:
        launched = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        await launched.close()


Server = Callable[..., Any]


@pytest.fixture
async def service(aiohttp_server: Server, settings: Settings) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    """The service on a real port, and an HTTP client that feeds it."""
    server = await aiohttp_server(create_app(settings))
    base = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession(base) as http:
        yield base, http


@dataclasses.dataclass
class Dashboard:
    """The service on a real port, its HTTP client, and a browser at one of WIDTHS."""

    base: str
    http: aiohttp.ClientSession
    browser: Any
    width: str

    async def open(self, path: str) -> tuple[Any, list[str]]:
        return await open_page(self.browser, self.base + path, WIDTHS[self.width])

    async def shoot(self, page: Any, name: str) -> None:
        await shoot(page, f"{name}-{self.width}")


@pytest.fixture(params=list(WIDTHS))
async def ui(request: pytest.FixtureRequest, browser: Any, service: tuple[str, aiohttp.ClientSession]) -> Dashboard:
    return Dashboard(*service, browser, request.param)


async def ingest(http: aiohttp.ClientSession, **article: Any) -> dict[str, Any]:
    async with http.post("/v1/articles", json=article) as r:
        assert r.status in (200, 201), await r.text()
        body: dict[str, Any] = await r.json()
        return body


async def open_page(browser: Any, url: str, width: int) -> tuple[Any, list[str]]:
    """A new page at ``width``, and the console errors it logs."""
    page = await browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(url)
    return page, errors


async def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def readable(page: Any) -> None:
    """No sideways scrolling of the page, and every control has a label."""
    wide = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 1, f"the page is {wide}px wider than the window"
    unlabelled = await page.evaluate(
        """[...document.querySelectorAll('input, select, textarea, button')]
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
             .map(e => e.outerHTML)"""
    )
    assert unlabelled == []


async def test_the_feed_lists_stories_filters_them_and_shows_a_copy_as_it_arrives(ui: Dashboard) -> None:
    http = ui.http
    await ingest(http, id="wire", text=AGENCY, source="AFP", site="afp.com", title="Port Alder floods recede")
    await ingest(http, id="page", text=PAGE, site="harbour-news.example")
    page, errors = await ui.open("/ui/")
    entries = page.locator("#feed li")
    await entries.first.wait_for()
    assert await entries.count() == 1
    assert "Port Alder floods recede" in await entries.first.inner_text()
    assert "AFP" in await entries.first.inner_text()
    assert await entries.first.locator("time.first").count() == 1 and await entries.first.locator("time.last").count()
    await readable(page)
    # a copy ingested after the page was opened shows up without a reload
    await ingest(http, id="drought", text=DROUGHT, source="AFP", site="afp.com", title="Drought aid")
    await ingest(http, id="drought-site", text="Drought: State releases 2.5 billion\n" + DROUGHT.split(" - ", 1)[1],
                 site="farm-daily.example")  # fmt: skip
    await page.locator("#feed li", has_text="Drought aid").wait_for(timeout=10_000)
    assert await entries.count() == 2
    await ui.shoot(page, "feed")
    # the filters are reached from the keyboard, in reading order after the navigation
    for _ in range(8):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "f-site":
            break
    assert await page.evaluate("document.activeElement.id") == "f-site"
    # a filter narrows the feed to the stories a site ran
    await page.get_by_label("Site").fill("farm-daily.example")
    await page.get_by_label("Site").press("Enter")  # keyboard only
    await page.wait_for_function("document.querySelectorAll('#feed li').length === 1")
    assert "Drought aid" in await entries.first.inner_text()
    assert "site=farm-daily.example" in page.url
    assert errors == []


async def test_a_cluster_lists_its_members_with_what_each_kept_and_a_timeline(ui: Dashboard) -> None:
    http = ui.http
    wire = await ingest(http, id="wire", text=AGENCY, source="AFP", site="afp.com", title="Port Alder floods recede",
                        published_at="2026-12-01T08:00:00Z")  # fmt: skip
    await ingest(http, id="page", text=PAGE, site="harbour-news.example", published_at="2026-12-01T09:30:00Z")
    cut = "\n\n".join(AGENCY.split("\n\n")[:2])
    await ingest(http, id="lede", text=cut, site="brief.example", published_at="2026-12-01T11:00:00Z")
    page, errors = await ui.open(f"/ui/clusters/{wire['cluster_id']}")
    rows = page.locator("table.members tbody tr")
    await rows.first.wait_for()
    assert await page.locator("h1").inner_text() == "Port Alder floods recede"
    assert [await r.get_attribute("data-member") for r in await rows.all()] == ["wire", "page", "lede"]
    relations = [await r.locator("td.relation").inner_text() for r in await rows.all()]
    assert relations[0] == "original" and relations[2] == "contained"
    kept = [await r.locator("meter").get_attribute("value") for r in await rows.all()]
    assert float(kept[0]) == 1.0 and float(kept[2]) < 0.9  # the lede kept part of the story
    assert await page.locator("svg.timeline circle").count() == 3
    await readable(page)
    await ui.shoot(page, "cluster")
    # each member leads to its side-by-side view with the original
    await rows.nth(1).get_by_role("link", name="compare").click()
    await page.wait_for_url("**/ui/articles/page?vs=wire")
    assert errors == []


async def test_side_by_side_marks_exactly_the_seed_pages_chrome_and_headline_as_only_on_the_page(ui: Dashboard) -> None:
    http = ui.http
    seed = shared_file("seed/afp-damascus.txt").read_text()
    body = seed[seed.rindex("A second batch of fighters") : seed.index("AFP\nWritten By")]  # the second copy
    await ingest(http, id="afp", text=body, source="AFP")
    await ingest(http, id="seed-page", text=seed, site="scraper.example")
    page, errors = await ui.open("/ui/articles/seed-page?vs=afp")
    page_side, agency_side = page.locator(".sides section").nth(0), page.locator(".sides section").nth(1)
    await page_side.locator(".text").wait_for()
    marked = [await m.inner_text() for m in await page_side.locator("mark").all()]
    assert marked and await agency_side.locator("mark").count() == 0  # nothing of the agency's is missing
    assert all(m.strip() not in body for m in marked)  # what is marked is the page's own
    assert await page_side.locator("mark.changed").count() == 0
    # and the page's text without its marks is the agency's story
    unmarked = await page_side.locator(".text").evaluate(
        "t => [...t.childNodes].filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent).join(' ')"
    )
    assert words(normalize(unmarked)) == words(normalize(await agency_side.locator(".text").inner_text()))
    await readable(page)
    await ui.shoot(page, "side-by-side")
    assert errors == []


async def test_check_gives_the_verdict_with_the_same_highlights_and_indexes_nothing(ui: Dashboard) -> None:
    http = ui.http
    await ingest(http, id="drought", text=DROUGHT, source="AFP")
    page, errors = await ui.open("/ui/check")
    copy = DROUGHT.replace("2.5 billion", "3.1 billion")
    await page.get_by_label("Text, or the HTML of a page").fill("Drought: State releases the money\n" + copy)
    await page.get_by_role("button", name="Check").click()
    await page.locator("#verdict .sides").wait_for()
    assert await page.locator("#verdict .relation").inner_text() == "related"
    assert "Drought: State releases the money" in await page.locator("#verdict .sides mark.only").first.inner_text()
    assert "3.1" in await page.locator("#verdict .sides mark.changed.fact").first.inner_text()
    await readable(page)
    await ui.shoot(page, "check")
    async with http.get("/v1/clusters", params={"min_size": "1"}) as r:
        assert len((await r.json())["clusters"]) == 1  # the check indexed nothing
    assert errors == []


async def test_stats_plot_the_relations_and_the_sites_that_republish_each_agency(ui: Dashboard) -> None:
    http = ui.http
    await ingest(http, id="wire", text=AGENCY, source="AFP", site="afp.com")
    await ingest(http, id="page", text=PAGE, site="harbour-news.example")
    page, errors = await ui.open("/ui/stats")
    await page.locator("#stats figure").first.wait_for()
    captions = await page.locator("#stats figcaption").all_inner_texts()
    assert "Articles by relation" in captions and "Top republishing sites: AFP" in captions
    assert await page.locator("#copy-share").inner_text() == "50% of them copies"  # the page, not the wire
    assert "harbour-news.example" in await page.locator("#stats").inner_text()
    await readable(page)
    await ui.shoot(page, "stats")
    assert errors == []


async def test_a_cluster_of_500_members_renders(browser: Any, service: tuple[str, aiohttp.ClientSession]) -> None:
    """The time is reported at the end of the run (conftest), not asserted: a timed assert
    on a shared 2-core box would fail by chance."""
    base, http = service
    first = await ingest(http, id="copy-0", text=AGENCY, site="site-0.example")
    batch = [{"id": f"copy-{i}", "text": AGENCY + f"\nCredit line {i}", "site": f"site-{i % 40}.example"}
             for i in range(1, 500)]  # fmt: skip
    async with http.post("/v1/articles:batch", json=batch) as r:
        assert r.status == 200, await r.text()
    page, errors = await open_page(browser, base + "/ui/", WIDTHS["laptop"])
    t0 = time.perf_counter()
    await page.goto(f"{base}/ui/clusters/{first['cluster_id']}")
    await page.wait_for_function("document.querySelectorAll('table.members tbody tr').length === 500")
    took = time.perf_counter() - t0
    assert await page.locator("svg.timeline circle").count() == 500
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "timings.txt").write_text(f"500-member cluster page: {took * 1000:.0f} ms to its last row\n")
    assert errors == []


async def test_with_api_keys_the_dashboard_asks_for_a_key_once_and_refuses_cross_site_requests(
    browser: Any, aiohttp_server: Server, settings: Settings
) -> None:
    server = await aiohttp_server(create_app(dataclasses.replace(settings, api_keys="s3cret")))
    base = str(server.make_url("")).rstrip("/")
    page, errors = await open_page(browser, base + "/ui/clusters/x", WIDTHS["laptop"])
    assert "/ui/login" in page.url  # nothing but the login page without a key
    await page.get_by_label("API key").fill("wrong")
    await page.get_by_role("button", name="Sign in").click()
    assert await page.get_by_role("alert").inner_text() == "Unknown API key."
    await page.get_by_label("API key").fill("s3cret")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/ui/clusters/x")
    await page.get_by_role("alert").wait_for()  # the page's own API call went through: the cluster is unknown
    assert "no cluster" in await page.get_by_role("alert").inner_text()
    await shoot(page, "login-then-missing-cluster")
    # the session cookie alone does not open the API: a cross-site form cannot send the header
    ctx = page.context.request
    assert (await ctx.get(base + "/v1/clusters")).status == 401
    assert (await ctx.get(base + "/v1/clusters", headers={"X-Dedup-UI": "1"})).status == 200
    # a sign-in posted from another site is refused
    async with aiohttp.ClientSession() as http:
        async with http.post(base + "/ui/login", data={"key": "s3cret"}, headers={"Origin": "https://evil.example"},
                             allow_redirects=False) as r:  # fmt: skip
            assert r.status == 403 and "Set-Cookie" not in r.headers
        async with http.get(base + "/ui/static/app.js", allow_redirects=False) as r:
            assert r.status == 303  # the dashboard's own files too
    # signing out from another site is refused; from the dashboard it ends the session
    assert (await ctx.post(base + "/ui/logout", headers={"Origin": "https://evil.example"})).status == 403
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/ui/login")
    await page.goto(base + "/ui/")
    assert "/ui/login" in page.url
    assert [e for e in errors if "404" not in e and "401" not in e] == []


def test_a_session_cookie_is_good_for_its_key_until_it_expires() -> None:
    keys = frozenset({"k1", "k2"})
    cookie = ui_session("k2", 2_000)
    assert check_ui_session(cookie, keys, now=1_000)
    assert not check_ui_session(cookie, keys, now=2_001)  # expired
    assert not check_ui_session(cookie, frozenset({"k1"}), now=1_000)  # its key removed
    assert not check_ui_session(cookie.replace("2000.", "9000."), keys, now=1_000)  # expiry moved
    for forged in (None, "", "2000", "x.y", "-1.abc", "２０００." + cookie.split(".")[1]):
        assert not check_ui_session(forged, keys, now=1_000)
    assert "k2" not in cookie
