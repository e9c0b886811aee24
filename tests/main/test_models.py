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


def test_training_rejects_mismatched_arrays():
    import pytest

    with pytest.raises(ValueError, match="X has 4 rows but y has 3"):
        models.train_torch_classifier(models.make_digits_cnn(), np.zeros((4, 1, 8, 8)), np.zeros(3))
