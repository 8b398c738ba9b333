"""The calls of ``lua/index.lua`` as typed records: the only code that knows how a call's
arguments are laid out in ARGV and how its reply is laid out.

A call is the command, its named arguments, and for some commands items (records of named
fields); the script reads them by name. Each reply row holds the fields this module names
in the call (``<kind>_row``), in that order, so a row is unpacked right beside the tuple
that names its fields."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import orjson

from .candidate import Candidate, unpack_record
from .fingerprint import Fingerprint
from .keys import site_key
from .minhash import Signature
from .storedtext import pack_text, unpack_text

_TOKEN = np.dtype([("shard", ">u2"), ("field", "<u4")])

# reply rows, by kind: the fields the script puts in each, in order (candidates come flat)
CANDIDATE_ROW = ("iid", "ext", "cluster", "record", "meta", "text_hash", "shared", "anchors")
FOUND_ROW = ("searched", "candidates")
UPSERTED_ROW = ("status", "iid", "cluster", "searched", "candidates", "learnt", "pending")
STORED_ROW = ("article", "text", "ingested", "searched", "candidates")
EXPIRED_ROW = ("removed", "steps")
FINISHED_ROW = ("cluster", "learnt")
MEMBER_ROW = ("iid", "ext", "record", "meta", "text_hash", "ingested")
CLUSTER_ROW = ("size", "members")
SUMMARY_ROW = ("cluster", "score", "size", "metas", "first")
LISTING_ROW = ("scanned", "last_score", "last_cluster", "clusters")
# items, by command: the fields of each, in the order their values are sent
WRITE_ITEM = ("id", "text_hash", "bands", "anchors", "record", "meta", "text", "site", "line_keys", "sent_hash")
FINISH_ITEM = ("iid", "site", "line_keys", "links")


@dataclass(frozen=True, slots=True)
class Found:
    """Candidates of one search, and how many of the query's anchors were searched."""

    candidates: list[Candidate]
    searched_anchors: int


@dataclass(frozen=True, slots=True)
class Write:
    """One article to index; its site's line keys are counted if it is a new story.
    ``sent_hash`` identifies the text as sent (before site chrome is taken out), so that
    sending an id again with the same text changes nothing (default: the cleaned text's
    hash)."""

    article_id: str
    fingerprint: Fingerprint
    meta: dict[str, str]
    site: str | None = None
    line_keys: Sequence[bytes] = ()
    sent_hash: bytes = b""


@dataclass(frozen=True, slots=True)
class Encoded:
    """Articles to write, as the arguments of their script call (``write_call``)."""

    items: Sequence[Write]
    args: list[Any]


@dataclass(frozen=True, slots=True)
class Finish:
    """The verdict to record for one indexed article: its copies, and its site's lines."""

    iid: str
    links: Sequence[str]
    site: str | None = None
    line_keys: Sequence[bytes] = ()


@dataclass(frozen=True, slots=True)
class Learnt:
    """A site's lines that its latest story made chrome (carried by enough stories)."""

    site: str
    line_keys: list[bytes]


@dataclass(frozen=True, slots=True)
class UpsertResult:
    status: str  # created | replaced | unchanged | updated (same text, new metadata)
    iid: str
    cluster_id: str
    found: Found  # unverified: the caller verifies, then records the verdict with ``finish``
    learnt: Learnt | None
    # a candidate could be a copy: the verdict must be recorded with ``finish`` (until
    # then the article is pending); else the site's lines were counted already
    pending: bool


@dataclass(frozen=True, slots=True)
class FinishResult:
    cluster_id: str | None  # None when the article is gone
    learnt: Learnt | None


@dataclass(frozen=True, slots=True)
class Stored:
    article: Candidate
    text: str
    ingested_at: float
    found: Found


@dataclass(frozen=True, slots=True)
class Member:
    iid: str
    id: str
    signature: Signature
    text_hash: bytes
    meta: dict[str, str]
    ingested_at: float


