"""The checks of notebooks/30_inference_onnxruntime.ipynb's exercises refuse the shortcuts."""

from __future__ import annotations

import json

import numpy as np
import pytest

import exercises
from tests.unit.exercises.tiny_models import tiny_digits, with_props


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_digits(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def session(tiny):
    import onnxruntime as ort

    return ort.InferenceSession(str(tiny[0]), providers=["CPUExecutionProvider"])


def _input_error(session, batch):
    from helpers import runtime

    return pytest.raises(runtime.InputError, runtime.validate_inputs, session, {"image": batch}).value


def _refused(exercise_id, answer, hint, **context):
    feedback = exercises.check(exercise_id, answer, **context)
    assert not feedback and hint in feedback.message, feedback.message


def test_30_1_accepts_the_fixed_axis_error_of_a_float32_batch(session):
    assert exercises.check("30.1", _input_error(session, np.zeros((2, 1, 8, 9), np.float32)), input_name="image")


def test_30_1_refuses_the_dtype_error_of_a_float64_batch_whose_message_shows_the_shape(session):
    err = _input_error(session, np.zeros((2, 1, 8, 9)))  # numpy's default float64: the dtype check fires first
    assert "[2, 1, 8, 9]" in str(err)
    _refused("30.1", err, "that is the dtype error", input_name="image")


def test_30_1_refuses_the_rank_error(session):
    _refused("30.1", _input_error(session, np.zeros((1, 8, 9), np.float32)), "that is the rank error", input_name="image")


def test_30_1_refuses_another_fixed_axis(session):
    _refused("30.1", _input_error(session, np.zeros((2, 3, 8, 8), np.float32)), "fixed last axis", input_name="image")


def test_30_1_refuses_onnx_runtimes_own_error_and_a_string(session):
    err = _input_error(session, np.zeros((2, 1, 8, 9), np.float32))
    _refused("30.1", ValueError("Got invalid dimensions for input: image"), "ONNX Runtime's own error", input_name="image")
    _refused("30.1", str(err), "the exception itself", input_name="image")


def test_30_2_accepts_the_labelled_model_with_a_version(tiny, tmp_path):
    path, model, labels = tiny
    right = with_props(tmp_path, model, {"labels": json.dumps(labels), "version": "1.0"}, "right.onnx")
    assert exercises.check("30.2", right, labels=labels, labeled=path)


def test_30_2_refuses_a_model_that_lost_its_labels(tiny, tmp_path):
    path, model, labels = tiny
    only_version = with_props(tmp_path, model, {"version": "1.0"}, "only.onnx")
    _refused("30.2", only_version, "replaces every entry", labels=labels, labeled=path)


def test_30_2_refuses_the_notebooks_labelled_file_and_a_copy_of_it(tiny, tmp_path):
    path, _, labels = tiny
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(path.read_bytes())
    for answer in (path, copy):
        _refused("30.2", answer, "notebook's own", labels=labels, labeled=path)


def test_30_2_refuses_another_model_carrying_the_metadata(tiny, tmp_path):
    import onnx

    path, model, labels = tiny
    other = onnx.load(str(path))
    other.graph.node[1].op_type = "Add"  # the same metadata on a model that computes something else
    other.graph.initializer[0].CopyFrom(onnx.numpy_helper.from_array(np.zeros((64, 10), np.float32), "w"))
    onnx.helper.set_model_props(other, {"labels": json.dumps(labels), "version": "1.0"})
    onnx.save(other, tmp_path / "other.onnx")
    _refused("30.2", tmp_path / "other.onnx", "its graph differs", labels=labels, labeled=path)


def test_30_2_refuses_a_missing_file(tiny, tmp_path):
    path, _, labels = tiny
    _refused("30.2", tmp_path / "none.onnx", "answer the path", labels=labels, labeled=path)
