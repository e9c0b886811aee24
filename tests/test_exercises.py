"""Exercises that check themselves: every check passes the reference solution and fails the starter.

The capstone's starter (notebooks/50_capstone.ipynb) is made from its solution (exercises/solutions/) by
scripts/make_starter.py; the solution runs for every framework choice; the starter, run unchanged, records
failing checks; and each check is fed wrong answers here and says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

import exercises
from helpers.paths import build_dir
from helpers.report import glued
from scripts.make_starter import SOLUTIONS, starter_of, strip_gaps
from workbook.runner import execute_notebook, notebook_lock

ROOT = Path(__file__).resolve().parent.parent
SOLVED = sorted(SOLUTIONS.glob("*.ipynb"))


@pytest.mark.parametrize("solution", SOLVED, ids=lambda p: p.stem)
def test_each_starter_is_its_solution_with_the_gaps_emptied(solution):
    expected = starter_of(nbformat.read(solution, as_version=4), solution.stem)
    stored = nbformat.read(ROOT / "notebooks" / solution.name, as_version=4)
    assert [c.source for c in stored.cells] == [c.source for c in expected.cells], (
        "the starter is out of date: run `.venvs/main/bin/python scripts/make_starter.py`")
    assert stored.metadata["workbook"]["solution"] == f"exercises/solutions/{solution.name}"
    code = "\n".join(c.source for c in stored.cells if c.cell_type == "code")
    used = {i for i in exercises.registry() if f'check("{i}"' in code}
    assert used and code.count("= ...  # YOUR CODE") == len(used), "one gap per checked exercise"


def test_a_gap_becomes_an_ellipsis_and_the_rest_stays():
    source = "a = 1\n# >>> gap: b\nb = secret(a)\nc = 2\n# <<< gap\nprint(b)\n"
    assert strip_gaps(source) == "a = 1\nb = ...  # YOUR CODE: see the task above\nprint(b)\n"


@pytest.mark.parametrize("exercise_id", sorted(exercises.registry()))
def test_an_unanswered_exercise_is_not_right(exercise_id, capsys):
    assert not exercises.check(exercise_id, ...)
    assert "not answered yet" in capsys.readouterr().out


def test_an_unknown_exercise_is_an_error():
    with pytest.raises(KeyError, match="No exercise '99.9'"):
        exercises.check("99.9", 1)


@pytest.fixture(scope="module")
def wine_model(tmp_path_factory):
    """A small scikit-learn classifier on the wine data, exported to ONNX: the right answers to check against."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from helpers.data import load_wine

    wine = load_wine()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(wine.X_train, wine.y_train)
    folder = tmp_path_factory.mktemp("wine")
    path, fixed = folder / "wine.onnx", folder / "wine_fixed_batch.onnx"
    path.write_bytes(to_onnx(model, initial_types=[("features", FloatTensorType([None, 13]))],
                             options={"zipmap": False}, target_opset=17).SerializeToString())
    fixed.write_bytes(to_onnx(model, initial_types=[("features", FloatTensorType([len(wine.y_test), 13]))],
                              options={"zipmap": False}, target_opset=17).SerializeToString())
    return wine, model, path, fixed


def test_the_checks_accept_right_answers(wine_model):
    import onnx

    wine, model, path, _ = wine_model
    probs = model.predict_proba(wine.X_test).astype(np.float32)
    from helpers import verify

    parity = verify.check_conversion(path, {"features": wine.X_test}, {"probabilities": probs}, name="t",
                                     framework="scikit-learn", converter="skl2onnx", output_names=["probabilities"],
                                     classification=True, record=False)
    ok = [
        exercises.check("50.1", probs, y_test=wine.y_test),
        exercises.check("50.2", path, X_test=wine.X_test),
        exercises.check("50.3", parity, onnx_path=path, X_test=wine.X_test, framework_probabilities=probs),
        exercises.check("50.4", len(onnx.load(path).graph.node), onnx_path=path),
    ]
    assert all(ok), [str(f) for f in ok]


