"""Checks of the exercises of notebooks/01_onnx_basics.ipynb; reference solutions in exercises/solutions/01_onnx_basics.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from exercises import exercise, outputs


def _softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


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
    probabilities, labels = outputs(answer, X)[:2]
    scores = X @ W + b
    if not np.allclose(probabilities, _softmax(2 * scores), rtol=1e-5, atol=1e-6):
        if np.allclose(probabilities, _softmax(scores), rtol=1e-5, atol=1e-6):
            return "the probabilities did not change: does the Softmax read the Mul's output?"
        return "the probabilities are not softmax(2 * scores): multiply by a float32 constant 2 (an initializer)."
    if not np.array_equal(labels, scores.argmax(1)):
        return "the labels changed: doubling the scores keeps their order, so ArgMax should see the same ranking."
    return None
