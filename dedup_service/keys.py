"""Every Redis key name of an index, defined once: the Lua script gets them (in the order
of SCRIPT_KEYS) rather than building them, and Python code looks them up here.

All keys of one index share the hash tag ``{prefix}``, so that every script call touches
a single Redis Cluster slot; an index of several partitions has a tag each
(``partition_names``), and each call is on one of them. docs/design.md explains the
layout. The name prefixes (those ending in ":") are never keys themselves: declared to
every call, they make Redis refuse it, unrun, while the slot is half moved
(docs/design.md, "A slot being moved")."""

from __future__ import annotations

import xxhash
from redis.crc import REDIS_CLUSTER_HASH_SLOTS as SLOTS
from redis.crc import key_slot


def key_layout(prefix: str) -> dict[str, str]:
    """Key names (or key-name prefixes, ending in ":") of one index."""
    tag = "{" + prefix + "}"
    return {
        "ids": f"{tag}:ids",  # hash: external id -> internal integer id
        "seq": f"{tag}:seq",  # counter for internal ids
        "cseq": f"{tag}:cseq",  # counter for cluster ids
        "doc": f"{tag}:d:",  # hash per article: signature, counts, metadata
        "band": f"{tag}:b:",  # hash per shard of LSH buckets: + 2-byte shard; field -> internal ids
        "link": f"{tag}:l:",  # set per article: internal ids it is linked to
        "cluster": f"{tag}:c:",  # set per cluster: internal ids of its members
        "anchor": f"{tag}:a:",  # hash per shard of anchor postings: + 2-byte shard; field -> internal ids
        "recent": f"{tag}:r",  # zset: cluster id -> time of its last change
        "first": f"{tag}:rf",  # zset: cluster id -> ingest time of its earliest member (2 members or more)
        "site": f"{tag}:s:",  # zset per site: line key -> stories that carried the line
        "low": f"{tag}:lo",  # retention cursor: the oldest internal id not yet expired
        "layout": f"{tag}:conf",  # hash: the settings the index was built with (must not change)
        "pending": f"{tag}:p",  # zset: external id -> ingest time, verdict not yet recorded
        "delivery": f"{tag}:w:",  # string per webhook delivery id: the answer it got
        "gone": f"{tag}:g",  # zset, partitioned: internal id -> time taken out, its tombstone not yet buried
        "tomb": f"{tag}:g:",  # hash per article taken out (partitioned): what is left to undo elsewhere
        "merging": f"{tag}:m",  # hash, partitioned: internal id -> a cluster merge it started ("into,from,...")
        "lock": f"{tag}:lock",  # partitioned: held while a cluster changes across partitions (merge, split)
        "ack": f"{tag}:k",  # counter every write bumps when replicas must hold it (so WAIT covers it)
    }


# the keys the script uses, in the order it unpacks them from KEYS
SCRIPT_KEYS = (
    "ids", "seq", "cseq", "recent", "first", "low", "pending", "doc", "band", "anchor", "link", "cluster", "site",
    "gone", "tomb",
)  # fmt: skip


def site_key(site: str) -> str:
    """Sites are case-insensitive and hashed, so any site string makes a short key suffix."""
    return xxhash.xxh3_64_hexdigest(site.strip().casefold().encode())


def partition_names(prefix: str, parts: int) -> list[str]:
    """The key prefixes of an index's partitions (each partition's keys are
    ``key_layout`` of its name). One partition is the index itself. More are named
    ``prefix:k.j``, ``j`` the first that puts partition ``k`` in the ``k``-th of ``parts``
    equal ranges of the 16,384 cluster slots: a cluster made with equal slot ranges per
    node (as ``redis-cli --cluster create`` makes it) then holds the same number of
    partitions on each node, where hash tags left to chance would not. No other index's
    prefix can hold a colon, so no name collides."""
    if parts == 1:
        return [prefix]
    names = []
    for k in range(parts):
        j = 0
        while key_slot(f"{{{prefix}:{k}.{j}}}".encode()) * parts // SLOTS != k:
            j += 1
        names.append(f"{prefix}:{k}.{j}")
    return names
