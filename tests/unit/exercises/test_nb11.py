"""Checks of notebooks/11_export_tensorflow.ipynb's exercises (exercises/nb11_export_tensorflow.py): the right answer passes,
each shortcut a tired attendee takes is refused with a hint.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import exercises

RNG = np.random.default_rng(0)


def _refused(exercise_id, answer, hint, **context):
    feedback = exercises.check(exercise_id, answer, **context)
    assert not feedback and hint in feedback.message, (exercise_id, feedback.message)


def _linear(tmp_path, name, W, *, input_shape, opset=17, external=False):
    """A file computing softmax(flatten(x) @ W), input ``image`` of ``input_shape``, output ``probabilities``."""
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"]), helper.make_node("MatMul", ["flat", "W"], ["scores"]),
         helper.make_node("Softmax", ["scores"], ["probabilities"], axis=-1)], name,
        inputs=[helper.make_tensor_value_info("image", TensorProto.FLOAT, input_shape)],
        outputs=[helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", W.shape[1]])],
        initializer=[numpy_helper.from_array(W, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path, save_as_external_data=external, location=f"{name}.onnx.data", size_threshold=0)
    return path


def test_11_1_and_11_2_want_the_layout_and_the_opset(tmp_path, images):
    X, W, probs = images
    nhwc = X.transpose(0, 2, 3, 1)
    W_nhwc = W  # one channel: flattening NCHW and NHWC gives the same order
    nchw_file = _linear(tmp_path, "nchw", W, input_shape=["batch", 1, 8, 8])
    nhwc_file = _linear(tmp_path, "nhwc", W_nhwc, input_shape=["batch", 8, 8, 1])
    assert exercises.check("11.1", nchw_file, X_nchw=X, probabilities=probs)
    _refused("11.1", nhwc_file, "not NCHW", X_nchw=X, probabilities=probs)
    _refused("11.1", str(nchw_file).replace(".onnx", ".keras"), "answer the path", X_nchw=X, probabilities=probs)

    at13 = _linear(tmp_path, "at13", W_nhwc, input_shape=["batch", 8, 8, 1], opset=13)
    assert exercises.check("11.2", at13, X=nhwc, probabilities=probs)
    _refused("11.2", nhwc_file, "declares opset 17", X=nhwc, probabilities=probs)
    wrong13 = _linear(tmp_path, "wrong13", W[:, ::-1].copy(), input_shape=["batch", 8, 8, 1], opset=13)
    _refused("11.2", wrong13, "does not give the functional model's probabilities", X=nhwc, probabilities=probs)




def test_11_1_refuses_the_notebook_s_tf_function_file_that_already_takes_nchw(tmp_path, images):
    X, W, probs = images
    serve = _linear(tmp_path, "digits_serve", W, input_shape=["batch", 1, 8, 8])  # section 5's file: NCHW already
    _refused("11.1", serve, "notebook's own", X_nchw=X, probabilities=probs, not_one_of=(serve,))
    copy = tmp_path / "mine.onnx"
    copy.write_bytes(serve.read_bytes())
    _refused("11.1", copy, "notebook's own", X_nchw=X, probabilities=probs, not_one_of=(serve,))


def test_11_2_refuses_the_notebook_s_own_conversion(tmp_path, images):
    X, W, probs = images
    nhwc = X.transpose(0, 2, 3, 1)
    own = _linear(tmp_path, "digits_functional", W, input_shape=["batch", 8, 8, 1], opset=13)
    _refused("11.2", own, "notebook's own", X=nhwc, probabilities=probs, not_one_of=(own,))
