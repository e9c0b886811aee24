"""Checks of the exercises of notebooks/50_capstone.ipynb; reference solutions in exercises/solutions/50_capstone.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from exercises import exercise, onnx_session


def _probabilities(path: Any, X: np.ndarray) -> np.ndarray:
    """The (rows, classes) float output of a one-input classifier file."""
    session = onnx_session(path)
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
    session = onnx_session(path)
    if len(session.get_inputs()) != 1:
        return f"the model has {len(session.get_inputs())} inputs; the endpoint step wants one input of 13 features."
    if session.get_inputs()[0].name != "features":
        return (f"the input is called {session.get_inputs()[0].name!r}: name it 'features', the name the endpoint's "
                "requests use.")
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
    if not isinstance(answer, (int, np.integer)) or isinstance(answer, bool):  # noqa: UP038 (3.8 kernel)
        return f"answer a whole number, not {type(answer).__name__}."
    if answer != nodes:
        return "not this graph's count: count `model.graph.node`, or read the operators in helpers.inspect's summary."
    return None


@exercise("50.5", "make a smaller or faster copy (quantized or optimized) that keeps the labels; answer its path")
def _check_optimized(answer: Any, *, onnx_path: Any, X_test: np.ndarray) -> str | None:
    import onnx

    from exercises import answer_file

    hint = answer_file(answer, not_one_of=onnx_path)
    if hint:
        return hint.replace("make a new file as the task asks", "answer the path of a new file, not the original export")
    mine = onnx.load(str(answer), load_external_data=False)
    theirs = onnx.load(str(onnx_path), load_external_data=False)
    ops = sorted(n.op_type for n in mine.graph.node)
    if ops == sorted(n.op_type for n in theirs.graph.node) and Path(answer).stat().st_size >= Path(onnx_path).stat().st_size:
        return ("the new file has the same operators as the original and is not smaller: quantize a network "
                "(quantize_dynamic), or shrink the graph itself (for scikit-learn, fold the scaler into the "
                "coefficients); ONNX Runtime's optimizer finds nothing to fuse in ai.onnx.ml operators.")
    agree = float((_probabilities(answer, X_test).argmax(1) == _probabilities(onnx_path, X_test).argmax(1)).mean())
    if agree < 0.95:
        return f"only {agree:.0%} of the labels agree with the original: quantize fewer operators, or optimize instead."
    return None


@exercise("50.6", "serve the model on the local endpoint; answer the JSON reply to the first five test rows")
def _check_reply(answer: Any, *, onnx_path: Any, X_test: np.ndarray) -> str | None:
    if not isinstance(answer, dict) or "predictions" not in answer:
        return "answer the parsed JSON body of the endpoint's reply (a dict with 'predictions')."
    probabilities = _probabilities(onnx_path, X_test[:5])
    if list(answer["predictions"]) != probabilities.argmax(1).tolist():
        return "the predictions are not the model's for the first five test rows: post X_test[:5], as a list of lists."
    labels, given = answer.get("labels"), answer.get("probabilities")
    if not isinstance(labels, list) or len(labels) != 5 or not all(isinstance(v, str) for v in labels) or given is None:
        return ("answer the whole body deploy/score.py sent (its 'labels' and 'probabilities' too), not predictions "
                "you computed: reply = endpoint.post(...).body.")
    if np.asarray(given, dtype=np.float64).shape != probabilities.shape or not np.allclose(given, probabilities, atol=1e-4):
        return "the 'probabilities' are not the model's for these rows: answer the endpoint's reply, unchanged."
    return None


@exercise("50.7", "export the same task from a second framework; answer that file's path")
def _check_other_framework(answer: Any, *, onnx_path: Any, X_test: np.ndarray, y_test: np.ndarray) -> str | None:
    import onnx

    path = Path(answer)
    if path.suffix != ".onnx" or not path.is_file():
        return f"{path} is not an .onnx file that exists: answer the path you exported the second model to."
    if path.resolve() == Path(onnx_path).resolve():
        return "that is your first export: train and export the same task with another framework, to a new file."
    producer = onnx.load(str(path), load_external_data=False).producer_name
    first = onnx.load(str(onnx_path), load_external_data=False).producer_name
    if producer == first:
        return f"both files come from the same exporter ({producer}): use another framework's own exporter."
    hint = _check_export(path, X_test=X_test)
    if hint:
        return hint
    accuracy = float((_probabilities(path, X_test).argmax(1) == y_test).mean())
    if accuracy < 0.85:
        return f"the second model's test accuracy is {accuracy:.2f}; aim for 0.85: scale inside the model, train longer."
    return None


@exercise("50.8", "send the endpoint a row of 12 numbers, then one with a string; answer the two replies")
def _check_malformed_replies(answer: Any, *, endpoint: Any, X_test: np.ndarray) -> str | None:
    from helpers.serve import Reply

    if not isinstance(answer, (list, tuple)) or len(answer) != 2 or not all(isinstance(a, Reply) for a in answer):  # noqa: UP038
        return ("answer the two replies endpoint.post returned, as (12 numbers, a string): Reply objects with their "
                "status and body, not status codes typed in.")
    if any(a.ok for a in answer):
        return "one request was accepted (200): send a row of 12 numbers, and a row where one number is a string."
    ids = [a.headers.get("x-request-id") if a.headers else None for a in answer]
    if None in ids or ids[0] == ids[1]:
        return "these replies did not come from two requests to the endpoint (each carries its own x-request-id): post both."
    row = [float(v) for v in X_test[0]]
    expected = [endpoint.post({"inputs": {"features": [row[:12]]}}),
                endpoint.post({"inputs": {"features": [["oops", *row[1:]]]}})]
    for what, mine, theirs in zip(("12 numbers", "a string"), answer, expected):
        if (mine.status, _message(mine)) != (theirs.status, _message(theirs)):
            return (f"your reply to the row with {what} is not the endpoint's answer to that request (its status and "
                    "message): post that row and answer the reply.")
    return None


def _message(reply: Any) -> Any:
    return reply.body.get("message") if isinstance(reply.body, dict) else reply.body
