"""A pytest plugin (loaded by conftest.py): garbage is collected as each test ends, so
that a connection, server or task a test left open warns (an error, by the suite's
``filterwarnings``) in that test, not in whichever test runs when the collector finds it."""

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _collect_what_the_test_left() -> Iterator[None]:
    yield
    gc.collect()
