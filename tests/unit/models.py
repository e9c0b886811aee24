"""Tiny ONNX models built in code, for the unit tests."""

from __future__ import annotations

import numpy as np


def linear_model(weights: np.ndarray | None = None, opset: int = 17):
    """``y = x @ W + b`` and ``label = argmax(y)``, with a dynamic batch dimension."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    W = np.asarray(weights if weights is not None else np.arange(12, dtype=np.float32).reshape(4, 3) / 10)
    b = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["scores"]),
            helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0),
        ],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 3]),
            helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
        ],
        [numpy_helper.from_array(W.astype(np.float32), "W"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="unit-test")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def linear_reference(x: np.ndarray, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """What :func:`linear_model` computes, in numpy (the 'framework' side)."""
    W = np.asarray(weights if weights is not None else np.arange(12, dtype=np.float32).reshape(4, 3) / 10)
    scores = x @ W + np.array([0.1, -0.2, 0.3], dtype=np.float32)
    return {"scores": scores.astype(np.float32), "label": scores.argmax(axis=1).astype(np.int64)}
