"""Exercises that check themselves: right or wrong, with a hint, never the answer.

A notebook's "Try it yourself" exercises are cells with a gap and a check::

    answer_10_1 = ...  # YOUR CODE: the path of the file you exported
    exercises.check("10.1", answer_10_1, model=model, X=digits.X_test)

The check tests what the answer *does* (a file that loads and matches, a number within tolerance, an error
of the right kind), not the text of the code, so any correct solution passes; a gap left as ``...`` is
never right. Verdicts are recorded for the tests (``helpers.report.glue`` under ``"exercises"``).
Reference solutions live apart from the notebooks, in ``workshop/solutions/`` (``NN_name.py``, one
``# %% 10.1`` cell per exercise); the tests run each notebook with its solutions in the gaps
(:func:`solved_notebook`). The checks themselves live in one module per part of the workbook beside this
one (``capstone.py``, ...), loaded on first use. Introduced in notebooks/50_capstone.ipynb.

Importable in every kernel, Python 3.8 included.

>>> from helpers import exercises
>>> exercises.check("50.4", ..., onnx_path="model.onnx").right
✗ 50.4 not answered yet: replace the `...` with your code.
False
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable  # noqa: UP035 (typing.Callable: subscripted at run time on Python 3.8)

__all__ = ["Feedback", "Exercise", "EXERCISES", "exercise", "check", "registry", "onnx_session", "GAP",
           "solutions_of", "solved_notebook"]

Checker = Callable[..., "str | None"]  # None when the answer is right, else the hint

#: A gap in a notebook's exercise cell: ``answer_10_1 = ...  # YOUR CODE: ...``.
GAP = re.compile(r"^(?P<indent>[ \t]*)answer_(?P<nb>\d+)_(?P<n>\d+) = \.\.\.  # YOUR CODE.*$", re.M)
_SOLUTION_CELL = re.compile(r"^# %% (?P<id>\d+\.\d+)\s*$", re.M)


@dataclass(frozen=True)
class Exercise:
    """A registered exercise: its task in one line and the function that checks an answer."""

    id: str
    task: str
    checker: Checker


#: Every exercise by id (``"<notebook number>.<n>"``), filled when the check modules load (:func:`registry`).
EXERCISES: dict[str, Exercise] = {}


@dataclass
class Feedback:
    """The verdict on one answer; true when right."""

    exercise: str
    right: bool
    message: str

    def __bool__(self) -> bool:
        return self.right

    def __str__(self) -> str:
        return f"{'✓' if self.right else '✗'} {self.exercise} {self.message}"


def exercise(exercise_id: str, task: str) -> Callable[[Checker], Checker]:
    """Register ``checker`` as the check of ``exercise_id`` (used by the check modules)."""

    def register(checker: Checker) -> Checker:
        EXERCISES[exercise_id] = Exercise(exercise_id, task, checker)
        return checker

    return register


def registry() -> dict[str, Exercise]:
    """Every exercise, after importing each check module of this package once."""
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        importlib.import_module(f"{__name__}.{module.name}")
    return EXERCISES


def onnx_session(model: Any) -> Any:
    """The ONNX Runtime session a check runs an answer in: the workbook's one builder,
    :func:`helpers.runtime.make_session` (a broken file gets its clear error), with one thread.

    model: a path, ``ModelProto`` or serialized bytes. Imported on use: the mlnet kernel never calls it.
    """
    from helpers.runtime import make_session

    return make_session(model, intra_op_threads=1)


def _record(exercise_id: str, right: bool) -> None:
    if not os.environ.get("WORKBOOK_NOTEBOOK"):
        return  # interactive: nothing for the tests to read
    from helpers.report import glue, glued

    done = dict(glued(os.environ["WORKBOOK_NOTEBOOK"]).get("exercises", {}))
    done[exercise_id] = right
    glue("exercises", done)


def check(exercise_id: str, answer: Any, **context: Any) -> Feedback:
    """Check ``answer`` to exercise ``exercise_id``; print and return the verdict (never raises for a wrong one).

    context: what the check needs besides the answer (the test data, the model file, ...), passed by
        the exercise cell.
    """
    known = registry()
    if exercise_id not in known:
        raise KeyError(f"No exercise {exercise_id!r}; known: {sorted(known)}.")
    if answer is Ellipsis:
        feedback = Feedback(exercise_id, False, "not answered yet: replace the `...` with your code.")
    else:
        try:
            hint = known[exercise_id].checker(answer, **context)
        except Exception as err:  # a wrong answer may break the check itself: that is a hint too
            hint = f"checking your answer raised {type(err).__name__}: {str(err)[:200]}"
        feedback = Feedback(exercise_id, hint is None, "right." if hint is None else f"not yet: {hint}")
    _record(exercise_id, feedback.right)
    print(feedback)
    return feedback


def solutions_of(path: str | os.PathLike[str]) -> dict[str, str]:
    """The reference solutions in a ``workshop/solutions/NN_name.py`` file: ``{exercise id: code}``."""
    text = Path(path).read_text(encoding="utf-8")
    marks = list(_SOLUTION_CELL.finditer(text))
    return {m["id"]: text[m.end():(marks[i + 1].start() if i + 1 < len(marks) else len(text))].strip("\n")
            for i, m in enumerate(marks)}


def solved_notebook(notebook: Any, solutions: dict[str, str]) -> Any:
    """A copy of ``notebook`` (an nbformat node) with each gap replaced by its solution's code.

    Raises ``KeyError`` naming a gap without a solution, and ``ValueError`` naming a solution without a gap.
    """
    import copy

    solved = copy.deepcopy(notebook)
    used = set()
    for cell in solved.cells:
        if cell.cell_type != "code":
            continue

        def fill(m: re.Match[str]) -> str:
            exercise_id = f"{m['nb']}.{m['n']}"
            if exercise_id not in solutions:
                raise KeyError(f"No solution for exercise {exercise_id} in workshop/solutions/.")
            used.add(exercise_id)
            return "\n".join(m["indent"] + line for line in solutions[exercise_id].splitlines())

        cell.source = GAP.sub(fill, cell.source)
    unused = sorted(set(solutions) - used)
    if unused:
        raise ValueError(f"Solutions without a gap in the notebook: {unused}.")
    return solved
