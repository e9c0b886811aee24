"""Notebook 45's exercise checks, fed wrong answers (and right ones built here)."""

from __future__ import annotations

import numpy as np
import pytest

import exercises

pytest.importorskip("pyspark", reason="helpers.spark's errors come with pyspark's kernel (main)")


def _errors():
    from helpers import spark as sparkh

    found = []
    for inputs, outputs in (([1, 2, 3], [1, 2]), ([1, 1, 2], [1, 2])):
        try:
            sparkh.account_rows(inputs, outputs)
        except sparkh.RowAccountingError as err:
            found.append(err)
    return tuple(found)


def test_45_2_accepts_the_two_errors_and_refuses_wrong_ones():
    lost, repeated = _errors()
    assert exercises.check("45.2", (lost, repeated))
    wrong = {
        "answer a pair": exercises.check("45.2", lost),
        "RowAccountingError objects": exercises.check("45.2", (ValueError("x"), repeated)),
        "exactly one lost row": exercises.check("45.2", (repeated, repeated)),
        "repeated input id": exercises.check("45.2", (lost, lost)),
    }
    for hint, feedback in wrong.items():
        assert not feedback and hint in feedback.message, (hint, feedback.message)


def test_45_1_wants_the_label_the_model_gives_a_nan_image(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    # a tiny "CNN": flatten the 8x8 image and add a bias per class, so NaN pixels give NaN logits
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"]),
         helper.make_node("ReduceSum", ["flat"], ["total"], keepdims=1),
         helper.make_node("Add", ["total", "bias"], ["logits"])],
        "nan_cnn", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        [helper.make_tensor("bias", TensorProto.FLOAT, [10], np.arange(10, dtype=np.float32))])
    path = tmp_path / "nan_cnn.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    assert exercises.check("45.1", 0, onnx_path=path), "numpy's argmax of all-NaN logits is the first index"
    assert "whole number" in exercises.check("45.1", "0", onnx_path=path).message
    assert "not the label" in exercises.check("45.1", 7, onnx_path=path).message
