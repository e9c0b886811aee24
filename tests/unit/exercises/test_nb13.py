"""Checks of notebooks/13_export_boosting.ipynb's exercises (exercises/nb13_export_boosting.py): the right answer passes,
each shortcut a tired attendee takes is refused with a hint.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import exercises


def _refused(feedback, hint):
    assert not feedback, str(feedback)
    assert hint in feedback.message, feedback.message


@pytest.fixture(scope="module")
def trees():
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    X = X.astype(np.float32)
    return X[:200], y[:200], X[200:], y[200:]


def test_13_1_counts_the_thresholds_that_move(trees):
    from lightgbm import LGBMClassifier

    from helpers.classic import split_thresholds

    X_train, y_train, _, _ = trees
    coarse = LGBMClassifier(n_estimators=10, num_leaves=7, max_bin=15, verbose=-1).fit(X_train, y_train)
    t = split_thresholds(coarse)
    moved, total = sum(int((v.astype(np.float32) != v).sum()) for v in t.values()), sum(map(len, t.values()))
    assert exercises.check("13.1", (coarse, moved), X_train=X_train)
    default = LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1).fit(X_train, y_train)
    _refused(exercises.check("13.1", (default, moved), X_train=X_train), "max_bin=15")
    _refused(exercises.check("13.1", moved, X_train=X_train), "tuple of 2")
    _refused(exercises.check("13.1", (coarse, moved + 1), X_train=X_train), "not this model's count")
    _refused(exercises.check("13.1", (coarse, float(moved)), X_train=X_train), "whole number")
    if total != moved:
        _refused(exercises.check("13.1", (coarse, total), X_train=X_train), "counts every threshold")


def _float64_front(onx):
    """The model behind a Cast from a float64 input: takes float64 rows as the notebook's float64 remedy does."""
    model = onnx.ModelProto.FromString(onx.SerializeToString())
    old = model.graph.input[0]
    wide = helper.make_tensor_value_info("input64", TensorProto.DOUBLE, [None, old.type.tensor_type.shape.dim[1].dim_value])
    model.graph.node.insert(0, helper.make_node("Cast", ["input64"], [old.name], to=TensorProto.FLOAT))
    del model.graph.input[:]
    model.graph.input.append(wide)
    return model


def test_13_2_compares_the_shares_with_its_own(trees, tmp_path):
    import onnxmltools
    from lightgbm import LGBMClassifier
    from onnxmltools.convert.common.data_types import FloatTensorType

    from helpers.classic import rows_outside_tolerance
    from helpers.verify import run_onnx

    X_train, y_train, X_test, _ = trees
    model = LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1).fit(X_train, y_train)
    onx = onnxmltools.convert_lightgbm(model, initial_types=[("input", FloatTensorType([None, 5]))], target_opset=15,
                                       zipmap=False)
    rounded, wide = tmp_path / "rounded.onnx", tmp_path / "wide.onnx"
    onnx.save(onx, rounded)
    onnx.save(_float64_front(onx), wide)
    context = dict(model=model, X_test=X_test, float64_path=wide, rounded_path=rounded)
    X64 = X_test.astype(np.float64) + 1e-9
    want = model.predict_proba(X64)
    right = {"float64 thresholds": rows_outside_tolerance(want, run_onnx(wide, [X64])["probabilities"]),
             "float32 thresholds rounded down": rows_outside_tolerance(want, run_onnx(rounded, [X64.astype(np.float32)])["probabilities"])}
    assert exercises.check("13.2", right, **context)
    _refused(exercises.check("13.2", {"float64": 0.0}, **context), "keys")
    _refused(exercises.check("13.2", dict.fromkeys(right, 2.0), **context), "between 0 and 1")
    _refused(exercises.check("13.2", {k: v + 0.25 for k, v in right.items()}, **context), "not the share measured")


def test_13_3_wants_float64_scaling_cast_once_and_the_same_rows(trees):
    from sklearn.preprocessing import StandardScaler
    from xgboost import XGBClassifier

    X_train, y_train, X_test, _ = trees
    scaler = StandardScaler().fit(X_train.astype(np.float64))
    X_tr, X_te = (scaler.transform(X.astype(np.float64)).astype(np.float32) for X in (X_train, X_test))
    model = XGBClassifier(n_estimators=10, max_depth=3).fit(X_tr, y_train)
    context = dict(X_train=X_train, X_test=X_test, target_opset=15)
    assert exercises.check("13.3", (model, X_te), **context)
    _refused(exercises.check("13.3", (model, X_te.astype(np.float64)), **context), "cast the float64 scaled values")
    _refused(exercises.check("13.3", (model, X_test), **context), "not the test rows scaled")
    _refused(exercises.check("13.3", ("xgb", X_te), **context), "XGBClassifier")
    _refused(exercises.check("13.3", model, **context), "tuple of 2")


