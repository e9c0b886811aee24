"""Shared test setup: every test run writes build products under its own folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Build products of a test run go to build/test (the Makefile sets it too), never into build/.
os.environ.setdefault("ONNX_WORKBOOK_BUILD", str(ROOT / "build" / "test"))


@pytest.fixture
def tmp_build(tmp_path, monkeypatch):
    """A private build folder for one test, so reports written by it start empty."""
    monkeypatch.setenv("ONNX_WORKBOOK_BUILD", str(tmp_path / "build"))
    return tmp_path / "build"
