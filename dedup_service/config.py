"""Settings from ``DEDUP_*`` environment variables, overridable by CLI flags."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import constants as c
from .errors import ConfigError
from .lsh import Banding

ENV_PREFIX = "DEDUP_"
FSYNC_POLICIES = ("always", "everysec", "no")


@dataclass(frozen=True, slots=True)
class IndexLayout:
    """What an index is built with. The shape of its fingerprints (permutations, shingle
    size, seed, the LSH threshold) and its shards are fixed when it is created: changing
    any makes its content unusable, so the index records them (``recorded``) and refuses
    others. The caps bound its postings, and how many candidates of one cluster a search
    returns."""

    num_perm: int = c.DEFAULT_NUM_PERM
    shingle_size: int = c.DEFAULT_SHINGLE_SIZE
    seed: int = c.DEFAULT_SEED
    threshold: float = c.DEFAULT_THRESHOLD
    shard_bits: int = c.DEFAULT_SHARD_BITS
    # one 3-word phrase in this many is an anchor: 4 finds more rewrites of agency copy
    # for 9-12% more memory an article (benchmarks/README.md, METER)
    anchor_sample: int = c.DEFAULT_ANCHOR_SAMPLE
    # slots the index spreads over, so nodes of a Redis Cluster (docs/capacity.md): 1
    # keeps it in one slot, one script call a write
    partitions: int = 1
    max_postings: int = c.MAX_POSTINGS
    max_anchor_postings: int = c.MAX_ANCHOR_POSTINGS
    cluster_candidates: int = c.CLUSTER_CANDIDATES

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError("threshold must be in (0, 1]")
        if not 16 <= self.num_perm <= 1024:
            raise ConfigError("num_perm must be between 16 and 1024")
        if not 1 <= self.shingle_size <= 16:
            raise ConfigError("shingle_size must be between 1 and 16")
        if not 8 <= self.shard_bits <= 16:
            raise ConfigError("shard_bits must be between 8 and 16")
        if self.anchor_sample not in (2, 4, 8, 16):
            raise ConfigError("anchor_sample must be 2, 4, 8 or 16")
        if not 1 <= self.partitions <= 1024:
            raise ConfigError("partitions must be between 1 and 1024")

    def recorded(self) -> dict[str, str]:
        """What the index keeps of its layout, to refuse another: the fixed part."""
        b = Banding.for_threshold(self.threshold, self.num_perm)
        return {"num_perm": str(self.num_perm), "shingle_size": str(self.shingle_size), "seed": str(self.seed),
                "bands": f"{b.bands}x{b.rows}", "shard_bits": str(self.shard_bits),
                "anchor_sample": str(self.anchor_sample), "partitions": str(self.partitions)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    # None: start an embedded redis-server with its data under data_dir
    redis_url: str | None = None
    # redis_url names one node of a Redis Cluster
    redis_cluster: bool = False
    data_dir: Path = Path("data")
    appendfsync: str = "everysec"
    key_prefix: str = c.DEFAULT_KEY_PREFIX
    # fingerprint shape and shards (DEDUP_NUM_PERM, _SHINGLE_SIZE, _SEED, _THRESHOLD,
    # _SHARD_BITS, _ANCHOR_SAMPLE, _PARTITIONS): fixed when an index is created
    layout: IndexLayout = dataclasses.field(default_factory=IndexLayout)
    contained_threshold: float = 0.9
    related_threshold: float = 0.7
    facts_threshold: float = 0.6
    chrome_min_stories: int = c.CHROME_MIN_STORIES
    max_body_bytes: int = c.DEFAULT_MAX_BODY_BYTES
    max_candidates: int = c.DEFAULT_MAX_CANDIDATES
    redis_timeout: float = 5.0
    # replicas that must hold a write before it is acknowledged (Redis WAIT), and how long
    # to wait for them; 0: acknowledged once on the master (docs/api.md, Production)
    min_replicas_ack: int = 0
    replicas_ack_timeout: float = 1.0
    # seconds a client may take to send its request body
    read_timeout: float = 30.0
    max_batch: int = 1000
    # comma-separated keys or a file of keys; unset: the API is open
    api_keys: str | None = None
    public_paths: str = "/healthz,/readyz,/metrics,/openapi.json"
    # unset: the webhook answers 404
    webhook_secret: str | None = None
    webhook_window: float = 300.0
    # e.g. "30d", "12h": articles ingested longer ago leave the index; unset: kept forever
    retention: str | None = None
    retention_interval: float = 60.0

    def __post_init__(self) -> None:
        for name in ("contained_threshold", "related_threshold", "facts_threshold"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in (0, 1]")
        if self.chrome_min_stories < 2:
            raise ConfigError("chrome_min_stories must be at least 2")
        if not 1 <= self.port <= 65535:
            raise ConfigError("port must be between 1 and 65535")
        if self.appendfsync not in FSYNC_POLICIES:
            raise ConfigError(f"appendfsync must be one of {', '.join(FSYNC_POLICIES)}")
        if not self.key_prefix or any(ch in self.key_prefix for ch in "{}: \t\n"):
            raise ConfigError("key_prefix must be non-empty and contain no braces, colons or spaces")
        if self.max_body_bytes < 1024:
            raise ConfigError("max_body_bytes must be at least 1024")
        if self.retention is not None:
            retention_seconds(self.retention)
        if self.retention_interval <= 0:
            raise ConfigError("retention_interval must be positive")
        if self.read_timeout <= 0:
            raise ConfigError("read_timeout must be positive")
        if self.max_batch < 1:
            raise ConfigError("max_batch must be positive")
        if self.webhook_window <= 0:
            raise ConfigError("webhook_window must be positive")
        if self.max_candidates < 1:
            raise ConfigError("max_candidates must be positive")
        if self.redis_cluster and self.redis_url is None:
            raise ConfigError("redis_cluster needs redis_url (one node of the cluster)")
        if self.min_replicas_ack < 0:
            raise ConfigError("min_replicas_ack must be 0 or more")
        if self.min_replicas_ack and self.redis_url is None:
            raise ConfigError("min_replicas_ack needs redis_url: the embedded Redis has no replicas")
        if self.min_replicas_ack and not 0 < self.replicas_ack_timeout < self.redis_timeout:
            raise ConfigError("replicas_ack_timeout must be positive and under redis_timeout")
        if self.redis_url is not None and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("redis_url must start with redis://, rediss:// or unix://")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``DEDUP_<FIELD>`` variables (those of the index layout too); ``overrides``
        (CLI flags) win when not None."""
        env = os.environ if environ is None else environ
        values = _read(cls, env, overrides, skip={"layout"})
        if isinstance(values.get("redis_cluster"), str):
            values["redis_cluster"] = _convert("redis_cluster", values["redis_cluster"], "bool")
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])
        return cls(**values, layout=IndexLayout(**_read(IndexLayout, env, overrides, skip=set(LAYOUT_CAPS))))


