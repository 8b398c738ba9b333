"""Redis I/O for the index: every operation is one atomic call of ``lua/index.lua``.

Layout (all keys share the hash tag ``{prefix}``, see ``constants.key_layout``): one hash
per article (external id, text hash, cluster id, ingest time, its posting tokens, a packed
record of signature and facts, metadata and cleaned text), keyed by a small integer
internal id; LSH buckets and anchor postings as fields of ``2**shard_bits`` sharded hashes
whose values are comma-joined internal ids (compact listpacks, no key per posting); one
set of links per linked article and one set per cluster; a sorted set of recently changed
clusters; and per site a bounded sorted set counting how many stories carried each line.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import math
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

import numpy as np
import orjson
import redis.exceptions
import xxhash
import zstandard
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from . import constants as c
from .candidate import Candidate, unpack_record
from .constants import key_layout
from .errors import ConfigError, IndexUnavailable
from .fingerprint import Fingerprint
from .minhash import Signature
from .tasks import abandon

_SCRIPT = resources.files(__package__).joinpath("lua/index.lua").read_text(encoding="utf-8")
_ROW = 8  # fields per candidate row returned by the script
_MEMBER_ROW = 6  # fields per cluster member row
_TOKEN = np.dtype([("shard", ">u2"), ("field", "<u4")])
_UNAVAILABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    # Redis Cluster: no reachable node, slots not served, or a failover under way
    redis.exceptions.RedisClusterException,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.MasterDownError,
)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Found:
    """Candidates of one search, and how many of the query's anchors were searched."""

    candidates: list[Candidate]
    searched_anchors: int

    @classmethod
    def from_reply(cls, searched: int, rows: Sequence[bytes]) -> Found:
        return cls([_candidate(rows[i : i + _ROW]) for i in range(0, len(rows), _ROW)], int(searched))


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
    """Articles to write, as the arguments of their script call (see ``RedisIndex.encode``)."""

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


class _TextCodec(threading.local):
    """Stored texts are zstd frames (level 1: about 8 us an article against zlib's 25, for
    the same size); texts stored as zlib streams by earlier versions are still read. A
    zstd context is not safe to share between threads, so each thread has its own."""

    def __init__(self) -> None:
        self.compressor = zstandard.ZstdCompressor(level=1)
        self.decompressor = zstandard.ZstdDecompressor()


_CODEC = _TextCodec()
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _pack_text(text: str) -> bytes:
    return _CODEC.compressor.compress(text.encode("utf-8"))


def _unpack_text(z: bytes) -> str:
    if z.startswith(_ZSTD_MAGIC):
        return _CODEC.decompressor.decompress(z).decode("utf-8")
    return zlib.decompress(z).decode("utf-8")


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


def _candidate(row: Sequence[Any]) -> Candidate:
    iid, ext, cid, record, meta, th, shared, anchors = row[:_ROW]
    return Candidate(_text(iid), _text(ext), record, th, meta, _text(cid), int(shared), int(anchors))


def _learnt(site: str | None, keys: Sequence[bytes]) -> Learnt | None:
    return Learnt(site, list(keys)) if site and keys else None


def site_key(site: str) -> str:
    """Sites are case-insensitive and hashed, so any site string makes a short key."""
    return xxhash.xxh3_64_hexdigest(site.strip().casefold().encode())


