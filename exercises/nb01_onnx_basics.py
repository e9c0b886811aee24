"""Checks of the exercises of notebooks/01_onnx_basics.ipynb; reference solutions in exercises/solutions/01_onnx_basics.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from exercises import exercise, outputs


def _softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@exercise("1.1", "build a one-node Softmax(axis=1) model at opset 11, run it on a 3-D tensor; answer (model, output)")
def _check_softmax_opset11(answer: Any, *, x: np.ndarray) -> str | None:
    import onnx

    from helpers.opset import opset_of

    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3:
        return "the exercise cell's x must stay 3-D: the difference only shows beyond two dimensions."
    if not isinstance(answer, tuple) or len(answer) != 2 or not isinstance(answer[0], onnx.ModelProto):
        return "answer a pair: (the ModelProto you built, the output of session.run for x)."
    model, output = answer
    flat = _softmax(x.reshape(len(x), -1)).reshape(x.shape)  # opset < 13: coerce to 2-D at `axis`, then softmax
    per_axis = _softmax(x, axis=1)  # opset 13+: along `axis` only
    got = np.asarray(output, dtype=np.float64) if isinstance(output, (np.ndarray, list)) else None  # noqa: UP038
    if got is None or got.shape != x.shape:
        return f"the second item should be the output array of session.run for x, shape {x.shape}."
    if [n.op_type for n in model.graph.node] != ["Softmax"]:
        return f"the model has the nodes {[n.op_type for n in model.graph.node]}: build it with one Softmax node only."
    if opset_of(model) != 11:
        if np.allclose(got, per_axis, atol=1e-6):
            return "that is opset 13's Softmax (along axis 1 only): did the model declare opset 11 in opset_imports?"
        return f"the model declares opset {opset_of(model)}: make it with opset_imports=[helper.make_opsetid('', 11)]."
    mine = outputs(model, {model.graph.input[0].name: x})[0]
    if not np.allclose(mine, flat, atol=1e-6):
        return "your model does not compute a Softmax with axis=1 on x: give the node axis=1."
    if not np.allclose(got, mine, atol=1e-6):
        return "the output is not what your model computes for x: answer session.run's output, for x unchanged."
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
    producers = {o: n.op_type for n in answer.graph.node for o in n.output}
    softmax = next((n for n in answer.graph.node if n.op_type == "Softmax"), None)
    if softmax is None or producers.get(softmax.input[0]) != "Mul":
        return "the Softmax does not read the Mul's output: connect Mul -> Softmax (the Mul reads the scores)."
    probabilities, labels = outputs(answer, X)[:2]
    scores = X @ W + b
    if not np.allclose(probabilities, _softmax(2 * scores), rtol=1e-5, atol=1e-6):
        if np.allclose(probabilities, _softmax(scores), rtol=1e-5, atol=1e-6):
            return "the probabilities did not change: does the Softmax read the Mul's output?"
        return "the probabilities are not softmax(2 * scores): multiply by a float32 constant 2 (an initializer)."
    if not np.array_equal(labels, scores.argmax(1)):
        return "the labels changed: doubling the scores keeps their order, so ArgMax should see the same ranking."
    return None
