"""Webhook deliveries: a claim while one is processed, then its answer, kept for a day."""

from __future__ import annotations

import xxhash
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from . import constants as c
from .index import guard
from .keys import key_layout


class Deliveries:
    def __init__(self, redis: Redis | RedisCluster, key_prefix: str) -> None:
        self.redis = redis
        self._prefix = key_layout(key_prefix)["delivery"]

    def _key(self, delivery: str) -> str:
        return self._prefix + xxhash.xxh3_128_hexdigest(delivery.encode())

    async def claim(self, delivery: str) -> bytes | None:
        """None when this call claimed the delivery; else its stored answer (empty while
        the first attempt is still being processed)."""
        key = self._key(delivery)
        if await guard(lambda: self.redis.set(key, b"", nx=True, ex=c.DELIVERY_PENDING_TTL)):
            return None
        answer: bytes | None = await guard(lambda: self.redis.get(key))  # type: ignore[arg-type,return-value]
        return answer or b""

    async def store(self, delivery: str, answer: bytes) -> None:
        key = self._key(delivery)
        await guard(lambda: self.redis.set(key, answer, ex=c.DELIVERY_TTL))

    async def release(self, delivery: str) -> None:
        key = self._key(delivery)
        await guard(lambda: self.redis.delete(key))