# the layout's caps are constants: tests lower them through IndexLayout, nobody sets them
LAYOUT_CAPS = ("max_postings", "max_anchor_postings", "cluster_candidates")
SETTING_NAMES = frozenset(
    f.name for cls in (Settings, IndexLayout) for f in dataclasses.fields(cls) if f.name not in {"layout", *LAYOUT_CAPS}
)


def _read(cls: type, env: Mapping[str, str], overrides: Mapping[str, Any], skip: set[str]) -> dict[str, Any]:
    """``cls``'s fields from ``DEDUP_<NAME>`` variables, then from ``overrides`` (not None)."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        raw = env.get(ENV_PREFIX + f.name.upper())
        if raw is not None and raw != "":
            values[f.name] = _convert(f.name, raw, str(f.type))
        if overrides.get(f.name) is not None:
            values[f.name] = overrides[f.name]
    return values


def _convert(name: str, raw: str, annotation: str) -> Any:
    if annotation == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a yes/no value")
    try:
        if annotation == "int":
            return int(raw)
        if annotation == "float":
            return float(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a number") from None
    return raw


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def retention_seconds(value: str) -> float:
    """``"30d"`` -> seconds; units s, m, h, d, w."""
    raw = value.strip().lower()
    try:
        amount = float(raw[:-1])
        unit = _UNITS[raw[-1]]
    except (ValueError, KeyError, IndexError):
        raise ConfigError(f"retention must look like 30d, 12h, 90m or 3600s, got {value!r}") from None
    if amount <= 0:
        raise ConfigError("retention must be positive")
    return amount * unit
