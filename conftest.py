"""Root test setup, shared by tests/ and the doctests collected from helpers/ (--doctest-modules)."""

from __future__ import annotations

import os
from pathlib import Path

# Build products of a test run (doctests included) go to build/test, never into build/.
os.environ.setdefault("ONNX_WORKBOOK_BUILD", str(Path(__file__).resolve().parent / "build" / "test"))

# Reference solutions are cells pasted into their notebooks' gaps, not modules: never import them.
collect_ignore_glob = ["exercises/solutions/*"]

# pytest-xdist 3.8's --dist loadgroup does not group under pytest 9.2 (pytest-dev/pytest-xdist#1386): restore it.
pytest_plugins = ["tests.xdist_loadgroup"]
