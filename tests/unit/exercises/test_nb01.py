"""Checks of notebooks/01_onnx_basics.ipynb's exercises (exercises/nb01_onnx_basics.py): the right answer passes,
each shortcut a tired attendee takes is refused with a hint.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import exercises

RNG = np.random.default_rng(0)


def _refused(exercise_id, answer, hint, **context):
    feedback = exercises.check(exercise_id, answer, **context)
    assert not feedback and hint in feedback.message, (exercise_id, feedback.message)


def _softmax_model(opset):
    graph = helper.make_graph([helper.make_node("Softmax", ["x"], ["y"], axis=1)], "s",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def test_1_1_tells_opset_13_from_opset_11():
    import onnxruntime as ort

    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 10
    run = {o: ort.InferenceSession(_softmax_model(o).SerializeToString(), providers=["CPUExecutionProvider"])
           .run(None, {"x": x})[0] for o in (11, 13)}
    assert exercises.check("1.1", run[11], x=x)
    _refused("1.1", run[13], "opset 13's Softmax", x=x)
    _refused("1.1", x, "not the output of a Softmax", x=x)
    _refused("1.1", run[11][0], "shape (2, 3, 4)", x=x)


def _iris_like(double):
    W = RNG.normal(size=(4, 3)).astype(np.float32)
    b = RNG.normal(size=3).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["input", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["scores"])]
    init = [numpy_helper.from_array(W, "W"), numpy_helper.from_array(b, "b")]
    softmax_in = "scores"
    if double:
        nodes.append(helper.make_node("Mul", ["scores", "two"], ["scores2"]))
        init.append(numpy_helper.from_array(np.array(double, np.float32), "two"))
        softmax_in = "scores2"
    nodes += [helper.make_node("Softmax", [softmax_in], ["probabilities"], axis=-1),
              helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 3]),
                               helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, W, b


def test_1_2_wants_the_doubled_scores():
    X = RNG.normal(size=(20, 4)).astype(np.float32)
    model, W, b = _iris_like(2)
    assert exercises.check("1.2", model, X=X, W=W, b=b)
    thrice, W3, b3 = _iris_like(3)
    _refused("1.2", thrice, "not softmax(2 * scores)", X=X, W=W3, b=b3)
    plain, Wp, bp = _iris_like(0)
    _refused("1.2", plain, "no Mul node", X=X, W=Wp, b=bp)
    _refused("1.2", "model.onnx", "answer the ModelProto", X=X, W=W, b=b)


