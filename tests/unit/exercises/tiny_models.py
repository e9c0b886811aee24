"""Small models built in code for the exercise checks' tests of notebooks 30-50 (no training, no download)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def tiny_digits(folder: Path) -> tuple[Path, object, list[str]]:
    """A digits-shaped classifier (image [N, 1, 8, 8] -> logits [N, 10]) with labels in its metadata."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).normal(size=(64, 10)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["logits"])],
        "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])], [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    labels = [f"digit {i}" for i in range(10)]
    helper.set_model_props(model, {"labels": json.dumps(labels)})
    path = Path(folder) / "tiny.onnx"
    onnx.save(model, path)
    return path, model, labels


def with_props(folder: Path, model, props: dict, name: str) -> Path:
    """A copy of ``model`` with its metadata replaced by ``props``, saved as ``folder/name``."""
    import copy

    import onnx

    m = copy.deepcopy(model)
    onnx.helper.set_model_props(m, props)
    path = Path(folder) / name
    onnx.save(m, path)
    return path
