"""Exercises that check themselves: right or wrong, with a hint, never the answer.

An exercise cell ends with ``exercises.check("50.2", answer, ...)``. The check tests what the answer
*does* (a file that loads and matches, a number within tolerance, a reply with the right labels), not the
text of the code, so any correct solution passes. A starter's gap is ``...``: checking it says so. Results
are recorded for the tests (``helpers.report.glue`` under ``"exercises"``). Reference solutions live apart
from the notebooks, in ``workshop/solutions/``. Introduced in notebooks/50_capstone.ipynb.

>>> from helpers import exercises
>>> exercises.check("50.4", ..., onnx_path="model.onnx").right
✗ 50.4 not answered yet: replace the `...` with your code.
False
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Feedback", "EXERCISES", "exercise", "check"]

Checker = Callable[..., "str | None"]  # returns None when right, else the hint


@dataclass(frozen=True)
class Exercise:
    """A registered exercise: its task in one line and the function that checks an answer."""

    id: str
    task: str
    checker: Checker


#: Every exercise by id (``"<notebook number>.<n>"``); filled by :func:`exercise` when this module loads.
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
    """Register ``checker`` as the check of ``exercise_id``."""

    def register(checker: Checker) -> Checker:
        EXERCISES[exercise_id] = Exercise(exercise_id, task, checker)
        return checker

    return register


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
    if exercise_id not in EXERCISES:
        raise KeyError(f"No exercise {exercise_id!r}; known: {sorted(EXERCISES)}.")
    if answer is Ellipsis:
        feedback = Feedback(exercise_id, False, "not answered yet: replace the `...` with your code.")
    else:
        try:
            hint = EXERCISES[exercise_id].checker(answer, **context)
        except Exception as err:  # a wrong answer may break the check itself: that is a hint too
            hint = f"checking your answer raised {type(err).__name__}: {str(err)[:200]}"
        feedback = Feedback(exercise_id, hint is None, "right." if hint is None else f"not yet: {hint}")
    _record(exercise_id, feedback.right)
    print(feedback)
    return feedback


# --- the capstone (notebooks/50_capstone.ipynb) ------------------------------------------------------------

def _session(path: Any) -> Any:
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _probabilities(path: Any, X: np.ndarray) -> np.ndarray:
    """The (rows, classes) float output of a one-input classifier file."""
    session = _session(path)
    outputs = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})
    for out in outputs:
        if isinstance(out, np.ndarray) and out.ndim == 2 and out.shape[0] == len(X) and out.dtype.kind == "f":
            return out
    raise ValueError("the model has no (rows, classes) float output: with skl2onnx, pass options={'zipmap': False}")


@exercise("50.1", "train a classifier in your framework; answer its class probabilities on the test set")
def _check_probabilities(answer: Any, *, y_test: np.ndarray) -> str | None:
    p = np.asarray(answer)
    if p.shape != (len(y_test), 3):
        return f"expected one row of 3 class probabilities per test example, shape {(len(y_test), 3)}; got {p.shape}."
    if not np.all(np.isfinite(p)):
        return "some probabilities are NaN or infinite: scale the inputs, or lower the learning rate."
    if not np.allclose(p.sum(axis=1), 1, atol=1e-3):
        return "each row should sum to 1: apply a softmax (or answer predict_proba, not the raw scores)."
    accuracy = float((p.argmax(axis=1) == y_test).mean())
    if accuracy < 0.85:
        return f"test accuracy is {accuracy:.2f}; aim for 0.85: scale the features inside the model, or train longer."
    return None


@exercise("50.2", "export the model to ONNX; answer the file's path")
def _check_export(answer: Any, *, X_test: np.ndarray) -> str | None:
    import onnx

    path = Path(answer)
    if path.suffix != ".onnx" or not path.is_file():
        return f"{path} is not an .onnx file that exists: answer the path you exported to."
    onnx.checker.check_model(str(path), full_check=True)
    session = _session(path)
    if len(session.get_inputs()) != 1:
        return f"the model has {len(session.get_inputs())} inputs; the endpoint step wants one input of 13 features."
    if isinstance(session.get_inputs()[0].shape[0], int):
        return "the batch dimension is fixed: export with a dynamic batch (dynamic_shapes, input_signature [None, 13])."
    probs = _probabilities(path, X_test)
    if probs.shape[1] != 3:
        return f"the probabilities output has {probs.shape[1]} columns, not 3."
    return None


@exercise("50.3", "compare your framework with ONNX Runtime on the test set; answer the ParityResult")
def _check_parity(answer: Any, *, onnx_path: Any, X_test: np.ndarray, framework_probabilities: np.ndarray) -> str | None:
    if not hasattr(answer, "verdict") or not getattr(answer, "outputs", None):
        return "answer the result of helpers.verify.check_conversion (a ParityResult that compared an output)."
    if answer.verdict != "pass":
        return f"the comparison says {answer.verdict}: read its table; are you comparing probabilities with probabilities?"
    ours = np.abs(_probabilities(onnx_path, X_test) - np.asarray(framework_probabilities)).max()
    if ours > 1e-4:
        return f"ONNX Runtime and your framework differ by {ours:.2g} on the test set: compare the right file and data."
    return None


@exercise("50.4", "how many nodes (operators) does the exported graph have?")
def _check_nodes(answer: Any, *, onnx_path: Any) -> str | None:
    import onnx

    nodes = len(onnx.load(str(onnx_path), load_external_data=False).graph.node)
    if not isinstance(answer, int | np.integer) or isinstance(answer, bool):
        return f"answer a whole number, not {type(answer).__name__}."
    if answer != nodes:
        return "not this graph's count: count `model.graph.node`, or read the operators in helpers.inspect's summary."
    return None


@exercise("50.5", "make a smaller or faster copy (quantized or optimized) that keeps the labels; answer its path")
def _check_optimized(answer: Any, *, onnx_path: Any, X_test: np.ndarray) -> str | None:
    path = Path(answer)
    if not path.is_file() or path.resolve() == Path(onnx_path).resolve():
        return "answer the path of a new file, not the original export."
    agree = float((_probabilities(path, X_test).argmax(1) == _probabilities(onnx_path, X_test).argmax(1)).mean())
    if agree < 0.95:
        return f"only {agree:.0%} of the labels agree with the original: quantize fewer operators, or optimize instead."
    return None


@exercise("50.6", "serve the model on the local endpoint; answer the JSON reply to the first five test rows")
def _check_reply(answer: Any, *, onnx_path: Any, X_test: np.ndarray) -> str | None:
    if not isinstance(answer, dict) or "predictions" not in answer:
        return "answer the parsed JSON body of the endpoint's reply (a dict with 'predictions')."
    expected = _probabilities(onnx_path, X_test[:5]).argmax(1).tolist()
    if list(answer["predictions"]) != expected:
        return "the predictions are not the model's for the first five test rows: post X_test[:5], as a list of lists."
    return None
