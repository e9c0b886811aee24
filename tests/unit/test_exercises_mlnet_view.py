"""The checks of notebooks 18-21's exercises (exercises/) refuse wrong answers with a hint.

ML.NET files are built here with onnx.helper in their shape (one input per column, echoed columns as outputs),
so no .NET is needed; notebook 18's run proves the right answers pass in the mlnet kernel.
"""

from __future__ import annotations

import copy
import dataclasses

import onnx
import pytest
from onnx import TensorProto, helper

import exercises
from exercises.nb18_export_mlnet import onnx_summary

COLUMNS = ["tenure_months", "contract"]
ANSWERS = ["PredictedLabel.output", "Score.output", "Probability.output"]


def _mlnet_like(path, *, op="TreeEnsembleRegressor", echoed=True, answers=True, inputs=COLUMNS):
    """A file in the shape of an ML.NET export: inputs per column plus the label, outputs per column made."""
    names = [*inputs, "churn"]
    outputs = ([f"{c}.output" for c in names] if echoed else ["churn.output"]) + (ANSWERS if answers else [])
    nodes = [helper.make_node("Identity", [names[0]], [o]) for o in outputs[:-1]]
    nodes.append(helper.make_node(op, [names[0]], [outputs[-1]], domain="ai.onnx.ml"))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 1]) for n in names],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, [None, 1]) for o in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11), helper.make_opsetid("ai.onnx.ml", 2)])
    model.ir_version = 6
    onnx.save(model, path)
    return path


@pytest.fixture
def files(tmp_path):
    return {
        "fasttree": _mlnet_like(tmp_path / "fasttree.onnx"),
        "linear": _mlnet_like(tmp_path / "linear.onnx", op="LinearRegressor"),
        "trees_again": _mlnet_like(tmp_path / "trees.onnx"),
        "other_columns": _mlnet_like(tmp_path / "other.onnx", op="LinearRegressor", inputs=["age"]),
        "dropped": _mlnet_like(tmp_path / "dropped.onnx", echoed=False),
        "dropped_all": _mlnet_like(tmp_path / "dropped_all.onnx", echoed=False, answers=False),
        "not_onnx": tmp_path / "text.onnx",
    }


def test_the_wire_reader_agrees_with_onnx(files):
    model = onnx.load(files["linear"])
    summary = onnx_summary(files["linear"])
    assert summary["ops"] == [n.op_type for n in model.graph.node]
    assert summary["inputs"] == [i.name for i in model.graph.input] and summary["outputs"] == [o.name for o in model.graph.output]
    assert summary["opsets"] == {"": 11, "ai.onnx.ml": 2} and summary["ir_version"] == 6


def test_18_checks_accept_right_answers(files):
    assert exercises.check("18.1", files["linear"], fasttree=files["fasttree"])
    assert exercises.check("18.2", files["dropped"], fasttree=files["fasttree"])


def test_18_checks_refuse_wrong_answers_with_a_hint(files):
    files["not_onnx"].write_bytes(b"\xff\xff\xff\xff")
    ft = files["fasttree"]
    wrong = {
        ("18.1", "still scores with trees"): exercises.check("18.1", files["trees_again"], fasttree=ft),
        ("18.1", "notebook's own file"): exercises.check("18.1", ft, fasttree=ft),
        ("18.1", "not the churn columns"): exercises.check("18.1", files["other_columns"], fasttree=ft),
        ("18.1", "not an .onnx file that exists"): exercises.check("18.1", ft.parent / "none.onnx", fasttree=ft),
        ("18.1", "does not read as an ONNX"): exercises.check("18.1", files["not_onnx"], fasttree=ft),
        ("18.2", "still echoed"): exercises.check("18.2", files["trees_again"], fasttree=ft),
        ("18.2", "dropped the model's answer"): exercises.check("18.2", files["dropped_all"], fasttree=ft),
        ("18.2", "not 0.5"): exercises.check("18.2", 0.5, fasttree=ft),
    }
    for (exercise_id, hint), feedback in wrong.items():
        assert not feedback and hint in feedback.message, (exercise_id, feedback.message)


