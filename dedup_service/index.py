"""Redis I/O for the LSH index: every operation is one atomic Lua call (``lua/index.lua``).

Layout (all keys share the hash tag ``{prefix}``, see ``constants.key_layout``):
one hash per article holding its packed signature, shingle count, text hash, metadata
and cluster id, keyed by a small integer internal id so that LSH buckets are Redis
intsets; one set per LSH bucket; one set of links per article and one set per cluster.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

import orjson
import redis.exceptions
from redis.asyncio import Redis

from .classify import Candidate
from .constants import key_layout
from .errors import IndexUnavailable
from .fingerprint import Fingerprint
from .minhash import Signature

_SCRIPT = resources.files(__package__).joinpath("lua/index.lua").read_text(encoding="utf-8")
_ROW = 7  # fields per candidate row returned by the script
_UNAVAILABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class UpsertResult:
    status: str  # created | replaced | unchanged
    iid: str
    cluster_id: str
    candidates: list[Candidate]


@dataclass(frozen=True, slots=True)
class Stored:
    article: Candidate
    candidates: list[Candidate]


def _text(value: bytes) -> str:
    return value.decode("utf-8")


def _candidates(rows: Sequence[bytes]) -> list[Candidate]:
    return [
        Candidate(
            iid=_text(rows[i]),
            id=_text(rows[i + 1]),
            signature=Signature.from_bytes(rows[i + 2], int(rows[i + 3])),
            text_hash=rows[i + 4],
            meta=orjson.loads(rows[i + 5]),
            cluster_id=_text(rows[i + 6]),
        )
        for i in range(0, len(rows), _ROW)
    ]


class RedisIndex:
    def __init__(self, redis: Redis, key_prefix: str, max_candidates: int) -> None:
        self.redis = redis
        self.max_candidates = max_candidates
        keys = key_layout(key_prefix)
        self._keys = [keys["ids"], keys["seq"], keys["cseq"]]
        self._prefixes = [keys["doc"], keys["band"], keys["link"], keys["cluster"]]
        self._script = redis.register_script(_SCRIPT)

    async def _call(self, command: str, *args: Any) -> Any:
        return await _guard(lambda: self._script(keys=self._keys, args=[*self._prefixes, command, *args]))

    async def upsert(self, article_id: str, fp: Fingerprint, meta: dict[str, str]) -> UpsertResult:
        status, iid, cid, rows = await self._call(
            "upsert",
            article_id,
            fp.signature.to_bytes(),
            fp.bands,
            fp.text_hash,
            fp.signature.size,
            orjson.dumps(meta),
            self.max_candidates,
            repr(time.time()),
        )
        return UpsertResult(_text(status), _text(iid), _text(cid), _candidates(rows))

    async def query(self, fp: Fingerprint, exclude_id: str | None = None) -> list[Candidate]:
        return _candidates(await self._call("check", exclude_id or "", fp.bands, self.max_candidates))

    async def get(self, article_id: str) -> Stored | None:
        reply = await self._call("get", article_id, self.max_candidates)
        if reply is None:
            return None
        *head, rows = reply
        return Stored(_candidates(head)[0], _candidates(rows))

    async def delete(self, article_id: str) -> bool:
        return bool(await self._call("delete", article_id))

    async def link(self, iid: str, others: Sequence[str]) -> str | None:
        """Record duplicate links and merge the clusters involved; returns the cluster id."""
        cid = await self._call("link", iid, *others)
        return None if cid is None else _text(cid)

    async def clusters(self, article_ids: Sequence[str]) -> list[str | None]:
        reply = await self._call("clusters", *article_ids)
        return [None if cid is None else _text(cid) for cid in reply]

    async def drop(self) -> None:
        """Delete every key of this index (for throw-away indexes such as evaluation runs)."""

        async def run() -> None:
            batch = [
                key async for key in self.redis.scan_iter(match=self._keys[0].split(":")[0] + "*", count=1000)
            ]
            for start in range(0, len(batch), 1000):
                await self.redis.delete(*batch[start : start + 1000])

        await _guard(run)

    async def ping(self) -> bool:
        return bool(await _guard(self.redis.ping))


async def _guard(call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except _UNAVAILABLE as exc:
        raise IndexUnavailable(f"index unavailable: {exc}") from exc
