"""The shared digits CNN trains, exports and is reused (main kernel only: needs torch)."""

from __future__ import annotations

import numpy as np

from helpers import data, models
from helpers.verify import run_onnx


def test_digits_cnn_onnx_is_built_once_verified_and_reused(tmp_build):
    path = models.digits_cnn_onnx(epochs=3)
    assert path.exists() and path.name == "digits_cnn.onnx"
    mtime = path.stat().st_mtime_ns
    assert models.digits_cnn_onnx() == path and path.stat().st_mtime_ns == mtime  # reused, not rebuilt
    ds = data.load_digits()
    logits = run_onnx(path, ds.X_test[:64])[models.DIGITS_OUTPUT]
    assert logits.shape == (64, 10)
    assert (logits.argmax(1) == ds.y_test[:64]).mean() > 0.8


def test_digits_cnn_onnx_is_one_dynamo_file_with_its_names_and_labels(tmp_build):
    import onnx

    from helpers import export

    path = models.digits_cnn_onnx(epochs=1)
    assert export.model_files(path) == [path]  # weights inside: deploy and browser consumers copy one file
    proto = onnx.load(path)
    assert [i.name for i in proto.graph.input] == [models.DIGITS_INPUT]
    assert [o.name for o in proto.graph.output] == [models.DIGITS_OUTPUT]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # a symbolic batch
    assert next(o.version for o in proto.opset_import if o.domain == "") == 18
    assert proto.producer_name == "pytorch" and proto.graph.node[0].name.startswith("node_")  # the dynamo exporter
    assert export.read_metadata(path)["props"]["labels"] == '["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]'


def test_training_rejects_mismatched_arrays():
    import pytest

    with pytest.raises(ValueError, match="X has 4 rows but y has 3"):
        models.train_torch_classifier(models.make_digits_cnn(), np.zeros((4, 1, 8, 8)), np.zeros(3))
