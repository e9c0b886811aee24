"""What each notebook must have proved in quick mode, read from what it recorded.

Every numbered notebook needs a check: a function that receives the notebook's
glued results (``helpers.report.glue``) and its parity records, and asserts on
real results. A notebook without one fails its test, so no notebook is tested
only for "it did not crash". Checks live in ``tests/notebooks/checks_*.py``, one
module per part of the workbook, and register themselves with :func:`expect`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

Check = Callable[[dict[str, Any], list[dict[str, Any]]], None]
EXPECTATIONS: dict[str, Check] = {}


def expect(stem: str) -> Callable[[Check], Check]:
    """Register the check for the notebook named ``stem``."""

    def register(fn: Check) -> Check:
        EXPECTATIONS[stem] = fn
        return fn

    return register


def verdicts(records: list[dict[str, Any]]) -> dict[str, str]:
    """``{model: verdict}`` of a notebook's parity records."""
    return {r["model"]: r["verdict"] for r in records}


def load_all() -> dict[str, Check]:
    """Import every ``checks_*`` module beside this file; returns the registry."""
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name.startswith("checks_"):
            importlib.import_module(f"tests.notebooks.{module.name}")
    return EXPECTATIONS
