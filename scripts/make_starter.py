"""Make an exercise notebook's starter from its reference solution: one source of truth, no drift.

The solution (``exercises/solutions/NN_name.ipynb``) marks each gap in its code cells:

    # >>> gap: onnx_path
    ...the reference code that assigns onnx_path...
    # <<< gap

and the starter (``notebooks/NN_name.ipynb``) gets ``onnx_path = ...  # YOUR CODE`` in its place, with
everything else unchanged. ``tests/test_exercises.py`` fails when a starter is out of date.

    .venvs/main/bin/python scripts/make_starter.py                 # every solution in exercises/solutions
    .venvs/main/bin/python scripts/make_starter.py 50_capstone     # one
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "exercises" / "solutions"
GAP = re.compile(r"^(?P<indent>[ \t]*)# >>> gap: (?P<name>\w+)\n.*?^[ \t]*# <<< gap\n?", re.M | re.S)


def strip_gaps(source: str) -> str:
    """The source with each marked gap replaced by ``name = ...  # YOUR CODE``."""
    return GAP.sub(lambda m: f"{m['indent']}{m['name']} = ...  # YOUR CODE: see the task above\n", source)


def starter_of(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """A copy of ``solution`` with its gaps emptied, stored clean, naming its solution in its metadata."""
    starter = nbformat.from_dict(solution)
    for cell in starter.cells:
        if cell.cell_type == "code":
            cell.source = strip_gaps(cell.source).rstrip("\n")
            cell.outputs, cell.execution_count = [], None
    starter.metadata.setdefault("workbook", {})["solution"] = f"exercises/solutions/{name}.ipynb"
    return starter


def build(name: str) -> Path:
    """Write ``notebooks/<name>.ipynb`` from ``exercises/solutions/<name>.ipynb``; returns the starter's path."""
    solution = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    target = ROOT / "notebooks" / f"{name}.ipynb"
    nbformat.write(starter_of(solution, name), target)
    return target


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(p.stem for p in SOLUTIONS.glob("*.ipynb"))
    for n in names:
        print("wrote", build(n).relative_to(ROOT))
