"""Every numbered notebook runs in its own kernel in quick mode and proves what it claims.

A failure names the notebook and the cell, and the executed copy is kept under
``build/test/notebooks``. Notebooks that read another's outputs (metadata
``workbook.requires``) form a group that never runs two at a time (a file lock per group;
xdist's loadgroup would also keep them on one worker, in order, where it works: see
``workbook.runner.notebook_lock``).
"""

from __future__ import annotations

import json

import pytest

from helpers.paths import build_dir
from helpers.report import glued
from helpers.verify import parity_records
from tests.notebooks.expectations import load_all
from tests.notebooks.parameter_table import REFUSALS, TRIES, UNTRIED
from workbook.runner import discover_notebooks, execute_notebook, notebook_lock, notebook_requires, unmet_needs

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


def _skip_if_the_machine_lacks_what_it_needs(notebook) -> None:
    """A notebook whose kernel is missing on purpose (metadata ``workbook.needs``) is skipped, saying why."""
    needs = unmet_needs(notebook)
    if needs:
        pytest.skip(f"{notebook.stem} needs {needs}")
PARAMS = [pytest.param(nb, id=nb.stem, marks=pytest.mark.xdist_group(GROUPS[nb.stem])) for nb in NOTEBOOKS]


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", PARAMS)
def test_notebook_runs_in_quick_mode_and_proves_its_claims(notebook):
    _skip_if_the_machine_lacks_what_it_needs(notebook)
    # The group lock keeps linked notebooks apart even when xdist puts them on different workers.
    with notebook_lock(GROUPS[notebook.stem]):
        run = execute_notebook(notebook, build_dir("notebooks"), parameters={"quick": True}, cell_timeout=600)
        if not run.ok:
            pytest.fail(run.describe(), pytrace=False)
        check = load_all().get(notebook.stem)
        assert check is not None, f"add the checks for {notebook.stem} to tests/notebooks/checks_*.py"
        records = [r for r in parity_records() if r.get("notebook") == notebook.stem]
        check(glued(notebook.stem), records)
        _every_exercise_solved(notebook, glued(notebook.stem))


def _every_exercise_solved(notebook, results) -> None:
    """The run used the reference solutions (exercises/solutions/): every exercise's check must say right."""
    import re

    code = "\n".join("".join(c["source"]) for c in json.loads(notebook.read_text(encoding="utf-8"))["cells"]
                     if c["cell_type"] == "code")
    ids = set(re.findall(r'exercises\.check\("(\d+\.\d+)"', code))
    done = results.get("exercises", {})
    assert set(done) == ids, f"exercises checked {sorted(done)}, in the notebook {sorted(ids)}"
    wrong = sorted(i for i, ok in done.items() if not ok)
    assert not wrong, f"the reference solutions of {wrong} do not pass their checks (exercises/solutions/{notebook.stem}.py)"


def _parameters_cell(notebook) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return next("".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))


def test_parameter_table_covers_every_parameter_and_every_parameter_states_its_range():
    from helpers.parameters import notebook_parameters

    problems = []
    for nb in NOTEBOOKS:
        source = _parameters_cell(nb)
        for name, default in notebook_parameters(source).items():
            if name == "quick":
                continue
            tried = TRIES.get(nb.stem, {})
            if name not in tried and (nb.stem, name) not in UNTRIED:
                problems.append(f"{nb.stem}: add a non-default value of {name!r} to TRIES (or a reason to UNTRIED)")
            elif name in tried and tried[name] == default:
                problems.append(f"{nb.stem}: TRIES[{name!r}] equals the default {default!r}")
        for line in source.splitlines():
            if line and not line.startswith((" ", "#")) and "=" in line and "#" not in line:
                problems.append(f"{nb.stem}: say the range of `{line.strip()}` in a comment")
    assert not problems, "\n".join(problems)


TRY_PARAMS = [
    pytest.param(nb, id=nb.stem, marks=pytest.mark.xdist_group(GROUPS[nb.stem]))
    for nb in NOTEBOOKS if TRIES.get(nb.stem)
]


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", TRY_PARAMS)
def test_notebook_runs_and_proves_its_claims_with_non_default_parameters(notebook):
    _skip_if_the_machine_lacks_what_it_needs(notebook)
    with notebook_lock(GROUPS[notebook.stem]):
        run = execute_notebook(notebook, build_dir("notebooks-parameters"),
                               parameters={"quick": True, **TRIES[notebook.stem]}, cell_timeout=600)
    if not run.ok:
        pytest.fail(f"with {TRIES[notebook.stem]}: {run.describe()}", pytrace=False)


def _refusal_params():
    by_stem = {nb.stem: nb for nb in NOTEBOOKS}
    return [pytest.param(by_stem[stem], id=stem) for stem in sorted(REFUSALS) if stem in by_stem]


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", _refusal_params())
def test_notebook_refuses_an_out_of_range_parameter_at_once_naming_it(notebook):
    _skip_if_the_machine_lacks_what_it_needs(notebook)
    values, name = REFUSALS[notebook.stem]
    with notebook_lock(GROUPS[notebook.stem]):
        run = execute_notebook(notebook, build_dir("notebooks-refusals"),
                               parameters={"quick": True, **values}, cell_timeout=300)
    assert not run.ok, f"{notebook.stem} ran with the out-of-range {values}"
    assert f"parameter {name}=" in run.error, run.describe()
    assert run.cell_index is not None and run.cell_index <= 3, f"refused late, in code cell {run.cell_index}"
