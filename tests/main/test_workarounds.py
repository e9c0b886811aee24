"""The run-time repairs of onnxmltools' CoreML and LIBSVM converters (onnx/onnxmltools#735) and of the
LIBSVM label-order bug: each one proven on a tiny model built here (main kernel: needs onnxmltools)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from helpers import workarounds as wa
from helpers.verify import run_onnx
from tests.notebooks.checks_export_classic import _coreml_libsvm


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


def _svm_train(X, y, options="-s 0 -t 2 -c 1"):
    wa.patch_libsvm()
    import svmutil

    return svmutil.svm_train(np.asarray(y, np.float64), np.asarray(X, np.float64), f"{options} -q")


def _svm_predict(model, X):
    import svmutil

    return np.asarray(svmutil.svm_predict(np.zeros(len(X)), np.asarray(X, np.float64), model, "-q")[0])


def _convert_libsvm(model, n_features=3):
    wa.patch_onnxmltools()
    from onnxmltools.convert import convert_libsvm
    from onnxmltools.convert.common.data_types import FloatTensorType

    return convert_libsvm(model, "m", initial_types=[("input", FloatTensorType([None, n_features]))], target_opset=15)


def test_patch_libsvm_lets_the_binding_train_on_numpy_arrays():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 1.0], [0.9, 1.0]])
    model = _svm_train(X, [0, 0, 1, 1], "-s 0 -t 0 -c 10")
    assert _svm_predict(model, X).tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize("binary", [False, True], ids=["three classes", "two classes"])
def test_unfixed_libsvm_conversion_gives_wrong_labels_and_the_fix_repairs_them(binary):
    X, y = _non_ascending_data(binary)
    model = _svm_train(X, y, "-s 0 -t 2 -c 10")
    assert model.get_labels() != sorted(model.get_labels())
    expected = _svm_predict(model, X)
    assert (expected == y).mean() > 0.95
    raw = run_onnx(_convert_libsvm(model), {"input": X})["label"].ravel()
    fixed = run_onnx(wa.fix_libsvm_class_labels(_convert_libsvm(model), model), {"input": X})["label"].ravel()
    assert (raw == expected).mean() < 0.5
    assert (fixed == expected).all()


def test_fixing_labels_leaves_a_libsvm_regressor_as_it_is():
    X, y = _non_ascending_data()
    model = _svm_train(X, y.astype(float), "-s 3 -t 2 -c 10")
    onx = _convert_libsvm(model)
    before = onx.SerializeToString()
    assert wa.fix_libsvm_class_labels(onx, model).SerializeToString() == before
    got = run_onnx(onx, {"input": X})
    np.testing.assert_allclose(next(iter(got.values())).ravel(), _svm_predict(model, X), rtol=1e-4, atol=1e-4)


def test_fix_labels_refuses_a_model_that_is_not_libsvm_or_does_not_match():
    X, y = _non_ascending_data()
    onx = _convert_libsvm(_svm_train(X, y))
    with pytest.raises(TypeError, match="Expected a LIBSVM model"):
        wa.fix_libsvm_class_labels(onx, object())
    two_class = _svm_train(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="3 class labels, the LIBSVM model 2"):
        wa.fix_libsvm_class_labels(onx, two_class)


def test_coreml_glm_regressor_converts_and_computes_x_times_w_plus_b():
    wa.import_coremltools()
    wa.patch_onnxmltools()
    import onnxmltools
    from coremltools.proto import Model_pb2
    from google.protobuf.json_format import ParseDict

    coef, intercept = np.array([1.0, -2.0, 0.5]), 3.0
    features = {"name": "features", "type": {"multiArrayType": {"shape": [3], "dataType": "DOUBLE"}}}
    spec = ParseDict({
        "specificationVersion": 1,
        "description": {"input": [features], "output": [{"name": "prediction", "type": {"doubleType": {}}}],
                        "predictedFeatureName": "prediction"},
        "glmRegressor": {"weights": [{"value": coef.tolist()}], "offset": [intercept]},
    }, Model_pb2.Model())
    onx = onnxmltools.convert_coreml(spec, "tiny", target_opset=15)
    X = np.random.RandomState(1).normal(size=(5, 3)).astype(np.float32)
    got = next(iter(run_onnx(onx, {"features": X}).values()))
    np.testing.assert_allclose(got.ravel(), X @ coef + intercept, rtol=1e-5, atol=1e-5)


def test_notebook_check_fails_when_the_broken_converters_were_not_repaired():
    # Notebook 14's check: the released converters fail to import, so the repair must have patched something.
    broken = {"onnxmltools.convert.libsvm": "ImportError: cannot import name 'cast_list'"}
    with pytest.raises(AssertionError, match="cannot import name 'cast_list'"):  # the patch check, not a later one
        _coreml_libsvm({"import_errors": broken, "patched": []}, [])
    fixed_release = {"onnxmltools.convert.libsvm": "imports"}
    with pytest.raises(AssertionError, match="'imports'"):  # a fixed release: the repair must add nothing
        _coreml_libsvm({"import_errors": fixed_release, "patched": ["utils.cast_list"]}, [])