class _FakePipeline:
    """Stands in for a NimbusML pipeline: export_to_onnx writes a file with the given operator."""

    def __init__(self, op):
        self.op = op

    def export_to_onnx(self, path, domain, onnx_version="Stable"):
        _mlnet_like(path, op=self.op)


def test_18_3_compares_with_the_operators_of_the_check_s_own_export(files):
    pipeline = _FakePipeline("LinearRegressor")
    assert exercises.check("18.3", {"Identity", "LinearRegressor"}, classifier=pipeline)
    wrong = exercises.check("18.3", {"Identity", "TreeEnsembleRegressor"}, classifier=pipeline)
    assert not wrong and "1 operators missing and 1 too many" in wrong.message
    listed = exercises.check("18.3", ["Identity", "LinearRegressor"], classifier=pipeline)
    assert not listed and "a set of operator names" in listed.message


# --- notebook 19 -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def iris_pipe():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from helpers import data

    iris = data.load_iris()
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(iris.X_train, iris.y_train)


def test_19_1_compares_with_the_ir_version_skl2onnx_writes(iris_pipe):
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    written = to_onnx(iris_pipe, initial_types=[("x", FloatTensorType([None, 4]))],
                      target_opset={"": 13, "ai.onnx.ml": 1}, options={"zipmap": False}).ir_version
    assert written > 6, "the exercise's point: a newer opset brings an IR version ONNX Runtime 1.2 cannot read"
    assert exercises.check("19.1", written, pipe=iris_pipe)
    forced = exercises.check("19.1", 6, pipe=iris_pipe)
    assert not forced and "read ir_version before changing it" in forced.message
    assert "not what skl2onnx wrote" in exercises.check("19.1", written + 3, pipe=iris_pipe).message
    assert "whole number" in exercises.check("19.1", "7", pipe=iris_pipe).message


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


# --- notebook 20 -----------------------------------------------------------------------------------------------


def _conv_file(path, sign=1.0):
    """A one-Conv classifier of 1x4x4 images into 3 scores (weights times ``sign``)."""
    import numpy as np

    w = (sign * np.random.default_rng(1).standard_normal((3, 1, 4, 4))).astype("float32")
    nodes = [helper.make_node("Conv", ["image", "w"], ["c"]), helper.make_node("Flatten", ["c"], ["scores"])]
    graph = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 4, 4])],
                              [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 3])],
                              [onnx.numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_20_1_wants_qlinearconv_and_agreeing_labels(tmp_path):
    import numpy as np
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    X = np.random.default_rng(0).random((32, 1, 4, 4), dtype=np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"image": X}])

        def get_next(self):
            return next(self.batches, None)

    float_path, flipped = _conv_file(tmp_path / "float.onnx"), _conv_file(tmp_path / "flipped.onnx", sign=-1.0)
    qop, qdq = tmp_path / "qop.onnx", tmp_path / "qdq.onnx"
    quantize_static(str(float_path), str(qop), Reader(), quant_format=QuantFormat.QOperator)
    quantize_static(str(float_path), str(qdq), Reader(), quant_format=QuantFormat.QDQ)
    wrong = {
        "QuantFormat.QOperator": exercises.check("20.1", qdq, float_path=float_path, X=X),
        "of the labels agree": exercises.check("20.1", qop, float_path=flipped, X=X),
        "answer the path": exercises.check("20.1", None, float_path=float_path, X=X),
    }
    for hint, feedback in wrong.items():
        assert not feedback and hint in feedback.message, (hint, feedback.message)


def test_20_2_wants_the_default_opset_and_the_cnn(tmp_path):
    import numpy as np
    from torch.onnx._constants import ONNX_DEFAULT_OPSET

    from helpers import models

    cnn = models.make_digits_cnn().eval()
    X = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
    wrong = {
        "opset 18 is what the notebook asked for": exercises.check("20.2", _cnn_file(tmp_path / "o18.onnx", batch="N", opset=18, ir=8), model=cnn, X=X),
        "not the exporter's default": exercises.check("20.2", _cnn_file(tmp_path / "o17.onnx", batch="N", opset=17, ir=8), model=cnn, X=X),
        "differs from the CNN": exercises.check("20.2", _cnn_file(tmp_path / "od.onnx", batch="N", opset=ONNX_DEFAULT_OPSET, ir=10),
                                                model=cnn, X=X),
        "answer the path": exercises.check("20.2", 20, model=cnn, X=X),
    }
    for hint, feedback in wrong.items():
        assert not feedback and hint in feedback.message, (hint, feedback.message)


