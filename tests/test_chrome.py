"""Site chrome learnt by one service process applies in another that shares the index."""

from __future__ import annotations

from dedup_service import Settings
from dedup_service.models import Article
from dedup_service.runtime import open_service

TOP = "Connect with us\nHi, what are you looking for?\n"
BOTTOM = "\nWritten By\nWith 2,400 staff the agency covers the world.\nYou may also like:\n"


def _story(i: int) -> str:
    return f"Story {i} begins here. " + " ".join(f"w{i}x{j}" for j in range(60))


async def test_chrome_learnt_by_one_process_applies_in_another(settings: Settings) -> None:
    async with open_service(settings) as first, open_service(settings) as second:
        second.chrome.refresh = 3600.0
        # the second process reads the site's chrome (none yet) and caches it
        await second.ingest(Article(id="s0", text=TOP + _story(0) + BOTTOM, site="example.com"))
        for i in (1, 2, 3):
            await first.ingest(Article(id=f"s{i}", text=TOP + _story(i) + BOTTOM, site="example.com"))
        assert "Connect with us" not in (await first.get("s3")).text  # learnt here: applies at once
        # within its refresh period the second process still uses what it cached
        await second.ingest(Article(id="s4", text=TOP + _story(4) + BOTTOM, site="example.com"))
        assert "Connect with us" in (await second.get("s4")).text
        second.chrome.refresh = 0.0  # past the refresh period: it reads the index again
        await second.ingest(Article(id="s5", text=TOP + _story(5) + BOTTOM, site="example.com"))
        kept = (await second.get("s5")).text
        assert "Connect with us" not in kept and "You may also like:" not in kept
        assert _story(5) in kept


async def test_a_hard_wrapped_line_that_runs_on_is_never_chrome(settings: Settings) -> None:
    """Wire copy wraps sentences across lines: a line that many stories share but that
    runs on into the next one ("... Baker said" / "that ...") is part of a sentence."""
    async with open_service(settings) as dedup:
        for i in range(5):
            text = (f"{TOP}Story {i} opens with its own words.\nTreasury Secretary James Baker said\n"
                    f"that {_story(i)} would follow.{BOTTOM}")  # fmt: skip
            await dedup.ingest(Article(id=f"w{i}", text=text, site="wire.example"))
        kept = (await dedup.get("w4")).text
        assert "Treasury Secretary James Baker said" in kept
        assert "Connect with us" not in kept and "You may also like:" not in kept  # standalone lines are
