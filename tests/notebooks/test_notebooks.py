"""Every numbered notebook runs in its own kernel in quick mode and proves what it claims.

A failure names the notebook and the cell, and the executed copy is kept under
``build/test/notebooks``. Notebooks that read another's outputs (metadata
``workbook.requires``) form a group that never runs two at a time (a file lock per group;
xdist's loadgroup would also keep them on one worker, in order, where it works: see
``helpers.runner.notebook_lock``).
"""

from __future__ import annotations

import pytest

from helpers.paths import build_dir
from helpers.report import glued
from helpers.runner import discover_notebooks, execute_notebook, notebook_lock, notebook_requires
from helpers.verify import parity_records
from tests.notebooks.expectations import load_all

NOTEBOOKS = discover_notebooks()


def _groups(notebooks) -> dict[str, str]:
    """Notebooks linked by ``requires`` share one xdist group (named by its first notebook), so one
    worker runs them in number order: producers before the notebooks that read their outputs."""
    parent = {nb.stem: nb.stem for nb in notebooks}

    def root(stem: str) -> str:
        while parent.setdefault(stem, stem) != stem:
            stem = parent[stem]
        return stem

    for nb in notebooks:
        for required in notebook_requires(nb):
            a, b = sorted((root(nb.stem), root(required)))
            parent[b] = a
    return {nb.stem: root(nb.stem) for nb in notebooks}


GROUPS = _groups(NOTEBOOKS)
PARAMS = [pytest.param(nb, id=nb.stem, marks=pytest.mark.xdist_group(GROUPS[nb.stem])) for nb in NOTEBOOKS]


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", PARAMS)
def test_notebook_runs_in_quick_mode_and_proves_its_claims(notebook):
    # The group lock keeps linked notebooks apart even when xdist puts them on different workers.
    with notebook_lock(GROUPS[notebook.stem]):
        run = execute_notebook(notebook, build_dir("notebooks"), parameters={"quick": True}, cell_timeout=600)
        if not run.ok:
            pytest.fail(run.describe(), pytrace=False)
        check = load_all().get(notebook.stem)
        assert check is not None, f"add the checks for {notebook.stem} to tests/notebooks/checks_*.py"
        records = [r for r in parity_records() if r.get("notebook") == notebook.stem]
        check(glued(notebook.stem), records)
