"""Where the pieces of a partitioned index live, and its search's last steps (pure).

An index of P partitions (docs/design.md, "Partitions") spreads over P hash tags, so over
P Redis Cluster slots: an article, with its id's entry, its record and its links, lives
in its home partition, picked by its external id; a cluster in the partition its id
names; a posting (an LSH bucket's or an anchor's) in the partition its token's field
picks, so that each posting is read and written in one place; a site's line counts in
the partition its key picks. Internal and cluster ids are a partition's counter times P
plus the partition, so an id names its home.

A search reads its postings where they are and gets each posting's ids; ``Search`` then
does in Python what the script's ``candidates`` does in one partition, in the same order,
so that both layouts find the same candidates."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import xxhash

from .protocol import found
from .records import Found

TOKEN = 6  # bytes per posting token: a 2-byte shard and a 4-byte field (protocol.tokens)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Router:
    """The partition of each piece of a partitioned index."""

    parts: int

    def of_id(self, article_id: str) -> int:
        return xxhash.xxh3_64_intdigest(article_id.encode()) % self.parts

    def of_iid(self, iid: str) -> int:
        return int(iid) % self.parts

    def of_cluster(self, cluster_id: str) -> int:
        return int(cluster_id[1:]) % self.parts

    def of_site(self, site_key: str) -> int:
        return int(site_key, 16) % self.parts

    def split(self, tokens: bytes) -> tuple[list[int], dict[int, bytes]]:
        """Each token's partition, and the tokens of each partition in their order. The
        field's high 16 bits pick the partition: not the shard's bits, so a partition
        still uses every shard (P partitions hold P times the postings before a shard
        outgrows its compact encoding), and not the low bits, which the anchor sample
        fixes (an anchor's hash is 0 modulo the sample)."""
        where: list[int] = []
        out: dict[int, list[bytes]] = {}
        for at in range(0, len(tokens), TOKEN):
            token = tokens[at : at + TOKEN]
            k = int.from_bytes(token[4:], "little") % self.parts
            where.append(k)
            out.setdefault(k, []).append(token)
        return where, {k: b"".join(v) for k, v in out.items()}


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """The script's search settings (``RedisIndex._search``), as numbers."""

    max_candidates: int
    min_shared: int
    min_share: float
    copy_share: float
    per_cluster: int

    @classmethod
    def of(cls, args: Mapping[str, bytes]) -> SearchSettings:
        return cls(int(args["max_candidates"]), int(args["min_shared"]), float(args["min_share"]),
                   float(args["copy_share"]), int(args["per_cluster"]))  # fmt: skip


@dataclass(slots=True)
class Search:
    """One query's candidates, from its postings as they were read (each a comma-joined
    string of ids, or None): the articles sharing a bucket, then those sharing enough
    anchors, in the order the script finds them; ``wanted`` are those whose records
    decide the rest, ``found`` makes the candidates of those records."""

    bands: Sequence[bytes | None]
    anchors: Sequence[bytes | None]
    skip: frozenset[bytes]
    settings: SearchSettings
    order: list[bytes] = field(default_factory=list)
    by_band: set[bytes] = field(default_factory=set)
    shared: dict[bytes, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        seen = set(self.skip)
        for value in self.bands:
            for m in value.split(b",") if value else ():
                if m not in seen:
                    seen.add(m)
                    self.by_band.add(m)
                    self.order.append(m)
        s = self.settings
        need = min(s.min_shared, max(1, math.ceil(s.min_share * len(self.anchors))))
        for value in self.anchors:
            for m in value.split(b",") if value else ():
                k = self.shared.get(m, 0) + 1
                self.shared[m] = k
                if k == need and m not in seen:
                    seen.add(m)
                    self.order.append(m)

    @property
    def wanted(self) -> list[bytes]:
        return self.order[: self.settings.max_candidates]

    def found(self, records: Mapping[bytes, Sequence[bytes | None]]) -> Found:
        """The candidates, given each wanted article's fields (x, c, r, m, t, a; x None
        when it is gone), kept as the script keeps them: a bucket's, or one sharing the
        share ``min_share`` of the smaller anchor set; at most ``per_cluster`` a cluster."""
        s, n_anchors = self.settings, len(self.anchors)
        rows: list[object] = []
        per_cluster: dict[bytes, int] = {}
        for m in self.wanted:
            ext, cid, record, meta, text_hash, anchors = records[m]
            if ext is None or cid is None or anchors is None:
                continue
            n_shared, own = self.shared.get(m, 0), len(anchors) // TOKEN
            if m not in self.by_band and n_shared < s.min_share * min(n_anchors, own):
                continue
            taken = per_cluster.get(cid, 0)
            if taken >= s.per_cluster:
                continue
            per_cluster[cid] = taken + 1
            rows += [m, ext, cid, record, meta, text_hash, n_shared, own]
        return found(n_anchors, rows)


def by_home(values: Iterable[T], home: Callable[[T], int]) -> dict[int, list[T]]:
    """``values`` grouped by partition, each group in their order."""
    out: dict[int, list[T]] = {}
    for v in values:
        out.setdefault(home(v), []).append(v)
    return out


def connected_pieces(members: Sequence[str], links: Mapping[str, set[str]]) -> list[list[str]]:
    """The connected pieces of a cluster, by its members' links (links to articles that
    are not ``members`` are left out)."""
    seen: set[str] = set()
    pieces = []
    for start in members:
        if start in seen:
            continue
        piece, stack = [], [start]
        seen.add(start)
        while stack:
            cur = stack.pop()
            piece.append(cur)
            for nb in links.get(cur, ()):
                if nb in links and nb not in seen:
                    seen.add(nb)
                    stack.append(nb)
        pieces.append(piece)
    return pieces
