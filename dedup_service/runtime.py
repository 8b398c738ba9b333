"""Composition: a Redis client (the embedded server when none is configured), the index
and the service over it, for the HTTP app, the CLI, the evaluation runner and the
benchmarks alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import redis.exceptions
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from . import language
from .config import Settings
from .constants import SHUTDOWN_TIMEOUT
from .embedded import EmbeddedRedis
from .errors import ConfigError, IndexUnavailable
from .index import CallPolicy, RedisIndex
from .partitioned import PartitionedIndex
from .service import Deduplicator

log = logging.getLogger(__name__)


def index_location(settings: Settings) -> str:
    """Where the index lives, as a user would look for it."""
    if settings.redis_url is None:
        return f"{settings.data_dir.resolve()} (embedded Redis)"
    return f"{settings.redis_url} (key prefix {settings.key_prefix!r})"


@contextlib.asynccontextmanager
async def open_service(settings: Settings, create: bool = True) -> AsyncIterator[Deduplicator]:
    """A Deduplicator on the configured Redis, starting the embedded server when none is
    set. Without ``create``, a place where no index was ever opened is refused
    (ConfigError)."""
    server = None
    url = settings.redis_url
    if url is None:
        server = EmbeddedRedis(settings.data_dir, settings.appendfsync)
        url = server.start()
        log.info("embedded redis-server at %s (data in %s)", url, settings.data_dir.resolve())
    timeout = settings.redis_timeout
    client: Redis | RedisCluster
    if settings.redis_cluster:
        client = RedisCluster.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        # learn the slot map before serving: many first requests at once must not race to do it
        with contextlib.suppress(redis.exceptions.RedisError, OSError):
            await client.initialize()
    else:
        client = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        # a call refused unrun is sent again for as long as a call may take (redis_timeout)
        policy = CallPolicy(settings.min_replicas_ack, settings.replicas_ack_timeout, settings.redis_timeout)
        kind = PartitionedIndex if settings.layout.partitions > 1 else RedisIndex
        index = kind(client, settings.key_prefix, settings.max_candidates, settings.chrome_min_stories,
                           settings.layout, policy)  # fmt: skip
        dedup = Deduplicator(index, settings)
        log.info("fingerprint core: %s", "native" if dedup.fingerprinter.native else "numpy (no C extension built)")
        await asyncio.get_running_loop().run_in_executor(None, language.warm)  # a second, once: not on a request
        if not create and not await index.exists():
            raise ConfigError(
                f"no index at {index_location(settings)}: nothing was indexed there yet (ingest --create starts one)"
            )
        try:
            await index.check_layout()
        except IndexUnavailable:
            log.warning("Redis unreachable at startup: the index layout was not checked")
        yield dedup
    finally:
        # a stuck connection must not hold up shutdown (seen once with the async cluster client)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.aclose(), SHUTDOWN_TIMEOUT)
        if server is not None:
            server.stop()
