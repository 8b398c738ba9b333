"""Candidates verified into matches: the estimates first, the stored texts of the pairs
they cannot settle (fetched in one call for all) measured off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .classify import examine, verify
from .fingerprint import Fingerprint
from .index import RedisIndex
from .models import Match
from .records import Found
from .thresholds import Thresholds


class Verifier:
    def __init__(self, index: RedisIndex, thresholds: Thresholds) -> None:
        self.index = index
        self.thresholds = thresholds

    async def matches(self, fp: Fingerprint, found: Found, limit: int) -> list[Match]:
        return (await self.matches_of([(fp, found)]))[0][:limit]

    async def matches_of(self, queries: Sequence[tuple[Fingerprint, Found]]) -> list[list[Match]]:
        """Verified matches of each fingerprint's candidates (see ``classify``)."""
        t = self.thresholds
        examined = [examine(fp, found.candidates, found.searched_anchors, t) for fp, found in queries]
        results = [matches for matches, _ in examined]
        unsure = [i for i, (_, iids) in enumerate(examined) if iids]
        if unsure:
            texts = await self.index.texts(sorted({iid for i in unsure for iid in examined[i][1]}))

            def settle() -> list[list[Match]]:
                return [verify(queries[i][0], queries[i][1].candidates, queries[i][1].searched_anchors, t, texts)
                        for i in unsure]  # fmt: skip

            # aligning takes milliseconds (up to about 100 for degenerate texts): off the loop
            settled = await asyncio.get_running_loop().run_in_executor(None, settle)
            for i, matches in zip(unsure, settled, strict=True):
                results[i] = matches
        return results