class RedisIndex:
    def __init__(
        self,
        redis: Redis | RedisCluster,
        key_prefix: str,
        max_candidates: int,
        chrome_min_stories: int = c.CHROME_MIN_STORIES,
        shard_bits: int = c.DEFAULT_SHARD_BITS,
    ) -> None:
        self.redis = redis
        self.max_candidates = max_candidates
        self.chrome_min_stories = chrome_min_stories
        self.shard_bits = shard_bits
        keys = key_layout(key_prefix)
        self._match = "{" + key_prefix + "}*"
        self._keys = [keys["ids"]]  # the script derives every other key from this one
        self._layout = keys["layout"]
        self._base = keys["ids"][: -len("ids")]
        self._script = redis.register_script(_SCRIPT)
        self._search = [max_candidates, c.MIN_SHARED_ANCHORS, c.MIN_SHARED_ANCHOR_SHARE, c.COPY_ANCHOR_SHARE,
                        c.MAX_POSTINGS, c.MAX_ANCHOR_POSTINGS, c.CLUSTER_CANDIDATES]  # fmt: skip

    async def _call(self, command: str, *args: Any) -> Any:
        return await _guard(lambda: self._script(keys=self._keys, args=[command, *args]))

    def encode(self, items: Sequence[Write]) -> Encoded:
        """The script call that writes ``items`` (apart, so that a pipeline can prepare it
        while Redis runs the previous one)."""
        args: list[Any] = ["upsert", repr(time.time()), c.SITE_LINES_KEPT, self.chrome_min_stories, *self._search]
        for w in items:
            fp = w.fingerprint
            args += [
                w.article_id, fp.text_hash, tokens(fp.bands, self.shard_bits), tokens(fp.anchors, self.shard_bits),
                fp.record, orjson.dumps(w.meta),
                _pack_text(fp.text),
                site_key(w.site) if w.site else "",
                b"".join(w.line_keys) if w.site else b"",
                w.sent_hash or fp.text_hash,
            ]  # fmt: skip
        return Encoded(items, args)

    async def write(self, encoded: Encoded) -> list[UpsertResult]:
        """Run an ``encode``d write: one round trip."""
        return (await self.write_many([encoded]))[0]

    async def write_many(self, batch: Sequence[Encoded]) -> list[list[UpsertResult]]:
        """Run ``encode``d writes in order, in one pipeline: one round trip for all."""

        async def run() -> list[Any]:
            async with self.redis.pipeline(transaction=False) as pipe:
                for encoded in batch:
                    pipe.evalsha(self._script.sha, len(self._keys), *self._keys, *encoded.args)
                return await pipe.execute(raise_on_error=False)

        replies = await _guard(run)
        if all(isinstance(r, redis.exceptions.NoScriptError) for r in replies):  # nothing ran: load it, again
            await _guard(lambda: self.redis.script_load(_SCRIPT))
            replies = await _guard(run)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return [_upserted(encoded, reply) for encoded, reply in zip(batch, replies, strict=True)]

    def chain(self) -> WriteChain:
        """Writes made in the order sent (see ``WriteChain``)."""
        return WriteChain(self.write_many)

    async def query(self, fp: Fingerprint, exclude_id: str | None = None) -> Found:
        """Candidates of a fingerprint (read-only), leaving out the given article id."""
        bands, anchors = tokens(fp.bands, self.shard_bits), tokens(fp.anchors, self.shard_bits)
        searched, rows, _ = await self._call("check", *self._search, exclude_id or "", bands, anchors)
        return Found.from_reply(searched, rows)

    async def get(self, article_id: str) -> Stored | None:
        reply = await self._call("get", article_id, *self._search)
        if reply is None:
            return None
        art = _candidate(reply[:_ROW])
        text = _unpack_text(reply[_ROW])
        return Stored(art, text, float(reply[_ROW + 1]), Found.from_reply(*reply[_ROW + 2 :]))

    async def texts(self, iids: Sequence[str]) -> dict[str, str]:
        """Cleaned texts of indexed articles by internal id (articles gone are left out)."""
        if not iids:
            return {}
        reply = await self._call("texts", *iids)
        return {iid: _unpack_text(z) for iid, z in zip(iids, reply, strict=True) if z}

    async def delete(self, article_id: str) -> bool:
        return bool(await self._call("delete", article_id, repr(time.time())))

    async def expire(self, cutoff: float, at_most: int) -> bool:
        """Remove up to ``at_most`` articles ingested before ``cutoff`` (Unix seconds);
        True when more may be left."""
        max_steps = 10 * at_most  # internal ids looked at, deleted ones included
        removed, steps = await self._call("expire", repr(cutoff), repr(time.time()), at_most, max_steps)
        return int(removed) >= at_most or int(steps) >= max_steps

    async def pending(self, cutoff: float, at_most: int) -> list[str]:
        """Articles indexed before ``cutoff`` whose candidates were never verified and linked
        (the service stopped between the two calls of an ingest)."""
        return [_text(x) for x in await self._call("pending", repr(cutoff), at_most)]

    async def chrome_lines(self, site_keys: Sequence[str]) -> list[list[bytes]]:
        """For each site (by ``site_key``): the keys of the lines carried by at least
        ``chrome_min_stories`` of its stories (its chrome)."""
        if not site_keys:
            return []
        reply = await self._call("chrome", self.chrome_min_stories, c.SITE_LINES_KEPT, *site_keys)
        return [list(keys) for keys in reply]

    async def finish(
        self, iid: str, links: Sequence[str], site: str | None = None, line_keys: Sequence[bytes] = ()
    ) -> FinishResult:
        return (await self.finish_many([Finish(iid, links, site, line_keys)]))[0]

    async def finish_many(self, items: Sequence[Finish]) -> list[FinishResult]:
        """Record verdicts: count each article's lines for its site (when given), link it to
        its verified copies, merging their clusters, and clear its pending mark."""
        if not items:
            return []
        args: list[Any] = [repr(time.time()), c.SITE_LINES_KEPT, self.chrome_min_stories]
        for f in items:
            args += [f.iid, site_key(f.site) if f.site else "", b"".join(f.line_keys) if f.site else b"",
                     ",".join(f.links)]  # fmt: skip
        replies = await self._call("finish", *args)
        return [
            FinishResult(None if cid is None else _text(cid), _learnt(f.site, learnt))
            for f, (cid, learnt) in zip(items, replies, strict=True)
        ]

    def _delivery_key(self, delivery: str) -> str:
        return self._base + "w:" + xxhash.xxh3_128_hexdigest(delivery.encode())

    async def claim_delivery(self, delivery: str) -> bytes | None:
        """None when this call claimed the webhook delivery; else its stored answer
        (empty while the first attempt is still being processed)."""
        key = self._delivery_key(delivery)
        if await _guard(lambda: self.redis.set(key, b"", nx=True, ex=c.DELIVERY_PENDING_TTL)):
            return None
        answer: bytes | None = await _guard(lambda: self.redis.get(key))  # type: ignore[arg-type,return-value]
        return answer or b""

    async def store_delivery(self, delivery: str, answer: bytes) -> None:
        key = self._delivery_key(delivery)
        await _guard(lambda: self.redis.set(key, answer, ex=c.DELIVERY_TTL))

    async def release_delivery(self, delivery: str) -> None:
        key = self._delivery_key(delivery)
        await _guard(lambda: self.redis.delete(key))

    async def clusters(self, article_ids: Sequence[str]) -> list[str | None]:
        reply = await self._call("clusters", *article_ids)
        return [None if cid is None else _text(cid) for cid in reply]

    async def cluster(self, cluster_id: str, max_members: int) -> tuple[int, list[Member]]:
        size, rows = await self._call("cluster", cluster_id, max_members)
        members = []
        for i in range(0, len(rows), _MEMBER_ROW):
            iid, ext, record, meta, th, ingested = rows[i : i + _MEMBER_ROW]
            sig, _ = unpack_record(record)
            members.append(Member(_text(iid), _text(ext), sig, th, orjson.loads(meta), float(ingested)))
        return int(size), members

    async def recent_clusters(
        self, since: float, after: ListingCursor | None, count: int, min_size: int, max_members: int
    ) -> tuple[ListingCursor | None, list[ClusterSummary]]:
        """``count`` clusters scanned after ``after``, most recently changed first, and
        those of at least ``min_size`` members; with where the next page starts (None: the
        listing is exhausted)."""
        start = after or ListingCursor("+inf", "")
        scanned, score, cid, rows = await self._call(
            "recent", repr(since), start.score, start.cluster_id, count, min_size, max_members
        )
        summaries = [
            ClusterSummary(_text(cid), int(size), [orjson.loads(m) for m in metas if m is not None],
                           ListingCursor(_text(at), _text(cid)))
            for cid, at, size, metas in rows
        ]  # fmt: skip
        return (ListingCursor(_text(score), _text(cid)) if int(scanned) == count else None), summaries

    async def drop(self) -> None:
        """Delete every key of this index (for throw-away indexes such as evaluation runs)."""

        async def run() -> None:
            batch = [key async for key in self.redis.scan_iter(match=self._match, count=1000)]
            for start in range(0, len(batch), 1000):
                await self.redis.delete(*batch[start : start + 1000])

        await _guard(run)

    async def check_layout(self, layout: dict[str, str]) -> None:
        """Record the settings the index is built with on first use; raise ConfigError when
        an existing index was built with others (its signatures and postings would not
        match new ones)."""

        async def record() -> list[bytes | None]:
            async with self.redis.pipeline(transaction=False) as pipe:
                for name, value in layout.items():
                    pipe.hsetnx(self._layout, name, value)
                pipe.hmget(self._layout, list(layout))
                return (await pipe.execute())[-1]  # type: ignore[no-any-return]

        stored = await _guard(record)
        differ = [f"{name}={value.decode()} (configured: {layout[name]})" for name, value in zip(layout, stored,
                  strict=True) if value is not None and value.decode() != layout[name]]  # fmt: skip
        if differ:
            raise ConfigError(f"the index {self._base[:-1]!r} was built with {', '.join(differ)}")

    async def exists(self) -> bool:
        """Whether anything was ever indexed here (an index records its layout on first use)."""
        return bool(await _guard(lambda: self.redis.exists(self._layout)))

    async def count(self) -> int:
        """Articles in the index."""
        return int(await _guard(lambda: self.redis.hlen(self._keys[0])))

    async def ping(self) -> bool:
        return bool(await _guard(self.redis.ping))