def test_20_3_checks_which_file_the_shared_port_serves(tmp_path):
    first, second = _conv_file(tmp_path / "first.onnx"), _conv_file(tmp_path / "second.onnx", sign=-1.0)
    assert exercises.check("20.3", "second.onnx", first=first, second=second)
    old = exercises.check("20.3", "first.onnx", first=first, second=second)
    assert not old and "not the file that port serves now" in old.message
    assert "answer a file name" in exercises.check("20.3", True, first=first, second=second).message


# --- notebook 21 -----------------------------------------------------------------------------------------------


def _light_like(path, shapes):
    """A graph in the light models' style: each weight made by ConstantOfShape from a shape initializer."""
    import numpy as np

    inits = [onnx.numpy_helper.from_array(np.array(s, dtype=np.int64), f"w{i}__SHAPE") for i, s in enumerate(shapes)]
    nodes = [helper.make_node("ConstantOfShape", [f"w{i}__SHAPE"], [f"w{i}"]) for i in range(len(shapes))]
    outputs = [helper.make_tensor_value_info(f"w{i}", TensorProto.FLOAT, None) for i in range(len(shapes))]
    onnx.save(helper.make_model(helper.make_graph(nodes, "light", [], outputs, inits),
                                opset_imports=[helper.make_opsetid("", 9)]), path)
    return path


def test_21_1_counts_the_materialized_weights(tmp_path):
    light = _light_like(tmp_path / "light.onnx", [[4, 3, 3, 3], [4], [10, 4]])
    assert exercises.check("21.1", 108 + 4 + 40, vgg19=light)
    wrong = {
        "count elements": exercises.check("21.1", 4 * 152, vgg19=light),
        "biases included": exercises.check("21.1", 148, vgg19=light),
        "whole number": exercises.check("21.1", 152.0, vgg19=light),
    }
    for hint, feedback in wrong.items():
        assert not feedback and hint in feedback.message, (hint, feedback.message)


def _softmax_model(opset=9):
    """Conv then an axis-less Softmax on a 1xCx1x1 tensor: opset 9 and 13 differ, as in the light SqueezeNet."""
    import numpy as np

    w = onnx.numpy_helper.from_array(np.full((4, 1, 2, 2), 0.1, np.float32) * np.arange(1, 5, dtype=np.float32)[:, None, None, None], "w")
    nodes = [helper.make_node("Conv", ["data_0", "w"], ["conv"]), helper.make_node("Softmax", ["conv"], ["softmaxout_1"])]
    graph = helper.make_graph(nodes, "sm", [helper.make_tensor_value_info("data_0", TensorProto.FLOAT, [1, 1, 2, 2])],
                              [helper.make_tensor_value_info("softmaxout_1", TensorProto.FLOAT, [1, 4, 1, 1])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=7)


def test_21_2_compares_with_the_check_s_own_parity_on_the_converted_model():
    from onnx import version_converter

    from helpers import zoo

    original = _softmax_model()
    converted = version_converter.convert_version(original, 13)
    right = zoo.intermediate_parity(converted, zoo.dummy_inputs(converted), name="t", record=False)
    assert exercises.check("21.2", right, original=original)
    unconverted = zoo.intermediate_parity(original, zoo.dummy_inputs(original), name="t", record=False)
    stale = exercises.check("21.2", unconverted, original=original)
    assert not stale and "convert_version(model, 13)" in stale.message
    flagged = copy.deepcopy(right)
    flagged.outputs[0] = dataclasses.replace(flagged.outputs[0], allclose=False)
    outside = exercises.check("21.2", flagged, original=original)
    assert not outside and "outside tolerance" in outside.message
    assert "ParityResult" in exercises.check("21.2", 0.0, original=original).message
