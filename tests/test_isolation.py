"""A test that leaves a resource open fails itself, not the test that runs after it."""

from pathlib import Path

import pytest

LEAKY_SUITE = """
import gc
import socket


def test_leaves_a_socket_open():
    holder = [socket.socket()]
    holder.append(holder)  # a cycle: only the collector frees it, when it next runs


def test_runs_next_and_leaks_nothing():
    gc.collect()  # the collector happens to run here
"""


@pytest.mark.parametrize("guarded", [True, False])
def test_a_leak_fails_the_test_that_leaked_not_the_next(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, guarded: bool
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))  # the suite's own leak_guard plugin
    pytester.makepyfile(test_leaky=LEAKY_SUITE)
    plugins = ["-p", "leak_guard"] if guarded else []
    ini = ["-o", "asyncio_default_fixture_loop_scope=function"]
    result = pytester.runpytest_subprocess(*plugins, *ini, "-p", "no:cacheprovider", "-W", "error", "-rA")
    out = result.stdout.str()
    leaker, next_one = "test_leaky.py::test_leaves_a_socket_open", "test_leaky.py::test_runs_next_and_leaks_nothing"
    blamed, innocent = (leaker, next_one) if guarded else (next_one, leaker)
    assert result.ret == 1, out
    assert f"PASSED {innocent}" in out.splitlines(), out  # -rA lists each test's outcome
    assert f"ERROR {blamed}" in out or f"FAILED {blamed}" in out, out
