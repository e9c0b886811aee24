"""README's notebook table, generated from each notebook's metadata (``workbook.readme``).

After adding or changing a notebook: ``python -m workbook.notebook_table`` rewrites the table between README's
``<!-- notebooks:start -->`` and ``<!-- notebooks:end -->`` markers; ``tests/test_repo.py`` fails until it agrees.
"""

from __future__ import annotations

import os
import sys

from helpers.paths import repo_root
from workbook.reports import replace_section
from workbook.runner import discover_notebooks, notebook_facts, notebook_kernel

KERNELS = {"onnx-workbook-main": "main", "onnx-workbook-legacy": "**legacy**", "onnx-workbook-mlnet": "**mlnet**"}
HEADER = "| notebook | title | what you learn | kernel | time (quick / full)* |\n|---|---|---|---|---|"


def notebook_row(path: str | os.PathLike[str]) -> str:
    """One row: ``workbook.readme``'s ``title``, ``learn`` and ``time``; the kernel from ``kernelspec`` unless
    ``workbook.readme.kernel`` says more (``"main (+ mlnet)"``)."""
    from pathlib import Path

    path = Path(path)
    row = notebook_facts(path).get("readme")
    missing = [key for key in ("title", "learn", "time") if not (row or {}).get(key)]
    if missing:
        raise ValueError(f"{path.name}: metadata workbook.readme lacks {missing} (README's notebook table reads them)")
    kernel = row.get("kernel") or KERNELS.get(notebook_kernel(path), notebook_kernel(path))
    return f"| [{path.name}](notebooks/{path.name}) | {row['title']} | {row['learn']} | {kernel} | {row['time']} |"


def notebook_table() -> str:
    """README's table of every numbered notebook, in order."""
    return "\n".join([HEADER, *(notebook_row(nb) for nb in discover_notebooks())])


def main() -> int:
    if not replace_section(repo_root() / "README.md", "notebooks", notebook_table()):
        print("README.md has no <!-- notebooks:start --> and <!-- notebooks:end --> markers", file=sys.stderr)
        return 1
    print("README.md: the notebook table now reads the notebooks' metadata")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
