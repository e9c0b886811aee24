"""Exercises that check themselves: right or wrong, with a hint, never the answer.

A notebook's "Try it yourself" exercises are cells with a gap and a check::

    answer_10_1 = ...  # YOUR CODE: the path of the file you exported
    exercises.check("10.1", answer_10_1, model=model, X=digits.X_test)

The check tests what the answer *does* (a file that loads and matches, a number within tolerance, an error
of the right kind), not the text of the code, so any correct solution passes; a gap left as ``...`` is
never right. Verdicts are recorded for the tests (``helpers.report.glue`` under ``"exercises"``).

One notebook, one place: the checks of ``notebooks/NN_name.ipynb`` live in ``exercises/nbNN_name.py``
(loaded on first use), its reference solutions in ``exercises/solutions/NN_name.py`` (one ``# %% 10.1``
cell per exercise), and the tests run each notebook with its solutions in the gaps
(:func:`solved_notebook`). This module holds what every check module shares: the registry, the verdict,
and the small answer tests (:func:`answer_file`, :func:`pair_hint`, ...). Introduced in
notebooks/00_start_here.ipynb.

Importable in every kernel, Python 3.8 included (ruff checks it with ``target-version = "py38"``).

>>> from exercises import check
>>> check("50.4", ..., onnx_path="model.onnx").right
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
           "solutions_of", "solved_notebook", "check_module", "answer_file", "pair_hint", "outputs", "load_onnx",
           "changed_definitions", "dynamo_made"]

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


def check_module(exercise_id: str) -> str:
    """The module that checks ``exercise_id``: ``"10.1"`` -> ``exercises.nb10_export_pytorch``."""
    number = int(exercise_id.split(".")[0])
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name.startswith("nb") and module.name[2:4].isdigit() and int(module.name[2:4]) == number:
            return f"{__name__}.{module.name}"
    raise KeyError(f"No exercise {exercise_id!r}: no module exercises/nb{number:02d}_*.py checks notebook {number:02d}.")


def registry(exercise_id: str | None = None) -> dict[str, Exercise]:
    """The registered exercises, after importing the check module of ``exercise_id`` (or of every notebook)."""
    if exercise_id is not None:
        importlib.import_module(check_module(exercise_id))
        return EXERCISES
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name.startswith("nb"):
            importlib.import_module(f"{__name__}.{module.name}")
    return EXERCISES


def onnx_session(model: Any) -> Any:
    """The ONNX Runtime session a check runs an answer in: the workbook's one builder,
    :func:`helpers.runtime.make_session` (a broken file gets its clear error), with one thread.

    model: a path, ``ModelProto`` or serialized bytes. Imported on use: the mlnet kernel never calls it.
    """
    from helpers.runtime import make_session

    return make_session(model, intra_op_threads=1)


def answer_file(answer: Any, suffix: str = ".onnx", *, not_one_of: Any = ()) -> str | None:
    """A hint when ``answer`` is not the path of an existing ``suffix`` file of the reader's own, else None.

    not_one_of: files the notebook itself made (or was given): answering one of them, or a byte-for-byte
        copy of one, is refused, because the task asks for a new file.

    >>> answer_file(3.5)
    'answer the path of the .onnx file you wrote (a str or Path), not float 3.5.'
    """
    if not isinstance(answer, (str, Path)) or Path(answer).suffix != suffix or not Path(answer).is_file():  # noqa: UP038
        return f"answer the path of the {suffix} file you wrote (a str or Path), not {type(answer).__name__} {str(answer)[:60]}."
    mine = Path(answer).resolve()
    for theirs in [not_one_of] if isinstance(not_one_of, (str, Path)) else not_one_of:  # noqa: UP038
        theirs = Path(theirs)
        if theirs.is_file() and (mine == theirs.resolve() or mine.read_bytes() == theirs.read_bytes()):
            return f"{Path(answer).name} is the notebook's own {theirs.name} (or a copy of it): make a new file as the task asks."
    return None


def pair_hint(answer: Any, size: int, what: str) -> str | None:
    """A hint when ``answer`` is not a tuple (or list) of ``size`` items (``what`` names them), else None."""
    if not isinstance(answer, (tuple, list)) or len(answer) != size:  # noqa: UP038
        return f"answer a tuple of {size}: {what}."
    return None


def load_onnx(model: Any) -> Any:
    """An ``onnx.ModelProto`` from a path or a model (the workbook's one loader, with its clear errors)."""
    from helpers.inspect import load_model

    return load_model(model)


def outputs(model: Any, feed: Any) -> list:
    """Every output of ``model`` (a path or a ModelProto) for ``feed`` (an array for a one-input model, or a dict)."""
    import numpy as np

    session = onnx_session(model)
    if not isinstance(feed, dict):
        feed = {session.get_inputs()[0].name: np.asarray(feed, dtype=np.float32)}
    return session.run(None, feed)


def changed_definitions(before: Any, after: Any) -> set[str]:
    """Operator types of both models whose definition version differs between their opsets."""
    from helpers.opset import _since_versions

    old, new = _since_versions(load_onnx(before)), _since_versions(load_onnx(after))
    return {op for op in old.keys() & new.keys() if old[op] != new[op]}


def dynamo_made(model: Any) -> bool:
    """True when ``model`` (a path or ModelProto) was written by ``torch.onnx.export(..., dynamo=True)``: that
    exporter stamps node metadata under ``pkg.torch.onnx``; TorchScript's nodes (``dynamo=False``) carry none,
    and ``onnx.version_converter`` drops it."""
    import onnx

    proto = model if isinstance(model, onnx.ModelProto) else onnx.load(str(model), load_external_data=False)
    return any(p.key.startswith("pkg.torch.onnx") for node in proto.graph.node for p in node.metadata_props)


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
    known = registry(exercise_id)
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
