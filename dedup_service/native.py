"""The one switch between the native core (_fast.c) and the numpy and Python paths.

The core is built when the package is installed with a C compiler; without it (or on a
big-endian machine, as it reads packed little-endian arrays) ``fast`` is None and every
caller takes its Python path, which gives the same results (tests/test_fingerprint.py,
tests/test_classify.py)."""

from __future__ import annotations

import sys

__all__ = ["fast"]

try:
    from . import _fast as fast
except ImportError:
    fast = None  # type: ignore[assignment]
if sys.byteorder != "little":
    fast = None  # type: ignore[assignment]
