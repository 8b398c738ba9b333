"""Every Redis key name of an index, defined once: the Lua script gets them (in the order
of SCRIPT_KEYS) rather than building them, and Python code looks them up here.

All keys of one index share the hash tag ``{prefix}``, so that every script call touches
a single Redis Cluster slot; docs/design.md explains the layout. The name prefixes (those
ending in ":") are never keys themselves: declared to every call, they make Redis refuse
it, unrun, while the slot is half moved (docs/design.md, "A slot being moved")."""

from __future__ import annotations

import xxhash


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
        "ack": f"{tag}:k",  # counter every write bumps when replicas must hold it (so WAIT covers it)
    }


# the keys the script uses, in the order it unpacks them from KEYS
SCRIPT_KEYS = (
    "ids", "seq", "cseq", "recent", "first", "low", "pending", "doc", "band", "anchor", "link", "cluster", "site",
)  # fmt: skip


def site_key(site: str) -> str:
    """Sites are case-insensitive and hashed, so any site string makes a short key suffix."""
    return xxhash.xxh3_64_hexdigest(site.strip().casefold().encode())