def test_the_checks_refuse_wrong_answers_with_a_hint(wine_model, tmp_path):
    wine, model, path, fixed = wine_model
    probs = model.predict_proba(wine.X_test).astype(np.float32)
    shuffled = probs[::-1].copy()
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(path.read_bytes())
    wrong = {
        ("50.1", "shape"): exercises.check("50.1", probs[:5], y_test=wine.y_test),
        ("50.1", "sum to 1"): exercises.check("50.1", np.log(probs + 1e-9), y_test=wine.y_test),
        ("50.1", "accuracy"): exercises.check("50.1", shuffled, y_test=wine.y_test),
        ("50.2", "not an .onnx file"): exercises.check("50.2", tmp_path / "none.onnx", X_test=wine.X_test),
        ("50.2", "batch dimension is fixed"): exercises.check("50.2", fixed, X_test=wine.X_test),
        ("50.3", "ParityResult"): exercises.check("50.3", 1e-7, onnx_path=path, X_test=wine.X_test,
                                                  framework_probabilities=probs),
        ("50.4", "not this graph's count"): exercises.check("50.4", 999, onnx_path=path),
        ("50.4", "whole number"): exercises.check("50.4", "3", onnx_path=path),
        ("50.5", "new file"): exercises.check("50.5", path, onnx_path=path, X_test=wine.X_test),
        ("50.6", "predictions"): exercises.check("50.6", {"predictions": [9, 9, 9, 9, 9]}, onnx_path=path,
                                                 X_test=wine.X_test),
        ("50.6", "parsed JSON"): exercises.check("50.6", "200 OK", onnx_path=path, X_test=wine.X_test),
    }
    for (exercise_id, hint), feedback in wrong.items():
        assert not feedback and hint in feedback.message, (exercise_id, feedback.message)
    assert not exercises.check("50.5", copy, onnx_path=path, X_test=wine.X_test), "a copy is not a smaller or faster file"


@pytest.mark.notebook
def test_the_capstone_starter_run_unchanged_records_failing_checks():
    starter = ROOT / "notebooks" / "50_capstone.ipynb"
    with notebook_lock("50_capstone"):
        run = execute_notebook(starter, build_dir("notebooks-starters"), parameters={"quick": True}, solution=False)
        done = glued("50_capstone").get("exercises", {})
    assert not run.ok, "a starter with empty gaps cannot run to the end"
    assert done and not any(done.values()), f"every check reached must fail on the starter: {json.dumps(done)}"


@pytest.mark.notebook
@pytest.mark.parametrize("framework", ["pytorch"])  # sklearn: the notebook test; keras: the parameter table
def test_the_capstone_solution_passes_every_check_for_each_framework(framework):
    starter = ROOT / "notebooks" / "50_capstone.ipynb"
    with notebook_lock("50_capstone"):
        run = execute_notebook(starter, build_dir("notebooks-solutions"), parameters={"quick": True, "framework": framework})
        done = glued("50_capstone").get("exercises", {})
    assert run.ok, run.describe()
    assert sorted(done) == [f"50.{i}" for i in range(1, 9)] and all(done.values()), done


# --- the exercises of every notebook: gaps, solutions and checks agree ------------------------------------------

NOTEBOOKS_DIR = ROOT / "notebooks"


def _code(path):
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS_DIR.glob("[0-9]*.ipynb")), ids=lambda p: p.stem)
def test_every_gap_has_a_check_and_a_solution_and_every_solution_a_gap(notebook):
    import re

    code = _code(notebook)
    gaps = {f"{m['nb']}.{m['n']}" for m in exercises.GAP.finditer(code)}
    checked = set(re.findall(r'exercises\.check\("(\d+\.\d+)"', code))
    assert checked <= set(exercises.registry()), f"checks without a checker: {sorted(checked - set(exercises.registry()))}"
    for exercise_id in gaps:
        nb, n = exercise_id.split(".")
        assert re.search(rf'exercises\.check\("{re.escape(exercise_id)}", answer_{nb}_{n}\b', code), (
            f"gap {exercise_id} is not checked: add exercises.check(\"{exercise_id}\", answer_{nb}_{n}, ...)")
    solutions = SOLUTIONS / f"{notebook.stem}.py"
    if gaps:
        assert solutions.exists(), f"write the reference solutions of {sorted(gaps)} in {solutions.relative_to(ROOT)}"
        assert set(exercises.solutions_of(solutions)) == gaps
        exercises.solved_notebook(nbformat.read(notebook, as_version=4), exercises.solutions_of(solutions))
    else:
        assert not solutions.exists(), f"{solutions.name} has solutions but {notebook.name} has no gap"


