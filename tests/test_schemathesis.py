"""Property-based API tests from the OpenAPI document (schemathesis): no input, however odd,
gets a 5xx. Runs against a real ``dedup-service serve``, on a single Redis and on a cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from test_cli import _free_port, _serve

from dedup_service.openapi import spec

schema = schemathesis.openapi.from_dict(spec())


@pytest.fixture(scope="module", params=["single", "cluster"])
def base_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``dedup-service serve``: embedded Redis, or the local Redis Cluster."""
    port = _free_port()
    flags = []
    if request.param == "cluster":
        flags = ["--redis-url", request.getfixturevalue("cluster_url"), "--redis-cluster", "1", "--key-prefix", "st"]
    proc = _serve(Path(tmp_path_factory.mktemp("st")) / "data", port, *flags)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gets_a_server_error(case: schemathesis.Case, base_url: str) -> None:
    response = case.call(base_url=base_url, timeout=10)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
