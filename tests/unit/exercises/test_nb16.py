"""Checks of notebooks/16_export_mxnet.ipynb's exercises (exercises/nb16_export_mxnet.py): the right answer passes,
each shortcut a tired attendee takes is refused with a hint.

Runs in the main kernel: the answers of the legacy kernel are imitated with onnx and numpy only.

"""


from __future__ import annotations

import numpy as np
import onnx

import exercises
from tests.unit.exercises.graphs import ops_model as _ops_model
from tests.unit.exercises.graphs import refused as _refused


def test_16_1_wants_the_new_operator(tmp_path):
    reference, same, bn = tmp_path / "ref.onnx", tmp_path / "same.onnx", tmp_path / "bn.onnx"
    onnx.save(_ops_model(["Relu", "Flatten"], 13), reference)
    onnx.save(_ops_model(["Relu", "Flatten"], 13), same)
    onnx.save(_ops_model(["Relu", "Sigmoid", "Flatten"], 13), bn)  # any new operator will do here
    X = np.zeros((3, 4), np.float32)
    _refused(exercises.check("16.1", (None, same, "BatchNormalization"), X=X, reference=reference), "no operator the original lacks")
    _refused(exercises.check("16.1", (None, bn, "Relu"), X=X, reference=reference), "already in the original")
    _refused(exercises.check("16.1", (None, bn), X=X, reference=reference), "tuple of 3")


def test_16_2_wants_the_other_opset_and_the_changed_definitions(tmp_path):
    at13, at12 = tmp_path / "13.onnx", tmp_path / "12.onnx"
    onnx.save(_ops_model(["Relu", "MaxPool", "Flatten"], 13), at13)
    onnx.save(_ops_model(["Relu", "MaxPool", "Flatten"], 12), at12)
    assert exercises.check("16.2", (at12, {"Relu", "Flatten"}), reference=at13)
    _refused(exercises.check("16.2", (at12, {"Relu", "Flatten", "MaxPool"}), reference=at13), "definition version differs")
    _refused(exercises.check("16.2", (at13, {"Relu"}), reference=at13), "export at 12")
    _refused(exercises.check("16.2", (at12, "Relu"), reference=at13), "set of strings")




def test_16_2_refuses_the_notebook_s_own_files(tmp_path):
    chosen, newest = tmp_path / "digits_cnn_opset13.onnx", tmp_path / "digits_cnn_export_model.onnx"
    onnx.save(_ops_model(["Relu", "MaxPool", "Flatten"], 13), chosen)
    onnx.save(_ops_model(["Relu", "MaxPool", "Flatten"], 23), newest)  # mx.onnx.export_model's own opset
    _refused(exercises.check("16.2", (chosen, set()), reference=chosen), "declares opset 13")
    _refused(exercises.check("16.2", (newest, {"Relu"}), reference=chosen), "declares opset 23")


def test_16_1_refuses_the_notebook_s_own_file_as_the_new_export(tmp_path):
    reference = tmp_path / "digits_cnn_opset13.onnx"
    onnx.save(_ops_model(["Relu", "Flatten"], 13), reference)
    X = np.zeros((3, 4), np.float32)
    _refused(exercises.check("16.1", (None, reference, "Relu"), X=X, reference=reference), "no operator the original lacks")
