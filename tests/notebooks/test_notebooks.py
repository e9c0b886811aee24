"""Every numbered notebook runs in its own kernel in quick mode and proves what it claims.

Each notebook runs once with its exercises solved and its checks (``tests/notebooks/checks_*.py``), at its last
quick-mode entry of metadata ``workbook.tries`` (most often the high ends of its ranges), and once more for each
other entry, as a reader gets it. Full mode at the defaults is ``make workbook``'s run.

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
from tests.notebooks.expectations import load_all
from workbook.reports import parity_records
from workbook.runner import (
    discover_notebooks,
    execute_notebook,
    notebook_facts,
    notebook_lock,
    notebook_requires,
    unmet_needs,
)

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
    values = _checked_run(notebook)
    # The group lock keeps linked notebooks apart even when xdist puts them on different workers.
    with notebook_lock(GROUPS[notebook.stem]):
        run = execute_notebook(notebook, build_dir("notebooks"), parameters=values, cell_timeout=600)
        if not run.ok:
            pytest.fail(f"with {values}: {run.describe()}", pytrace=False)
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


def _ends(declared) -> list:
    """The values at the edges of what a parameter allows: both ends of a range, every choice."""
    return list(declared.bounds()) if declared.kind == "range" else list(declared.choices)


def _outside(declared):
    """A value just outside what a parameter allows (None for free text)."""
    if declared.kind == "range":
        high = declared.bounds()[1]
        return high + 1 if isinstance(high, int) else high * 2 + 1
    return {"bool": "not-a-choice", "choices": "not-a-choice", "pattern": " "}.get(declared.kind)


def _resolved(notebook, tried: dict) -> dict:
    """A ``tries`` entry with ``"low"``/``"high"`` replaced by the ends of each parameter's stated range; quick by default."""
    from helpers.parameters import declared_parameters

    declared = declared_parameters(notebook)
    ends = {"low": 0, "high": -1}
    values = {k: _ends(declared[k])[ends[v]] if v in ends else v for k, v in tried.items()}
    return {"quick": True, **values}


def _untried(nb, facts: dict) -> list[str]:
    """What a notebook's ``tries`` (with ``untried``) leave out: a range end never run, a choice never changed."""
    from helpers.parameters import declared_parameters

    try:
        declared = declared_parameters(nb)
    except ValueError as err:
        return [f"{nb.stem}: {err}"]
    tries = [_resolved(nb, t) for t in facts.get("tries", [])]
    if not any(t["quick"] is True for t in tries):  # then the quick-mode test runs the defaults
        tries.append({n: d.default for n, d in declared.items()})
    untried = facts.get("untried", {})
    problems = []
    for name, d in declared.items():
        if name == "quick" or name in untried or d.kind == "text":
            continue
        if d.kind == "range":
            missing = [v for v in _ends(d) if not any(t.get(name) == v for t in tries)]
        else:  # a choice, a flag or a pattern: some value other than the default
            missing = [] if any(name in t and t[name] != d.default for t in tries) else ["another value"]
        problems += [f"{nb.stem}: no entry of metadata workbook.tries sets {name}={v!r} (or say why in "
                     "workbook.untried)" for v in missing]
    problems += [f"{nb.stem}: workbook.untried names {name!r}, which is not a parameter"
                 for name in untried if name not in declared]
    return problems


def test_every_parameter_states_its_range_and_the_notebook_tries_both_ends():
    """Each notebook's metadata (``workbook.tries``) runs every range at both ends and every choice but the
    default at least once, or says in ``workbook.untried`` why it cannot."""
    problems = [p for nb in NOTEBOOKS for p in _untried(nb, notebook_facts(nb))]
    assert not problems, "\n".join(problems)


def test_the_tries_check_names_a_range_end_never_run_and_an_untried_name_that_is_no_parameter():
    thirty = next(nb for nb in NOTEBOOKS if nb.stem.startswith("30_"))
    assert _untried(thirty, {"tries": [{"top": "low"}, {"top": "high"}]}) == []
    only_low = _untried(thirty, {"tries": [{"top": "low"}]})
    assert only_low == [f"{thirty.stem}: no entry of metadata workbook.tries sets top=10 (or say why in workbook.untried)"]
    assert _untried(thirty, {"tries": [{"top": "low"}], "untried": {"top": "why"}}) == []
    assert "names 'topp', which is not a parameter" in _untried(thirty, {"tries": [{"top": "low"}, {"top": "high"}],
                                                                        "untried": {"topp": "typo"}})[0]


