"""Checks of notebooks/19_mlnet_models_modern_runtime.ipynb's exercises (exercises/nb19_mlnet_models_modern_runtime.py): the right answer passes,
each shortcut a tired attendee takes is refused with a hint.
"""

from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

import exercises


@pytest.fixture(scope="module")
def iris_pipe():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from helpers import data

    iris = data.load_iris()
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(iris.X_train, iris.y_train)


def _opset13(pipe, opset=13):
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    return to_onnx(pipe, initial_types=[("x", FloatTensorType([None, 4]))],
                   target_opset={"": opset, "ai.onnx.ml": 1}, options={"zipmap": False})


def test_19_1_accepts_the_model_and_the_ir_version_skl2onnx_wrote(iris_pipe):
    model = _opset13(iris_pipe)
    assert model.ir_version > 6, "the exercise's point: a newer opset brings an IR version ONNX Runtime 1.2 cannot read"
    assert exercises.check("19.1", (model, model.ir_version), pipe=iris_pipe)


def test_19_1_refuses_a_guessed_number_without_the_model(iris_pipe):
    written = _opset13(iris_pipe).ir_version
    assert "answer a pair" in exercises.check("19.1", written, pipe=iris_pipe).message
    assert "not the IR version of your model" in exercises.check("19.1", (_opset13(iris_pipe), written + 3),
                                                                  pipe=iris_pipe).message
    assert "whole number" in exercises.check("19.1", (_opset13(iris_pipe), "7"), pipe=iris_pipe).message


def test_19_1_refuses_the_notebook_s_ml_net_model_and_another_opset(iris_pipe):
    for_mlnet = _opset13(iris_pipe)
    for_mlnet.ir_version = 6  # what the notebook sets by hand
    forced = exercises.check("19.1", (for_mlnet, 6), pipe=iris_pipe)
    assert not forced and "read ir_version before changing it" in forced.message
    at11 = _opset13(iris_pipe, opset=11)
    assert "declares ai.onnx opset 11" in exercises.check("19.1", (at11, at11.ir_version), pipe=iris_pipe).message


def test_19_2_wants_the_ir_version_error():
    refused = RuntimeError("The ML.NET job failed (exit 1):\n... OnnxRuntimeException: '[ErrorCode:InvalidArgument] "
                           "Failed to load model with error: Unknown model file format version.'")
    assert exercises.check("19.2", refused)
    other = exercises.check("19.2", RuntimeError("The ML.NET job failed (exit 1):\nSchema mismatch for input column 'x'"))
    assert not other and "another reason" in other.message
    ran = exercises.check("19.2", "ran")
    assert not ran and "answer the exception" in ran.message
    early = exercises.check("19.2", FileNotFoundError("X.npy"))
    assert not early and "before ML.NET sees the file" in early.message


def test_19_2_refuses_an_exception_made_up_with_the_words_of_the_error():
    made_up = exercises.check("19.2", RuntimeError("Unknown model file format version"))
    assert not made_up and "not raised by the ML.NET job" in made_up.message


def _cnn_file(path, *, batch=1, opset=11, ir=6, outputs=10):
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, 1, 8, 8])
    y = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [batch, outputs])
    weights = helper.make_tensor("w", TensorProto.FLOAT, [64, outputs], [0.01] * 64 * outputs)
    nodes = [helper.make_node("Flatten", ["image"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["probabilities"])]
    model = helper.make_model(helper.make_graph(nodes, "cnn", [x], [y], [weights]), opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir
    onnx.save(model, path)
    return path


def test_19_3_checks_what_onnx_runtime_1_2_can_read(tmp_path):
    import numpy as np

    X = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
    assert exercises.check("19.3", _cnn_file(tmp_path / "ok.onnx"), X=X)
    wrong = {
        "opset 18": exercises.check("19.3", _cnn_file(tmp_path / "o18.onnx", opset=18, ir=8), X=X),
        "IR version 8": exercises.check("19.3", _cnn_file(tmp_path / "ir8.onnx", ir=8), X=X),
        "fix every one": exercises.check("19.3", _cnn_file(tmp_path / "free.onnx", batch="batch"), X=X),
        "expected 10 finite class scores": exercises.check("19.3", _cnn_file(tmp_path / "o3.onnx", outputs=3), X=X),
        "answer the path": exercises.check("19.3", tmp_path / "none.onnx", X=X),
    }
    for hint, feedback in wrong.items():
        assert not feedback and hint in feedback.message, (hint, feedback.message)


