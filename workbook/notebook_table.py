"""README's notebook table, generated from each notebook's metadata (``workbook.readme``).

After adding or changing a notebook: ``python -m workbook.notebook_table`` rewrites the table between README's
``<!-- notebooks:start -->`` and ``<!-- notebooks:end -->`` markers; ``tests/test_repo.py`` fails until it agrees.

The time column comes from two runs of the runner, one in each mode (it writes ``build/reports/workbook-run.json``)::

    python -m workbook.runner --quick --no-html && cp build/reports/workbook-run.json /tmp/quick.json
    python -m workbook.runner --no-html && cp build/reports/workbook-run.json /tmp/full.json
    python -m workbook.notebook_table --times /tmp/quick.json /tmp/full.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from helpers.paths import repo_root
from workbook.reports import replace_section
from workbook.runner import discover_notebooks, notebook_facts, notebook_kernel

KERNELS = {"onnx-workbook-main": "main", "onnx-workbook-legacy": "**legacy**", "onnx-workbook-mlnet": "**mlnet**"}
HEADER = "| notebook | title | what you learn | kernel | time (quick / full)* |\n|---|---|---|---|---|"


def notebook_row(path: str | os.PathLike[str]) -> str:
    """One row: ``workbook.readme``'s ``title``, ``learn`` and ``time``; the kernel from ``kernelspec`` unless
    ``workbook.readme.kernel`` says more (``"main (+ mlnet)"``)."""
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


def format_seconds(seconds: float) -> str:
    """``7 s``, ``316 s``; ``15 min`` from 10 minutes on.

    >>> format_seconds(6.6), format_seconds(901)
    ('7 s', '15 min')
    """
    return f"{seconds / 60:.0f} min" if seconds >= 600 else f"{seconds:.0f} s"


def _seconds_by_notebook(report: Path) -> dict[str, float]:
    runs = json.loads(report.read_text(encoding="utf-8"))
    failed = sorted(run["notebook"] for run in runs if run["status"] != "ok")
    if failed:
        raise ValueError(f"{report}: {failed} did not pass; a failed run's time is no time to publish, run them again")
    return {run["notebook"]: run["seconds"] for run in runs}


def set_times(quick_report: str | os.PathLike[str], full_report: str | os.PathLike[str],
              folder: str | os.PathLike[str] | None = None) -> list[str]:
    """Write ``"<quick> / <full>"`` from two runner reports into each notebook's ``workbook.readme.time``.

    Every numbered notebook must be in both reports, each run passed; returns the notebooks whose time changed.
    """
    import nbformat

    quick, full = _seconds_by_notebook(Path(quick_report)), _seconds_by_notebook(Path(full_report))
    notebooks = discover_notebooks(folder)
    missing = sorted(nb.stem for nb in notebooks if nb.stem not in quick or nb.stem not in full)
    if missing:
        raise ValueError(f"{missing} missing from {quick_report} or {full_report}: run every notebook in both modes")
    changed = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        readme = nb.metadata["workbook"]["readme"]
        time = f"{format_seconds(quick[path.stem])} / {format_seconds(full[path.stem])}"
        time += " (solution)" if nb.metadata["workbook"].get("solution") else ""
        if readme.get("time") != time:
            readme["time"] = time
            path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
            changed.append(path.name)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbook.notebook_table", description=__doc__.split("\n\n")[0])
    parser.add_argument("--times", nargs=2, metavar=("QUICK_JSON", "FULL_JSON"),
                        help="first copy the times of two runner reports (quick, full) into the notebooks")
    args = parser.parse_args(argv)
    if args.times:
        changed = set_times(*args.times)
        print(f"time changed in {len(changed)} notebooks: {', '.join(changed) or 'none'}")
    if not replace_section(repo_root() / "README.md", "notebooks", notebook_table()):
        print("README.md has no <!-- notebooks:start --> and <!-- notebooks:end --> markers", file=sys.stderr)
        return 1
    print("README.md: the notebook table now reads the notebooks' metadata")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
