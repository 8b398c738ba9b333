"""The calls of ``lua/index.lua``: the only code that knows how a call's arguments are laid
out in ARGV and how its reply is laid out (into the typed records of ``records``).

A call is the command, its named arguments, and for some commands items (records of named
fields); the script reads them by name. Each reply row holds the fields this module names
in the call (``<kind>_row``), in that order, so a row is unpacked right beside the tuple
that names its fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
import orjson

from .candidate import Candidate, unpack_record
from .keys import site_key
from .records import (
    ClusterSummary,
    Finish,
    FinishResult,
    Found,
    Learnt,
    ListingCursor,
    Member,
    Stored,
    UpsertResult,
    Write,
)
from .storedtext import pack_text, unpack_text

_TOKEN = np.dtype([("shard", ">u2"), ("field", "<u4")])

# reply rows, by kind: the fields the script puts in each, in order (candidates come flat)
CANDIDATE_ROW = ("iid", "ext", "cluster", "record", "meta", "text_hash", "shared", "anchors")
FOUND_ROW = ("searched", "candidates")
UPSERTED_ROW = ("status", "iid", "cluster", "searched", "candidates", "learnt", "pending")
CLAIMED_ROW = ("status", "iid", "cluster", "pending", "gone")
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
# a partitioned index's calls (partitioned.py)
POST_ITEM = ("iid", "bands", "anchors")  # 'post' and 'unpost'
LEARN_ITEM = ("site", "line_keys")
ADJOIN_ITEM = ("iid", "links")


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
def row_names(fields: tuple[str, ...]) -> bytes:
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


def write_rows(items: Sequence[Write], shard_bits: int) -> list[tuple[Any, ...]]:
    """Each article of a write as the script takes it (the fields of WRITE_ITEM)."""
    rows = []
    for w in items:
        fp = w.fingerprint
        rows.append((w.article_id, fp.text_hash, tokens(fp.bands, shard_bits), tokens(fp.anchors, shard_bits),
                     fp.record, orjson.dumps(w.meta), pack_text(fp.text), site_key(w.site) if w.site else "",
                     b"".join(w.line_keys) if w.site else b"", w.sent_hash or fp.text_hash))  # fmt: skip
    return rows


def write_call(items: Sequence[Write], now: float, settings: Mapping[str, Any], shard_bits: int) -> list[Any]:
    """ARGV of the call that writes ``items`` and finds each one's candidates."""
    args = {"now": repr(now), **settings, "candidate_row": row_names(CANDIDATE_ROW),
            "upserted_row": row_names(UPSERTED_ROW)}  # fmt: skip
    return call("upsert", args, WRITE_ITEM, write_rows(items, shard_bits))


def upserted(items: Sequence[Write], reply: Sequence[Any]) -> list[UpsertResult]:
    out = []
    for w, (status, iid, cid, searched, rows, learnt, pending) in zip(items, reply, strict=True):
        learnt_lines = site_learnt(w.site, learnt)
        out.append(
            UpsertResult(_text(status), _text(iid), _text(cid), found(searched, rows), learnt_lines, bool(pending))
        )
    return out


def search_call(settings: Mapping[str, Any], exclude: str, bands: bytes, anchors: bytes) -> list[Any]:
    args = {**settings, "exclude": exclude, "bands": bands, "anchors": anchors,
            "candidate_row": row_names(CANDIDATE_ROW), "found_row": row_names(FOUND_ROW)}  # fmt: skip
    return call("check", args)


def found(searched: int, rows: Sequence[Any]) -> Found:
    """Candidate rows come flat, one after another (there can be thousands)."""
    width = len(CANDIDATE_ROW)
    return Found([_candidate(rows[i : i + width]) for i in range(0, len(rows), width)], int(searched))


def _candidate(row: Sequence[Any]) -> Candidate:
    iid, ext, cid, record, meta, th, shared, anchors = row
    return Candidate(_text(iid), _text(ext), record, th, meta, _text(cid), int(shared), int(anchors))


def get_call(article_id: str, settings: Mapping[str, Any]) -> list[Any]:
    args = {"id": article_id, **settings, "candidate_row": row_names(CANDIDATE_ROW),
            "stored_row": row_names(STORED_ROW)}  # fmt: skip
    return call("get", args)


def stored(reply: Sequence[Any] | None) -> Stored | None:
    if not reply:
        return None
    article, z, ingested, searched, rows = reply
    return Stored(_candidate(article), unpack_text(z), float(ingested), found(searched, rows))


