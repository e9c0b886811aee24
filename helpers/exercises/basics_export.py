"""Checks of the exercises of notebooks 00, 01, 10, 11 and 12 (basics and exporting; solutions in workshop/solutions/).

Each check tests what the answer does: a file that loads and matches the notebook's reference outputs, a
number the check computes itself, an error of the right kind. Framework imports stay inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from helpers.exercises import exercise, onnx_session


def _outputs(model: Any, feed: Any) -> list:
    """Every output of ``model`` (a path or a ModelProto) for ``feed`` (an array for a one-input model, or a dict)."""
    session = onnx_session(model)
    if not isinstance(feed, dict):
        feed = {session.get_inputs()[0].name: np.asarray(feed, dtype=np.float32)}
    return session.run(None, feed)


def _onnx_file(answer: Any) -> str | None:
    """A hint when ``answer`` is not the path of an .onnx file that exists."""
    if isinstance(answer, (str, Path)) and Path(answer).suffix == ".onnx" and Path(answer).is_file():  # noqa: UP038
        return None
    return f"answer the path of the .onnx file you wrote (a str or Path), not {type(answer).__name__} {str(answer)[:60]!r}."


def _softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _ai_onnx_opset(model: Any) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


# --- 00 start here --------------------------------------------------------------------------------------------


@exercise("0.1", "which of numpy, onnx and onnxruntime have another version in the legacy kernel? answer the set")
def _check_kernel_difference(answer: Any, *, legacy: dict) -> str | None:
    from helpers.environment import package_versions

    names = ("numpy", "onnx", "onnxruntime")
    if not isinstance(answer, (set, frozenset, list, tuple)) or not all(isinstance(a, str) for a in answer):  # noqa: UP038
        return "answer a set of package names, e.g. {'name', ...}."
    main = package_versions(names)
    differ = {name for name in names if legacy.get(name) != main[name]}
    given = set(answer)
    if given - set(names):
        return f"only {', '.join(names)} are asked about; drop {sorted(given - set(names))}."
    if given != differ:
        return "not this set: compare the legacy table of section 3 with environment.package_versions() of this kernel."
    return None


@exercise("0.2", "read notebook 01's parameters cell; answer {parameter name: default value}")
def _check_parameters_of_01(answer: Any, *, notebook: Any) -> str | None:
    import json

    from helpers.parameters import notebook_parameters

    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]  # plain json: nbformat imports slowly
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    expected = notebook_parameters("".join(tagged[0]["source"]))
    if not isinstance(answer, dict):
        return "answer a dict {name: default value}, one entry per assignment in the cell tagged `parameters`."
    if set(answer) != set(expected):
        return (f"the names are not the parameters cell's ({len(expected)} parameters, you have {len(answer)}): "
                "find the cell whose metadata tags include 'parameters'.")
    wrong = sorted(k for k in expected if answer[k] != expected[k] or type(answer[k]) is not type(expected[k]))
    if wrong:
        return f"the defaults of {wrong} differ: answer Python values (True, 21), not strings."
    return None


# --- 01 ONNX basics ---------------------------------------------------------------------------------------------


@exercise("1.1", "run a one-node Softmax(axis=1) model at opset 11 on a 3-D tensor; answer its output")
def _check_softmax_opset11(answer: Any, *, x: np.ndarray) -> str | None:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3:
        return "the exercise cell's x must stay 3-D: the difference only shows beyond two dimensions."
    flat = _softmax(x.reshape(len(x), -1)).reshape(x.shape)  # opset < 13: coerce to 2-D at `axis`, then softmax
    per_axis = _softmax(x, axis=1)  # opset 13+: along `axis` only
    got = np.asarray(answer, dtype=np.float64) if isinstance(answer, (np.ndarray, list)) else None  # noqa: UP038
    if got is None or got.shape != x.shape:
        return f"answer the output array of session.run for x, shape {x.shape}."
    if np.allclose(got, per_axis, atol=1e-6):
        return "that is opset 13's Softmax (along axis 1 only): did the model declare opset 11 in opset_imports?"
    if not np.allclose(got, flat, atol=1e-6):
        return "not the output of a Softmax with axis=1 on x: build the node with axis=1 and feed x unchanged."
    return None


@exercise("1.2", "add a Mul node that doubles the scores before the softmax; answer the new model")
def _check_doubled_scores(answer: Any, *, X: np.ndarray, W: np.ndarray, b: np.ndarray) -> str | None:
    import onnx

    if not isinstance(answer, onnx.ModelProto):
        return f"answer the ModelProto with the extra node, not {type(answer).__name__}."
    onnx.checker.check_model(answer, full_check=True)
    if "Mul" not in {n.op_type for n in answer.graph.node}:
        return "the graph has no Mul node: add helper.make_node('Mul', ...) between Add and Softmax."
    names = [o.name for o in answer.graph.output]
    if names[:2] != ["probabilities", "label"]:
        return f"keep the outputs 'probabilities' and 'label' (in that order); the graph has {names}."
    probabilities, labels = _outputs(answer, X)[:2]
    scores = X @ W + b
    if not np.allclose(probabilities, _softmax(2 * scores), rtol=1e-5, atol=1e-6):
        if np.allclose(probabilities, _softmax(scores), rtol=1e-5, atol=1e-6):
            return "the probabilities did not change: does the Softmax read the Mul's output?"
        return "the probabilities are not softmax(2 * scores): multiply by a float32 constant 2 (an initializer)."
    if not np.array_equal(labels, scores.argmax(1)):
        return "the labels changed: doubling the scores keeps their order, so ArgMax should see the same ranking."
    return None


# --- 10 PyTorch -------------------------------------------------------------------------------------------------


@exercise("10.1", "save the dynamo export as ONE file (external_data=False); answer its path")
def _check_single_file(answer: Any, *, X: np.ndarray, logits: np.ndarray) -> str | None:
    import onnx

    hint = _onnx_file(answer)
    if hint:
        return hint
    proto = onnx.load(str(answer), load_external_data=False)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer):
        return "the weights still live in a .data file: save with external_data=False."
    got = _outputs(answer, X)[0]
    if got.shape != logits.shape or not np.allclose(got, logits, rtol=1e-4, atol=1e-5):
        return "the file does not compute the notebook's logits: export `model`, the trained CNN."
    return None


@exercise("10.2", "export AutoScale written with torch.cond, with dynamo=True; answer the file's path")
def _check_cond(answer: Any, *, X: np.ndarray, logits: np.ndarray) -> str | None:
    import onnx

    hint = _onnx_file(answer)
    if hint:
        return hint
    ops = {n.op_type for n in onnx.load(str(answer), load_external_data=False).graph.node}
    if "If" not in ops:
        return "the graph has no If node: torch.cond becomes an ONNX If only with dynamo=True."
    for name, x in (("scaled", X), ("raw (x 16)", X * 16)):
        got = _outputs(answer, x)[0]
        if got.shape != logits.shape or not np.allclose(got, logits, rtol=1e-4, atol=1e-5):
            return (f"on {name} images the file does not give the CNN's logits: the true branch divides by 16, "
                    "the false one returns x unchanged.")
    return None


@exercise("10.3", "ask for opset 17 as the notebook's second cell does; answer the error you caught")
def _check_opset_refusal(answer: Any) -> str | None:
    if not isinstance(answer, BaseException):
        return "answer the exception itself (`except ValueError as err: answer = err`), not its text or a value."
    if not isinstance(answer, ValueError):
        return f"check_parameter raises ValueError; you caught {type(answer).__name__}."
    message = str(answer)
    if "opset=17" not in message or "18 to 23" not in message:
        return "this is not the refusal of opset=17 (range 18 to 23): call check_parameter('opset', 17, ...) as cell 2 does."
    if "dynamo=False" not in message:
        return "pass the notebook's `why`: the message should tell you what to do instead."
    return None


# --- 11 TensorFlow ----------------------------------------------------------------------------------------------


@exercise("11.1", "convert the functional model with inputs_as_nchw=['image']; answer the file's path")
def _check_nchw(answer: Any, *, X_nchw: np.ndarray, probabilities: np.ndarray) -> str | None:
    import onnx

    hint = _onnx_file(answer)
    if hint:
        return hint
    graph = onnx.load(str(answer)).graph
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim][1:]
    if dims != [1, 8, 8]:
        return f"the input is {dims} after the batch, not NCHW [1, 8, 8]: pass inputs_as_nchw with the input's name."
    got = _outputs(answer, X_nchw)[0]
    if got.shape != probabilities.shape or not np.allclose(got, probabilities, rtol=1e-4, atol=1e-5):
        return "the file does not give the functional model's probabilities on NCHW images: convert `functional`."
    return None


@exercise("11.2", "convert the functional model at opset 13; answer the file's path")
def _check_opset13(answer: Any, *, X: np.ndarray, probabilities: np.ndarray) -> str | None:
    import onnx

    hint = _onnx_file(answer)
    if hint:
        return hint
    opset = _ai_onnx_opset(onnx.load(str(answer)))
    if opset != 13:
        return f"the file declares opset {opset}: pass opset=13 to from_keras."
    got = _outputs(answer, X)[0]
    if got.shape != probabilities.shape or not np.allclose(got, probabilities, rtol=1e-4, atol=1e-5):
        return "the file does not give the functional model's probabilities: convert `functional` with `signature`."
    return None


# --- 12 scikit-learn --------------------------------------------------------------------------------------------


@exercise("12.1", "swap in a RandomForestClassifier, fit and convert; answer (fitted pipeline, ONNX model)")
def _check_forest(answer: Any, *, X_test: Any, feed: dict) -> str | None:
    import onnx

    if not isinstance(answer, tuple) or len(answer) != 2:
        return "answer a pair: (the fitted scikit-learn pipeline, the converted ONNX model or its path)."
    pipeline, model = answer
    from sklearn.ensemble import RandomForestClassifier

    step = getattr(pipeline, "steps", [(None, None)])[-1][1]
    if not isinstance(step, RandomForestClassifier):
        return f"the pipeline's last step is {type(step).__name__}, not a RandomForestClassifier."
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    if "TreeEnsembleClassifier" not in {n.op_type for n in model.graph.node} and \
            "TreeEnsemble" not in {n.op_type for n in model.graph.node}:
        return "the ONNX model has no tree ensemble: convert the forest's pipeline, not `pipe`."
    labels = np.asarray(_outputs(model, feed)[0]).ravel()
    agree = float((labels == pipeline.predict(X_test)).mean())
    if agree < 0.95:
        return f"only {agree:.0%} of the ONNX labels equal the pipeline's: convert the pipeline you fitted, with the same inputs."
    return None


@exercise("12.2", "send one row with contract='ten-year' to ONNX Runtime; answer its probabilities")
def _check_unknown_category(answer: Any, *, pipe: Any, row: Any) -> str | None:
    unseen = row.copy()
    unseen["contract"] = "ten-year"
    expected = pipe.predict_proba(unseen)
    got = np.asarray(answer, dtype=np.float64) if isinstance(answer, (np.ndarray, list)) else None  # noqa: UP038
    if got is None or got.shape != expected.shape:
        return f"answer the probabilities array ONNX Runtime returned, shape {expected.shape} (a model with zipmap=False)."
    if np.allclose(got, pipe.predict_proba(row), atol=1e-5) and not np.allclose(expected, pipe.predict_proba(row)):
        return "these are the probabilities of the original row: set contract to 'ten-year' in the feed."
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        return "these are not the probabilities of the row with contract='ten-year': feed the other columns unchanged."
    return None
