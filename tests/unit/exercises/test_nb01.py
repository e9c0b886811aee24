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


def _run(model, x):
    import onnxruntime as ort

    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


X3 = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 10


def test_1_1_accepts_the_opset_11_model_and_its_output():
    model = _softmax_model(11)
    assert exercises.check("1.1", (model, _run(model, X3)), x=X3)


def test_1_1_refuses_the_opset_13_model():
    model = _softmax_model(13)
    _refused("1.1", (model, _run(model, X3)), "opset 13's Softmax", x=X3)


def test_1_1_refuses_an_output_computed_without_onnx_runtime():
    e = np.exp(X3.reshape(2, -1) - X3.reshape(2, -1).max(1, keepdims=True))
    by_numpy = (e / e.sum(1, keepdims=True)).reshape(X3.shape).astype(np.float32)  # the right numbers, no model
    _refused("1.1", by_numpy, "answer a pair", x=X3)
    _refused("1.1", (_softmax_model(13), by_numpy), "declares opset 13", x=X3)


def test_1_1_refuses_an_output_that_is_not_the_model_s():
    model = _softmax_model(11)
    _refused("1.1", (model, X3), "not what your model computes", x=X3)
    _refused("1.1", (model, _run(model, X3)[0]), "shape (2, 3, 4)", x=X3)


def test_1_1_refuses_a_model_with_more_than_the_softmax_node():
    model = _softmax_model(11)
    model.graph.node[0].output[0] = "s"
    model.graph.node.append(helper.make_node("Identity", ["s"], ["y"]))
    _refused("1.1", (model, _run(model, X3)), "one Softmax node only", x=X3)


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


def test_1_2_refuses_doubled_weights_beside_a_mul_that_feeds_nothing():
    X = RNG.normal(size=(20, 4)).astype(np.float32)
    model, W, b = _iris_like(0)
    for init in model.graph.initializer:  # 2 * (xW + b): the right numbers without the node the task asks for
        init.CopyFrom(numpy_helper.from_array(2 * numpy_helper.to_array(init), init.name))
    model.graph.initializer.append(numpy_helper.from_array(np.array(2, np.float32), "two"))
    model.graph.node.insert(2, helper.make_node("Mul", ["scores", "two"], ["unused"]))
    _refused("1.2", model, "does not read the Mul's output", X=X, W=W, b=b)


