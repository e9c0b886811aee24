"""Checks of notebooks/20_visualize_netron.ipynb's exercises (exercises/nb20_visualize_netron.py): the right answer passes,
each shortcut a tired attendee takes is refused with a hint.
"""

from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import exercises


def _refused(exercise_id, answer, hint, **context):
    feedback = exercises.check(exercise_id, answer, **context)
    assert not feedback and hint in feedback.message, (exercise_id, feedback.message)


def _cnn_file(path, *, batch=1, opset=11, ir=6, outputs=10):
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, 1, 8, 8])
    y = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [batch, outputs])
    weights = helper.make_tensor("w", TensorProto.FLOAT, [64, outputs], [0.01] * 64 * outputs)
    nodes = [helper.make_node("Flatten", ["image"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["probabilities"])]
    model = helper.make_model(helper.make_graph(nodes, "cnn", [x], [y], [weights]), opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir
    onnx.save(model, path)
    return path


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


def _dynamo_marks(path):
    """Stamp each node as torch.onnx.export(dynamo=True) does (node metadata under pkg.torch.onnx)."""
    model = onnx.load(path)
    for node in model.graph.node:
        node.metadata_props.add(key="pkg.torch.onnx.fx_node", value=node.op_type)
    onnx.save(model, path)
    return path


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    folder = tmp_path_factory.mktemp("q")
    X = np.random.default_rng(0).random((32, 1, 4, 4), dtype=np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"image": X}])

        def get_next(self):
            return next(self.batches, None)

    float_path, flipped = _conv_file(folder / "float.onnx"), _conv_file(folder / "flipped.onnx", sign=-1.0)
    files = {"float": float_path, "flipped": flipped}
    for fmt in ("QOperator", "QDQ"):
        files[fmt] = folder / f"{fmt}.onnx"
        quantize_static(str(float_path), str(files[fmt]), Reader(), quant_format=getattr(QuantFormat, fmt),
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    return X, files


def test_20_1_accepts_the_qoperator_model(quantized):
    X, files = quantized
    assert exercises.check("20.1", files["QOperator"], float_path=files["float"], X=X, not_one_of=files["QDQ"])


def test_20_1_refuses_the_notebook_s_own_qdq_file_and_its_copy(quantized, tmp_path):
    X, files = quantized
    for answer in (files["QDQ"], shutil.copy(files["QDQ"], tmp_path / "mine.onnx")):
        _refused("20.1", answer, "notebook's own", float_path=files["float"], X=X, not_one_of=files["QDQ"])


def test_20_1_refuses_a_new_qdq_model_the_float_model_and_wrong_labels(quantized, tmp_path):
    X, files = quantized
    _refused("20.1", shutil.copy(files["QDQ"], tmp_path / "qdq_again.onnx"), "QuantFormat.QOperator",
             float_path=files["float"], X=X)
    _refused("20.1", files["float"], "notebook's own", float_path=files["float"], X=X)
    _refused("20.1", files["QOperator"], "of the labels agree", float_path=files["flipped"], X=X)
    _refused("20.1", None, "answer the path", float_path=files["float"], X=X)


@pytest.fixture(scope="module")
def cnn_exports(tmp_path_factory):
    """The CNN exported by dynamo at the default opset (the right answer) and by TorchScript at that opset."""
    import warnings

    import torch

    from helpers import models

    folder = tmp_path_factory.mktemp("cnn")
    cnn = models.make_digits_cnn().eval()
    example = (torch.zeros(2, 1, 8, 8),)
    files = {"dynamo": folder / "dynamo_default.onnx", "torchscript": folder / "torchscript.onnx"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(cnn, example, files["dynamo"], dynamo=True, input_names=["image"], output_names=["logits"],
                          dynamic_shapes=({0: torch.export.Dim("batch")},), external_data=False, verbose=False)
        opset = onnx.load(files["dynamo"]).opset_import[0].version
        torch.onnx.export(cnn, example, files["torchscript"], dynamo=False, input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}}, opset_version=opset)
    return cnn, files


def test_20_2_accepts_the_dynamo_export_at_the_default_opset(cnn_exports):
    cnn, files = cnn_exports
    X = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
    assert exercises.check("20.2", files["dynamo"], model=cnn, X=X)


def test_20_2_refuses_the_notebook_s_own_exports_and_a_torchscript_export(cnn_exports, tmp_path):
    cnn, files = cnn_exports
    X = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
    own = _dynamo_marks(_cnn_file(tmp_path / "cnn_dynamo.onnx", batch="N", opset=18, ir=8))
    _refused("20.2", own, "notebook's own", model=cnn, X=X, not_one_of=(own, files["torchscript"]))
    _refused("20.2", files["torchscript"], "not written by the dynamo exporter", model=cnn, X=X)


def test_20_2_refuses_opset_18_another_opset_and_another_model(tmp_path):
    from torch.onnx._constants import ONNX_DEFAULT_OPSET

    from helpers import models

    cnn = models.make_digits_cnn().eval()
    X = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
    wrong = {
        "opset 18 is what the notebook asked for": _cnn_file(tmp_path / "o18.onnx", batch="N", opset=18, ir=8),
        "not the exporter's default": _cnn_file(tmp_path / "o17.onnx", batch="N", opset=17, ir=8),
        "differs from the CNN": _cnn_file(tmp_path / "od.onnx", batch="N", opset=ONNX_DEFAULT_OPSET, ir=10),
    }
    for hint, path in wrong.items():
        _refused("20.2", _dynamo_marks(path), hint, model=cnn, X=X)
    _refused("20.2", 20, "answer the path", model=cnn, X=X)


def _page(path):
    """The page a Netron server of ``path`` serves."""
    import urllib.request

    import netron

    address = netron.start(str(path), address=("127.0.0.1", 0), browse=False)
    try:
        return urllib.request.urlopen(f"http://{address[0]}:{address[1]}/", timeout=5).read().decode("utf-8")
    finally:
        netron.stop(address)


def test_20_3_accepts_the_page_the_shared_port_serves(tmp_path):
    first, second = _conv_file(tmp_path / "first.onnx"), _conv_file(tmp_path / "second.onnx", sign=-1.0)
    assert exercises.check("20.3", _page(second), first=first, second=second)


def test_20_3_refuses_the_first_file_s_page(tmp_path):
    first, second = _conv_file(tmp_path / "first.onnx"), _conv_file(tmp_path / "second.onnx", sign=-1.0)
    _refused("20.3", _page(first), "not the file that port serves now", first=first, second=second)


def test_20_3_refuses_a_guessed_file_name(tmp_path):
    first, second = _conv_file(tmp_path / "first.onnx"), _conv_file(tmp_path / "second.onnx", sign=-1.0)
    _refused("20.3", "second.onnx", "not a Netron page", first=first, second=second)
    _refused("20.3", True, "answer the page you fetched", first=first, second=second)