def test_every_exercise_check_is_fed_a_wrong_answer_in_a_test():
    """Every check is proved able to fail: its id appears in a test of wrong answers."""
    tests = "\n".join(p.read_text() for p in [*(ROOT / "tests" / "unit").glob("test_exercises_*.py"),
                                               *(ROOT / "tests" / "unit" / "exercises").glob("test_nb*.py")])
    tests += (ROOT / "tests" / "test_exercises.py").read_text()
    untested = sorted(i for i in exercises.registry() if f'"{i}"' not in tests)
    assert not untested, f"feed these checks a wrong answer in tests/unit/exercises/test_nbNN.py: {untested}"


def test_solutions_fill_the_gaps_and_a_gap_without_a_solution_is_named(tmp_path):
    solutions = tmp_path / "99_demo.py"
    solutions.write_text("# %% 99.1\nanswer_99_1 = 6 * 7\n\n# %% 99.2\nanswer_99_2 = 'x'\n")
    assert exercises.solutions_of(solutions) == {"99.1": "answer_99_1 = 6 * 7", "99.2": "answer_99_2 = 'x'"}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1\nif True:\n    answer_99_1 = ...  # YOUR CODE: six times seven\nprint(x)")]
    solved = exercises.solved_notebook(nb, {"99.1": "answer_99_1 = 6 * 7\nassert answer_99_1"})
    assert solved.cells[0].source == "x = 1\nif True:\n    answer_99_1 = 6 * 7\n    assert answer_99_1\nprint(x)"
    assert "..." in nb.cells[0].source, "the reader's notebook is left as it was"
    with pytest.raises(ValueError, match=r"Solutions without a gap in the notebook: \['99.2'\]"):
        exercises.solved_notebook(nb, exercises.solutions_of(solutions))
    with pytest.raises(KeyError, match="No solution for exercise 99.1"):
        exercises.solved_notebook(nb, {})


@pytest.mark.parametrize("kernel", ["legacy", "mlnet"])
def test_every_check_module_imports_in_the_other_kernels(kernel):
    """Notebooks 15-16 (legacy) and 18 (mlnet, Python 3.8) call exercises.check, which loads every check module."""
    import subprocess

    from helpers.environment import installed_kernels

    python = installed_kernels().get(f"onnx-workbook-{kernel}", {}).get("python")
    if not python:
        pytest.skip(f"the {kernel} kernel is not installed here")
    code = "import exercises; print(len(exercises.registry()))"
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-1500:]
    assert int(done.stdout.strip()) == len(exercises.registry())


def test_the_extra_exercises_refuse_wrong_answers(wine_model, tmp_path):
    """50.7 (a second framework's export), fed wrong and right answers (50.8: tests/unit/exercises/test_nb50.py)."""
    import onnx

    wine, _, path, fixed = wine_model
    ctx = {"onnx_path": path, "X_test": wine.X_test, "y_test": wine.y_test}
    same, other, other_fixed = tmp_path / "same.onnx", tmp_path / "other.onnx", tmp_path / "other_fixed.onnx"
    same.write_bytes(path.read_bytes())
    for source, target in ((path, other), (fixed, other_fixed)):
        model = onnx.load(source)
        model.producer_name = "pytorch"  # as if torch.onnx had written it
        onnx.save(model, target)
    assert exercises.check("50.7", other, **ctx)
    wrong = {
        "first export": exercises.check("50.7", path, **ctx),
        "same exporter": exercises.check("50.7", same, **ctx),
        "batch dimension is fixed": exercises.check("50.7", other_fixed, **ctx),
        "not an .onnx file": exercises.check("50.7", tmp_path / "none.onnx", **ctx),
    }

    for hint, feedback in wrong.items():
        assert not feedback and hint in feedback.message, (hint, feedback.message)
