"""Checks of notebooks/21_pretrained_models.ipynb's exercises (exercises/nb21_pretrained_models.py): the right answer passes,
each shortcut a tired attendee takes is refused with a hint.
"""

from __future__ import annotations

import copy
import dataclasses

import onnx
from onnx import TensorProto, helper

import exercises


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


def test_21_2_refuses_the_notebook_s_opset_9_parity_and_a_loose_tolerance():
    from onnx import version_converter

    from helpers import zoo

    original = _softmax_model()
    notebooks_own = zoo.intermediate_parity(original, zoo.dummy_inputs(original), name="t", record=False)
    stale = exercises.check("21.2", notebooks_own, original=original)
    assert not stale and "convert_version(model, 13)" in stale.message
    converted = version_converter.convert_version(original, 13)
    loose = zoo.intermediate_parity(converted, zoo.dummy_inputs(converted), name="t", rtol=1.0, atol=1.0, record=False)
    refused = exercises.check("21.2", loose, original=original)
    assert not refused and "looser than the defaults" in refused.message
