from pathlib import Path

import pytest

from dedup_service.config import IndexLayout, Settings
from dedup_service.errors import ConfigError


def test_env_values_are_typed_and_flags_override_them() -> None:
    env = {
        "DEDUP_THRESHOLD": "0.8",
        "DEDUP_NUM_PERM": "256",
        "DEDUP_DATA_DIR": "/tmp/x",
        "DEDUP_PORT": "9000",
        "DEDUP_ANCHOR_SAMPLE": "4",
    }
    s = Settings.from_env(env, port=9100, redis_url=None, shard_bits=16)
    assert (s.layout.threshold, s.layout.num_perm, s.layout.shard_bits, s.data_dir, s.port, s.redis_url) == (
        0.8,
        256,
        16,
        Path("/tmp/x"),
        9100,
        None,
    )
    assert s.layout.anchor_sample == 4 and s.layout.recorded()["anchor_sample"] == "4"
    assert s.layout.max_postings == IndexLayout().max_postings  # caps are not settings


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEDUP_THRESHOLD": "1.5"}, "threshold"),
        ({"DEDUP_THRESHOLD": "high"}, "DEDUP_THRESHOLD"),
        ({"DEDUP_KEY_PREFIX": "a{b}"}, "key_prefix"),
        ({"DEDUP_REDIS_URL": "localhost:6379"}, "redis_url"),
        ({"DEDUP_APPENDFSYNC": "sometimes"}, "appendfsync"),
        ({"DEDUP_SHINGLE_SIZE": "0"}, "shingle_size"),
        ({"DEDUP_ANCHOR_SAMPLE": "6"}, "anchor_sample must be 2, 4, 8 or 16"),
        ({"DEDUP_PARTITIONS": "0"}, "partitions must be between 1 and 1024"),
        ({"DEDUP_PARTITIONS": "two"}, "DEDUP_PARTITIONS=.two. is not a number"),
    ],
)
def test_bad_settings_fail_early_with_the_name(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)
