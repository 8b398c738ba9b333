"""Per-site chrome lines, cached in the process so that ingest needs no extra round trip.

The index counts, per site, how many stories carried each line; a line carried by
``chrome_min_stories`` of them is chrome. Reading those counts for every article would
cost a Redis call before the fingerprint can even be computed, so each process keeps the
chrome lines of the sites it sees and re-reads a site's lines at most every
``CHROME_REFRESH`` seconds. Lines this process learns become chrome at once; lines that
another process learns, within ``CHROME_REFRESH`` seconds.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable

from . import constants as c
from .index import RedisIndex
from .keys import site_key
from .records import Learnt


class SiteChrome:
    def __init__(self, index: RedisIndex, refresh: float = c.CHROME_REFRESH, max_sites: int = c.CHROME_SITES_CACHED):
        self.index = index
        self.refresh = refresh
        self.max_sites = max_sites
        self._sites: OrderedDict[str, tuple[float, set[bytes]]] = OrderedDict()

    async def lines(self, sites: Iterable[str]) -> dict[str, set[bytes]]:
        """The chrome line keys of each site (one Redis call for the sites not fresh here)."""
        wanted = {site: site_key(site) for site in sites}
        now = time.monotonic()
        stale = sorted(
            {key for key in wanted.values() if key not in self._sites or now - self._sites[key][0] > self.refresh}
        )
        if stale:
            for key, lines in zip(stale, await self.index.chrome_lines(stale), strict=True):
                self._sites[key] = (now, set(lines))
        for key in wanted.values():
            self._sites.move_to_end(key)
        while len(self._sites) > self.max_sites:
            self._sites.popitem(last=False)
        return {site: self._sites[key][1] for site, key in wanted.items() if key in self._sites}

    def learn(self, learnt: Learnt | None) -> None:
        """Lines that this process's writes just made chrome."""
        if learnt is not None and (entry := self._sites.get(site_key(learnt.site))):
            entry[1].update(learnt.line_keys)