@dataclass(frozen=True, slots=True)
class ListingCursor:
    """A place in the listing of clusters by last change: that change's time, as Redis
    wrote the score, and the cluster id (clusters changed at one time are many)."""

    score: str
    cluster_id: str

    def token(self) -> str:
        return base64.urlsafe_b64encode(f"{self.score} {self.cluster_id}".encode()).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str) -> ListingCursor:
        """Raises ValueError for anything ``token()`` did not make."""
        try:
            score, cluster_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(" ")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(token) from exc
        if not math.isfinite(float(score)) or not cluster_id:
            raise ValueError(token)
        return cls(score, cluster_id)


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    cluster_id: str
    size: int
    metas: list[dict[str, str]]
    position: ListingCursor  # where a listing that stops at this cluster goes on
    first: float | None  # ingest time of its earliest member (None in indexes older than that)


def _text(value: bytes) -> str:
    return value.decode("utf-8")


def tokens(hashes: bytes, shard_bits: int) -> bytes:
    """6-byte posting tokens of 8-byte hashes: a shard of ``shard_bits`` (2 bytes, from the
    top bits) and a field (4 bytes, from the low half); see ``lua/index.lua``."""
    h = np.frombuffer(hashes, dtype="<u8")
    out = np.empty(len(h), dtype=_TOKEN)
    out["shard"] = h >> np.uint64(64 - shard_bits)
    out["field"] = h & np.uint64(0xFFFFFFFF)
    return out.tobytes()


def fixed_args(values: Mapping[str, float]) -> dict[str, bytes]:
    """Arguments a caller sends alike in every call (settings), encoded once, as bytes."""
    return {name: repr(value).encode() for name, value in values.items()}


@cache
def _sent(name: str) -> bytes:
    """A name as sent, encoded once: names are few and fixed, and redis-py encodes each
    str argument of every call anew (bytes it passes as they are)."""
    return name.encode()


@cache
def _row(fields: tuple[str, ...]) -> bytes:
    """A reply row's field names as the script reads them: one argument, comma-joined."""
    return ",".join(fields).encode()


def call(
    command: str, args: Mapping[str, Any], fields: Sequence[str] = (), items: Sequence[Sequence[Any]] = ()
) -> list[Any]:
    """ARGV of a call: the command; the count, names and values of its arguments; then,
    with items, the count and names of their fields and each item's values."""
    out: list[Any] = [command, len(args), *map(_sent, args), *args.values()]
    if fields:
        out += [len(fields), *map(_sent, fields)]
        for item in items:
            out += item
    return out


def write_call(items: Sequence[Write], now: float, settings: Mapping[str, Any], shard_bits: int) -> list[Any]:
    """ARGV of the call that writes ``items`` and finds each one's candidates."""
    rows = []
    for w in items:
        fp = w.fingerprint
        rows.append((w.article_id, fp.text_hash, tokens(fp.bands, shard_bits), tokens(fp.anchors, shard_bits),
                     fp.record, orjson.dumps(w.meta), pack_text(fp.text), site_key(w.site) if w.site else "",
                     b"".join(w.line_keys) if w.site else b"", w.sent_hash or fp.text_hash))  # fmt: skip
    args = {"now": repr(now), **settings, "candidate_row": _row(CANDIDATE_ROW),
            "upserted_row": _row(UPSERTED_ROW)}  # fmt: skip
    return call("upsert", args, WRITE_ITEM, rows)


def upserted(items: Sequence[Write], reply: Sequence[Any]) -> list[UpsertResult]:
    out = []
    for w, (status, iid, cid, searched, rows, learnt, pending) in zip(items, reply, strict=True):
        out.append(UpsertResult(_text(status), _text(iid), _text(cid), found(searched, rows), _learnt(w.site, learnt),
                                bool(pending)))  # fmt: skip
    return out


def search_call(settings: Mapping[str, Any], exclude: str, bands: bytes, anchors: bytes) -> list[Any]:
    args = {**settings, "exclude": exclude, "bands": bands, "anchors": anchors,
            "candidate_row": _row(CANDIDATE_ROW), "found_row": _row(FOUND_ROW)}  # fmt: skip
    return call("check", args)


def found(searched: int, rows: Sequence[Any]) -> Found:
    """Candidate rows come flat, one after another (there can be thousands)."""
    width = len(CANDIDATE_ROW)
    return Found([_candidate(rows[i : i + width]) for i in range(0, len(rows), width)], int(searched))


