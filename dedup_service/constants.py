"""Defaults and the Redis key layout, in one place.

All keys of one index share the hash tag ``{prefix}`` so that every Lua script touches a
single Redis Cluster slot; ``docs/design`` in the README explains the layout.
"""

from __future__ import annotations

DEFAULT_THRESHOLD = 0.5
DEFAULT_NUM_PERM = 128
# word 5-shingles: long enough that common phrases ("said on Monday") rarely collide,
# short enough that one edited word only disturbs 5 shingles
DEFAULT_SHINGLE_SIZE = 5
DEFAULT_SEED = 1
DEFAULT_KEY_PREFIX = "dedup"
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_MATCH_LIMIT = 50
MAX_MATCH_LIMIT = 1000
# candidates fetched per query; buckets of boilerplate-only texts can grow without bound
DEFAULT_MAX_CANDIDATES = 2000
MAX_ID_LENGTH = 256
# texts longer than this (about 30k words, >10 ms of work) are fingerprinted in a thread
# so that the event loop keeps serving other requests
EXECUTOR_TEXT_CHARS = 200_000


def key_layout(prefix: str) -> dict[str, str]:
    """Key names (or key-name prefixes) for one index; passed to the Lua scripts."""
    tag = "{" + prefix + "}"
    return {
        "ids": f"{tag}:ids",  # hash: external id -> internal integer id
        "seq": f"{tag}:seq",  # counter for internal ids
        "cseq": f"{tag}:cseq",  # counter for cluster ids
        "doc": f"{tag}:d:",  # hash per article: signature, counts, metadata
        "band": f"{tag}:b:",  # set per LSH bucket: + band byte + 8-byte band hash
        "link": f"{tag}:l:",  # set per article: internal ids it is linked to
        "cluster": f"{tag}:c:",  # set per cluster: internal ids of its members
    }
