"""The run-time repairs of onnxmltools' CoreML and LIBSVM converters (onnx/onnxmltools#735) and of the
LIBSVM label-order bug: each one proven on a tiny model built here (main kernel: needs onnxmltools)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from helpers import classic
from helpers import workarounds as wa
from helpers.verify import run_onnx


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_patch_restores_the_deleted_helpers_once_then_does_nothing():
    code = (
        "from helpers import workarounds as wa\n"
        "first, second = wa.patch_onnxmltools(), wa.patch_onnxmltools()\n"
        "import onnxmltools.convert.libsvm, onnxmltools.convert.coreml._parse\n"
        "print(sorted(first), second)"
    )
    first, second = _python(code).rsplit("] ", 1)
    # On a release that fixes onnx/onnxmltools#735 the first call may add nothing: that is the point.
    assert set(eval(first + "]")) <= {  # noqa: S307 - our own printed list
        "data_types.find_type_conversion", "utils.cast_list", "utils.check_input_and_output_numbers",
        "utils.check_input_and_output_types", "data_types.data_types",
    }
    assert second == "[]"


def test_import_coremltools_hides_tensorflow_and_torch_only_while_it_loads():
    code = (
        "import sys\n"
        "from helpers import workarounds as wa\n"
        "ct = wa.import_coremltools()\n"
        "hidden = [m for m in ('tensorflow', 'torch', 'transformers') if m in sys.modules]\n"
        "print(ct.__name__, hidden)"
    )
    assert _python(code) == "coremltools []"  # loaded, none imported, none left blocked (None entries)


def _non_ascending_data(binary: bool = False):
    rng = np.random.RandomState(0)
    y = np.array([2, 0, 1] * 20) if not binary else np.array([1, 0] * 30)
    X = rng.normal(size=(len(y), 3)) + y[:, None] * 2.0  # well separated classes
    return X.astype(np.float32), y


@pytest.mark.parametrize("binary", [False, True], ids=["three classes", "two classes"])
def test_unfixed_libsvm_conversion_gives_wrong_labels_and_the_fix_repairs_them(binary):
    X, y = _non_ascending_data(binary)
    model = classic.libsvm_train(X, y, "-s 0 -t 2 -c 10")
    assert not wa.libsvm_label_order_is_ascending(model)
    expected, _ = classic.libsvm_predict(model, X)
    assert (expected == y).mean() > 0.95
    raw = run_onnx(wa.convert_libsvm(model, n_features=3, fix_labels=False), {"input": X})["label"].ravel()
    fixed = run_onnx(wa.convert_libsvm(model, n_features=3), {"input": X})["label"].ravel()
    assert (raw == expected).mean() < 0.5
    assert (fixed == expected).all()


def test_libsvm_regressor_converts_and_matches():
    X, y = _non_ascending_data()
    model = classic.libsvm_train(X, y.astype(float), "-s 3 -t 2 -c 10")
    expected, _ = classic.libsvm_predict(model, X)
    got = run_onnx(wa.convert_libsvm(model, n_features=3), {"input": X})
    np.testing.assert_allclose(next(iter(got.values())).ravel(), expected, rtol=1e-4, atol=1e-4)


def test_fix_labels_refuses_a_model_that_is_not_libsvm_or_does_not_match():
    X, y = _non_ascending_data()
    model = classic.libsvm_train(X, y)
    onx = wa.convert_libsvm(model, n_features=3, fix_labels=False)
    with pytest.raises(TypeError, match="Expected a LIBSVM model"):
        wa.fix_libsvm_class_labels(onx, object())
    two_class = classic.libsvm_train(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="3 class labels, the LIBSVM model 2"):
        wa.fix_libsvm_class_labels(onx, two_class)


def test_convert_libsvm_rejects_zero_features():
    with pytest.raises(ValueError, match="n_features must be at least 1"):
        wa.convert_libsvm(None, n_features=0)


def test_coreml_glm_regressor_converts_and_computes_x_times_w_plus_b():
    wa.import_coremltools()
    coef, intercept = np.array([1.0, -2.0, 0.5]), 3.0
    onx = wa.convert_coreml(classic.coreml_glm_regressor(coef, intercept), "tiny")
    X = np.random.RandomState(1).normal(size=(5, 3)).astype(np.float32)
    got = next(iter(run_onnx(onx, {"features": X}).values()))
    np.testing.assert_allclose(got.ravel(), X @ coef + intercept, rtol=1e-5, atol=1e-5)