def _candidate(row: Sequence[Any]) -> Candidate:
    iid, ext, cid, record, meta, th, shared, anchors = row
    return Candidate(_text(iid), _text(ext), record, th, meta, _text(cid), int(shared), int(anchors))


def get_call(article_id: str, settings: Mapping[str, Any]) -> list[Any]:
    args = {"id": article_id, **settings, "candidate_row": _row(CANDIDATE_ROW),
            "stored_row": _row(STORED_ROW)}  # fmt: skip
    return call("get", args)


def stored(reply: Sequence[Any] | None) -> Stored | None:
    if not reply:
        return None
    article, z, ingested, searched, rows = reply
    return Stored(_candidate(article), unpack_text(z), float(ingested), found(searched, rows))


def expire_call(cutoff: float, now: float, at_most: int, max_steps: int) -> list[Any]:
    return call("expire", {"cutoff": repr(cutoff), "now": repr(now), "at_most": at_most, "max_steps": max_steps,
                           "expired_row": _row(EXPIRED_ROW)})  # fmt: skip


def expired(reply: Sequence[Any]) -> tuple[int, int]:
    removed, steps = reply
    return int(removed), int(steps)


def finish_call(items: Sequence[Finish], now: float, lines_kept: int, chrome_stories: int) -> list[Any]:
    rows = [(f.iid, site_key(f.site) if f.site else "", b"".join(f.line_keys) if f.site else b"", ",".join(f.links))
            for f in items]  # fmt: skip
    args = {"now": repr(now), "lines_kept": lines_kept, "chrome_stories": chrome_stories,
            "finished_row": _row(FINISHED_ROW)}  # fmt: skip
    return call("finish", args, FINISH_ITEM, rows)


def finished(items: Sequence[Finish], reply: Sequence[Any]) -> list[FinishResult]:
    return [
        FinishResult(None if cid is None else _text(cid), _learnt(f.site, learnt))
        for f, (cid, learnt) in zip(items, reply, strict=True)
    ]


def _learnt(site: str | None, keys: Sequence[bytes]) -> Learnt | None:
    return Learnt(site, list(keys)) if site and keys else None


def cluster_call(cluster_id: str, max_members: int) -> list[Any]:
    return call("cluster", {"cluster": cluster_id, "max_members": max_members, "member_row": _row(MEMBER_ROW),
                            "cluster_row": _row(CLUSTER_ROW)})  # fmt: skip


def cluster_members(reply: Sequence[Any]) -> tuple[int, list[Member]]:
    size, rows = reply
    members = []
    for iid, ext, record, meta, th, ingested in rows:
        sig, _ = unpack_record(record)
        members.append(Member(_text(iid), _text(ext), sig, th, orjson.loads(meta), float(ingested)))
    return int(size), members


def recent_call(since: float, after: ListingCursor | None, count: int, min_size: int, max_members: int) -> list[Any]:
    start = after or ListingCursor("+inf", "")
    args = {"since": repr(since), "after_score": start.score, "after_cluster": start.cluster_id, "count": count,
            "min_size": min_size, "max_members": max_members, "summary_row": _row(SUMMARY_ROW),
            "listing_row": _row(LISTING_ROW)}  # fmt: skip
    return call("recent", args)


def listing(reply: Sequence[Any], count: int) -> tuple[ListingCursor | None, list[ClusterSummary]]:
    scanned, score, last, rows = reply
    summaries = [
        ClusterSummary(_text(cid), int(size), [orjson.loads(m) for m in metas if m is not None],
                       ListingCursor(_text(at), _text(cid)), float(first) if first else None)
        for cid, at, size, metas, first in rows
    ]  # fmt: skip
    return (ListingCursor(_text(score), _text(last)) if int(scanned) == count else None), summaries


def one_field(command: str, args: Mapping[str, Any], field: str, values: Sequence[Any]) -> list[Any]:
    """ARGV of a call whose items have one field each (ids, site keys)."""
    return call(command, args, (field,), [(v,) for v in values])