def expire_args(cutoff: float, now: float, at_most: int, max_steps: int) -> dict[str, Any]:
    return {"cutoff": repr(cutoff), "now": repr(now), "at_most": at_most, "max_steps": max_steps,
            "expired_row": row_names(EXPIRED_ROW)}  # fmt: skip


def expire_call(cutoff: float, now: float, at_most: int, max_steps: int) -> list[Any]:
    return call("expire", expire_args(cutoff, now, at_most, max_steps))


def delete_args(article_id: str, now: float) -> dict[str, Any]:
    return {"id": article_id, "now": repr(now)}


def chrome_args(chrome_stories: int, at_most: int) -> dict[str, Any]:
    return {"chrome_stories": chrome_stories, "at_most": at_most}


def expired(reply: Sequence[Any]) -> tuple[int, int]:
    removed, steps = reply
    return int(removed), int(steps)


def finish_call(items: Sequence[Finish], now: float, lines_kept: int, chrome_stories: int) -> list[Any]:
    rows = [(f.iid, site_key(f.site) if f.site else "", b"".join(f.line_keys) if f.site else b"", ",".join(f.links))
            for f in items]  # fmt: skip
    args = {"now": repr(now), "lines_kept": lines_kept, "chrome_stories": chrome_stories,
            "finished_row": row_names(FINISHED_ROW)}  # fmt: skip
    return call("finish", args, FINISH_ITEM, rows)


def finished(items: Sequence[Finish], reply: Sequence[Any]) -> list[FinishResult]:
    return [
        FinishResult(None if cid is None else _text(cid), site_learnt(f.site, learnt))
        for f, (cid, learnt) in zip(items, reply, strict=True)
    ]


def site_learnt(site: str | None, keys: Sequence[bytes]) -> Learnt | None:
    return Learnt(site, list(keys)) if site and keys else None


def cluster_call(cluster_id: str, max_members: int) -> list[Any]:
    return call("cluster", {"cluster": cluster_id, "max_members": max_members, "member_row": row_names(MEMBER_ROW),
                            "cluster_row": row_names(CLUSTER_ROW)})  # fmt: skip


def cluster_members(reply: Sequence[Any]) -> tuple[int, list[Member]]:
    size, rows = reply
    members = []
    for iid, ext, record, meta, th, ingested in rows:
        sig, _ = unpack_record(record)
        members.append(Member(_text(iid), _text(ext), sig, th, orjson.loads(meta), float(ingested)))
    return int(size), members


def recent_args(since: float, after: ListingCursor | None, count: int, min_size: int,
                max_members: int) -> dict[str, Any]:  # fmt: skip
    start = after or ListingCursor("+inf", "")
    return {"since": repr(since), "after_score": start.score, "after_cluster": start.cluster_id, "count": count,
            "min_size": min_size, "max_members": max_members, "summary_row": row_names(SUMMARY_ROW),
            "listing_row": row_names(LISTING_ROW)}  # fmt: skip


def recent_call(since: float, after: ListingCursor | None, count: int, min_size: int, max_members: int) -> list[Any]:
    return call("recent", recent_args(since, after, count, min_size, max_members))


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


# a partitioned index's calls (partitioned.py, clustergraph.py)


def placed(args: Mapping[str, Any], part: int, parts: int) -> dict[str, Any]:
    """A call's arguments on partition ``part`` of ``parts``: the ids it draws name it."""
    return {**args, "parts": parts, "part": part}


def claim_args(now: float) -> dict[str, Any]:
    """'claim': items WRITE_ITEM; a CLAIMED_ROW an article."""
    return {"now": repr(now), "claimed_row": row_names(CLAIMED_ROW)}


def post_args(max_post: int, max_anchor_post: int) -> dict[str, Any]:
    """'post': items POST_ITEM; each item's postings as they were."""
    return {"max_post": max_post, "max_anchor_post": max_anchor_post}


def learn_args(lines_kept: int, chrome_stories: int) -> dict[str, Any]:
    """'learn': items LEARN_ITEM; each site's lines now chrome."""
    return {"lines_kept": lines_kept, "chrome_stories": chrome_stories}


def relabel_args(cluster_id: str) -> dict[str, Any]:
    """'relabel': items iid; each article's ingest time (None when gone)."""
    return {"cluster": cluster_id}
