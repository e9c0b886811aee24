"""Checks of notebooks/17_legacy_models_modern_runtime.ipynb's exercises (exercises/nb17_legacy_models_modern_runtime.py): the right answer passes,
each shortcut a tired attendee takes is refused with a hint.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import onnx

import exercises
from tests.unit.exercises.graphs import ops_model as _ops_model
from tests.unit.exercises.graphs import refused as _refused


def test_17_1_wants_the_upgraded_file_its_parity_and_the_moved_operators(tmp_path):
    from onnx import version_converter

    old = tmp_path / "old.onnx"
    onnx.save(_ops_model(["Relu", "Flatten"], 12), old)
    X = np.random.RandomState(0).randn(6, 4).astype(np.float32)
    export = SimpleNamespace(models=[SimpleNamespace(opset=12, path=old)], inputs={"t0": X}, outputs={"t2": np.maximum(X, 0)})
    upgraded = version_converter.convert_version(onnx.load(old), 21)
    assert exercises.check("17.1", (upgraded, {"Relu", "Flatten"}), export=export, target_opset=21)
    _refused(exercises.check("17.1", (upgraded, {"Relu"}), export=export, target_opset=21), "definition before/after")
    _refused(exercises.check("17.1", (onnx.load(old), set()), export=export, target_opset=21), "declares opset 12")
    negated = version_converter.convert_version(_ops_model(["Neg", "Flatten"], 12), 21)
    _refused(exercises.check("17.1", (negated, {"Neg", "Flatten"}), export=export, target_opset=21), "MXNet's logits")


def test_17_1_refuses_the_notebook_s_upgraded_chainer_model_and_mxnet_s_newest_export(tmp_path):
    from onnx import version_converter

    old = tmp_path / "mxnet_opset12.onnx"
    onnx.save(_ops_model(["Relu", "Flatten"], 12), old)
    X = np.random.RandomState(0).randn(6, 4).astype(np.float32)
    export = SimpleNamespace(models=[SimpleNamespace(opset=12, path=old)], inputs={"t0": X}, outputs={"t2": np.maximum(X, 0)})
    chainer_upgraded = version_converter.convert_version(_ops_model(["Sigmoid", "Flatten"], 9), 21)
    _refused(exercises.check("17.1", (chainer_upgraded, {"Sigmoid", "Flatten"}), export=export, target_opset=21),
             "MXNet's logits")
    newest = _ops_model(["Relu", "Flatten"], 23)  # mx.onnx.export_model's own file: the newest opset, not converted
    _refused(exercises.check("17.1", (newest, {"Relu", "Flatten"}), export=export, target_opset=21), "declares opset 23")


def test_17_2_wants_both_upgrades_of_the_opset_7_model_and_the_true_comparison():
    from onnx import version_converter

    from helpers.opset import old_opset_classifier

    seven = old_opset_classifier(opset=7)
    one = version_converter.convert_version(seven, 21)
    two = version_converter.convert_version(version_converter.convert_version(seven, 13), 21)
    same = [n.op_type for n in one.graph.node] == [n.op_type for n in two.graph.node]
    assert exercises.check("17.2", (one, two, same), target_opset=21)
    _refused(exercises.check("17.2", (one, two, not same), target_opset=21), "compare the two lists")
    _refused(exercises.check("17.2", (seven, two, same), target_opset=21), "should end at target_opset")
    other = version_converter.convert_version(old_opset_classifier(opset=7, seed=1), 21)
    _refused(exercises.check("17.2", (one, other, same), target_opset=21), "two steps model does not compute")
    _refused(exercises.check("17.2", (one, two, "yes"), target_opset=21), "True or False")


def test_17_2_refuses_the_one_step_model_answered_twice():
    from onnx import version_converter

    from helpers.opset import old_opset_classifier

    one = version_converter.convert_version(old_opset_classifier(opset=7), 21)
    _refused(exercises.check("17.2", (one, one, True), target_opset=21), "byte for byte the same")
    copy = onnx.ModelProto()
    copy.CopyFrom(one)
    _refused(exercises.check("17.2", (one, copy, True), target_opset=21), "byte for byte the same")