def test_every_notebook_checks_its_parameters_with_one_call_at_the_top():
    problems = []
    for nb in NOTEBOOKS:
        cells = [c for c in json.loads(nb.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
        head = "\n".join("".join(c["source"]) for c in cells[:3])
        if f'check_parameters("{nb.stem}", globals())' not in head:
            problems.append(f"{nb.stem}: call check_parameters(\"{nb.stem}\", globals()) in its first code cells")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_every_stated_range_refuses_a_value_just_outside_it_naming_the_parameter(notebook):
    from helpers.parameters import declared_parameters

    for name, d in declared_parameters(notebook).items():
        bad = _outside(d)
        if bad is None:
            continue
        with pytest.raises(ValueError, match=f"^parameter {name}="):
            d.check(bad)
        for good in _ends(d) or [d.default]:
            assert d.check(good) == good


def _checked_run(notebook) -> dict:
    """The parameters of the quick-mode test, which also runs the reference solutions and the notebook's checks:
    its last ``tries`` entry that stays in quick mode (the high ends, for most), else quick mode at the defaults.
    Quick mode at the defaults is no reader's run (readers run full mode: ``make workbook``), so a try carries the
    checks and is not run a second time."""
    tries = [_resolved(notebook, t) for t in notebook_facts(notebook).get("tries", [])]
    quick = [values for values in tries if values["quick"] is True]
    return quick[-1] if quick else {"quick": True}


def _same_run(notebook, a: dict, b: dict) -> bool:
    """True when two sets of parameters run the notebook the same way (a parameter not set keeps its default)."""
    from helpers.parameters import declared_parameters

    defaults = {name: d.default for name, d in declared_parameters(notebook).items()}
    return defaults | a == defaults | b


TRY_PARAMS = [
    pytest.param(nb, i, id=f"{nb.stem}-{i}", marks=pytest.mark.xdist_group(GROUPS[nb.stem]))
    for nb in NOTEBOOKS for i, tried in enumerate(notebook_facts(nb).get("tries", []))
    if not _same_run(nb, _resolved(nb, tried), _checked_run(nb))
]


@pytest.mark.notebook
@pytest.mark.parametrize(("notebook", "index"), TRY_PARAMS)
def test_notebook_runs_and_proves_its_claims_at_the_ends_of_its_ranges(notebook, index):
    _skip_if_the_machine_lacks_what_it_needs(notebook)
    values = _resolved(notebook, notebook_facts(notebook)["tries"][index])
    # The exercises' reference solutions are proved by the quick-mode run; here the notebook runs as a reader gets
    # it (gaps left open, so its checks only say "not answered"), which is what the ends of its ranges are about.
    # A starter (the capstone) runs its solution notebook: the starter alone proves nothing.
    solution = bool(notebook_facts(notebook).get("solution"))
    with notebook_lock(GROUPS[notebook.stem]):
        run = execute_notebook(notebook, build_dir(f"notebooks-parameters-{index}"), parameters=values, cell_timeout=600,
                               solution=solution)
    if not run.ok:
        pytest.fail(f"with {values}: {run.describe()}", pytrace=False)


def test_the_checked_quick_run_is_a_quick_try_and_no_try_runs_twice():
    from helpers.parameters import declared_parameters

    thirty_two = next(nb for nb in NOTEBOOKS if nb.stem.startswith("32_"))
    assert _checked_run(thirty_two) == {"quick": True, "seq_len": 512, "threads": 2}  # the high ends, checked
    assert [i for nb, i in (p.values for p in TRY_PARAMS) if nb == thirty_two] == [0]  # the low ends run as a try
    twenty = next(nb for nb in NOTEBOOKS if nb.stem.startswith("20_"))  # its high ends are in full mode
    assert _checked_run(twenty) == {"quick": True, "calibration_batches": 1, "height": 200}
    forty_five = next(nb for nb in NOTEBOOKS if nb.stem.startswith("45_"))  # tests/main/test_spark.py counts on it
    assert _checked_run(forty_five)["standalone_cluster"] is True, "45's checked run must start the standalone cluster"
    zero = next(nb for nb in NOTEBOOKS if nb.stem.startswith("00_"))  # no tries: quick mode at the defaults
    assert _checked_run(zero) == {"quick": True}
    seq_len = declared_parameters(thirty_two)["seq_len"].default
    assert _same_run(thirty_two, {"quick": True, "seq_len": seq_len}, {"quick": True})  # a default stated or not
    assert not _same_run(thirty_two, {"quick": True, "seq_len": seq_len + 1}, {"quick": True})


@pytest.mark.notebook
def test_a_notebook_refuses_an_out_of_range_parameter_at_once_naming_it():
    notebook = next(nb for nb in NOTEBOOKS if nb.stem.startswith("30_"))
    with notebook_lock(GROUPS[notebook.stem]):
        run = execute_notebook(notebook, build_dir("notebooks-refusals"), parameters={"quick": True, "top": 11},
                               cell_timeout=300)
    assert not run.ok, f"{notebook.stem} ran with the out-of-range top=11"
    assert "parameter top=11 is outside the supported range 1 to 10" in run.error, run.describe()
    assert run.cell_index is not None and run.cell_index <= 3, f"refused late, in code cell {run.cell_index}"
