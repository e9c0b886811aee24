"""The real calls stay on screen: each notebook writes out its library's central API in a code cell.

A reader copies a cell into their own project, and an instructor points at the line that matters, so
the first use of a library's central call is written out with its arguments, not hidden in ``helpers``.
Each notebook names, in its metadata (``workbook.calls``), what its code cells must contain (regular expressions).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

def _calls() -> dict[str, list[str]]:
    """Each notebook's central calls, from its own metadata (``metadata.workbook.calls``)."""
    from workbook.runner import discover_notebooks, notebook_facts

    return {nb.stem: notebook_facts(nb)["calls"] for nb in discover_notebooks() if notebook_facts(nb).get("calls")}


REQUIRED_CALLS = _calls()


def code_of(stem: str) -> str:
    """All code cells of a notebook, joined (shell lines included)."""
    nb = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def missing_calls(code: str, patterns: list[str]) -> list[str]:
    """The patterns that no code cell matches."""
    return [p for p in patterns if not re.search(p, code)]


@pytest.mark.parametrize("stem", sorted(REQUIRED_CALLS))
def test_notebook_shows_its_central_calls_in_code_cells(stem):
    missing = missing_calls(code_of(stem), REQUIRED_CALLS[stem])
    assert not missing, f"{stem} must show these calls in a code cell: {missing}"


def test_missing_call_is_reported():
    code = "session = ort.InferenceSession(path)\nexport.export_torch(model)\n"
    assert missing_calls(code, [r"torch\.onnx\.export\(", r"InferenceSession\("]) == [r"torch\.onnx\.export\("]
