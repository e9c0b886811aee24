"""Checks of notebooks/15_export_chainer.ipynb's exercises (exercises/nb15_export_chainer.py): the right answer passes,
each shortcut a tired attendee takes is refused with a hint.

Runs in the main kernel: the answers of the legacy kernel are imitated with onnx and numpy only.

"""


from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

import exercises
from tests.unit.exercises.graphs import model as _model
from tests.unit.exercises.graphs import refused as _refused
from tests.unit.exercises.graphs import value as _value

WARNING = ("ONNX-Chainer has been tested only with opset_version 7 ~ 11The ONNX file exported with your requested "
           "opset_version (6) may cause some problems")
MADE_UP_ERROR = RuntimeError("[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for Gemm(6) node")


def _ort_error():
    """What ONNX Runtime raises for an opset-6 model, as for onnx_chainer's opset-6 file."""
    import onnxruntime as ort

    gemm = _model([helper.make_node("Gemm", ["a", "b", "c"], ["y"])], 6, [_value(n, shape=(2, 2)) for n in "abc"],
                  [_value("y", shape=(2, 2))])
    gemm.ir_version = 3
    try:
        ort.InferenceSession(gemm.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception as err:
        return err
    raise AssertionError("ONNX Runtime loaded an opset-6 Gemm")


ORT_ERROR = _ort_error()


def _ort_run_error():
    """Another error of ONNX Runtime's: a valid model fed the wrong shape."""
    import onnxruntime as ort

    relu = _model([helper.make_node("Relu", ["x"], ["y"])], 13, [_value("x", shape=(2, 2))], [_value("y", shape=(2, 2))])
    session = ort.InferenceSession(relu.SerializeToString(), providers=["CPUExecutionProvider"])
    try:
        session.run(None, {"x": np.zeros((3, 3), np.float32)})
    except Exception as err:
        return err
    raise AssertionError("ONNX Runtime ran a (2, 2) model on (3, 3)")


def test_15_1_wants_the_warning_and_the_runtime_error():
    assert exercises.check("15.1", (WARNING, ORT_ERROR))
    _refused(exercises.check("15.1", ("DeprecationWarning: Exporting ONNX without testcases", ORT_ERROR)),
             "not onnx_chainer's warning")
    _refused(exercises.check("15.1", (WARNING, str(ORT_ERROR))), "exception ONNX Runtime raised")
    _refused(exercises.check("15.1", (WARNING, _ort_run_error())), "not the error of loading")
    _refused(exercises.check("15.1", (WARNING, ValueError("bad input"))), "is not ONNX Runtime's")
    _refused(exercises.check("15.1", WARNING), "tuple of 2")


def test_15_1_refuses_an_exception_made_up_with_the_right_words():
    _refused(exercises.check("15.1", (WARNING, MADE_UP_ERROR)), "is not ONNX Runtime's")


def _reshape_model(first_dim):
    shape = helper.make_node("Constant", [], ["shape"], value=helper.make_tensor("s", TensorProto.INT64, [2], [first_dim, 64]))
    reshape = helper.make_node("Reshape", ["image", "shape"], ["logits"])
    return _model([shape, reshape], 11, [_value("image", shape=("batch", 1, 8, 8))], [_value("logits", shape=(None, 64))])


def test_15_2_wants_the_fixed_batch_reshape_and_the_true_verdict(tmp_path):
    fixed, free = tmp_path / "fixed.onnx", tmp_path / "free.onnx"
    onnx.save(_reshape_model(1), fixed)
    onnx.save(_reshape_model(-1), free)
    X = np.zeros((10, 1, 8, 8), np.float32)
    assert exercises.check("15.2", (fixed, False), X=X)
    _refused(exercises.check("15.2", (fixed, True), X=X), "run it")
    _refused(exercises.check("15.2", (free, True), X=X), "keeps the batch free")
    _refused(exercises.check("15.2", (fixed, "no"), X=X), "True or False")
    _refused(exercises.check("15.2", fixed, X=X), "tuple of 2")