def _upserted(encoded: Encoded, replies: Sequence[Any]) -> list[UpsertResult]:
    out = []
    for w, (status, iid, cid, searched, rows, learnt, pending) in zip(encoded.items, replies, strict=True):
        found = Found.from_reply(searched, rows)
        out.append(UpsertResult(_text(status), _text(iid), _text(cid), found, _learnt(w.site, learnt),
                                bool(pending)))  # fmt: skip
    return out


class WriteChain:
    """Writes made in the order they are sent. Each write joins a queue; whatever is
    queued goes to Redis in one pipeline (one round trip; Redis runs a connection's
    commands in order, and each write sees the ones before it), and when that returns,
    whatever was queued meanwhile goes next. So Redis gets the next writes as soon as it
    is done with the last, while this process verifies their results. A failure fails
    every write of its pipeline (those after it may have been made: their pending marks
    leave them to the repair sweep, as after a crash), and no later write is made. The
    same path serves a single Redis and Redis Cluster."""

    def __init__(self, write_many: Callable[[Sequence[Encoded]], Awaitable[list[list[UpsertResult]]]]) -> None:
        self._write_many = write_many
        self._queued: list[tuple[Encoded, asyncio.Future[list[UpsertResult]]]] = []
        self._results: collections.deque[asyncio.Future[list[UpsertResult]]] = collections.deque()
        self._pump: asyncio.Task[None] | None = None
        self._failed: Exception | None = None

    async def __aenter__(self) -> WriteChain:
        return self

    async def __aexit__(self, *exc: object) -> None:
        abandon([self._pump])  # writes of a batch that failed: not made, or failed already
        for result in self._results:
            if not result.done():
                result.cancel()
            elif not result.cancelled():
                result.exception()  # reported by the write that failed, not as never retrieved

    def send(self, encoded: Encoded) -> None:
        result = asyncio.get_running_loop().create_future()
        self._results.append(result)
        if self._failed is not None:
            result.set_exception(self._failed)
            return
        self._queued.append((encoded, result))
        if self._pump is None:
            self._pump = asyncio.create_task(self._send_queued())

    async def _send_queued(self) -> None:
        while self._queued:
            group, self._queued = self._queued, []
            try:
                replies = await self._write_many([encoded for encoded, _ in group])
            except Exception as exc:
                self._failed = exc
                for _, result in [*group, *self._queued]:
                    result.set_exception(exc)
                self._queued = []
                break
            for (_, result), reply in zip(group, replies, strict=True):
                result.set_result(reply)
        self._pump = None

    async def receive(self) -> list[UpsertResult]:
        """The results of the oldest write not yet received."""
        return await self._results.popleft()


async def _guard(call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except _UNAVAILABLE as exc:
        raise IndexUnavailable(f"index unavailable: {exc}") from exc
