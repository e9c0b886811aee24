"""Checks of notebooks/13_export_boosting.ipynb's exercises (exercises/nb13_export_boosting.py): the right answer passes,
each shortcut a tired attendee takes is refused with a hint.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest

import exercises
from tests.unit.exercises.graphs import refused as _refused


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


@pytest.fixture(scope="module")
def remedies(tmp_path_factory):
    """A LightGBM classifier and its two remedied conversions, made as notebook 13 makes them (exact_thresholds)."""
    import json

    import onnxmltools
    from lightgbm import LGBMClassifier
    from onnxmltools.convert.common.data_types import FloatTensorType
    from sklearn.datasets import make_classification

    from helpers.paths import repo_root

    cells = json.loads((repo_root() / "notebooks" / "13_export_boosting.ipynb").read_text(encoding="utf-8"))["cells"]
    scope = {"np": np, "onnx": onnx}
    exec(next("".join(c["source"]) for c in cells if "def exact_thresholds" in "".join(c["source"])), scope)
    X, y = make_classification(n_samples=400, n_features=5, random_state=0)
    X = (10 * X).astype(np.float32)
    model = LGBMClassifier(n_estimators=30, num_leaves=15, verbose=-1).fit(X[:300], y[:300])
    onx = onnxmltools.convert_lightgbm(model, initial_types=[("input", FloatTensorType([None, 5]))], target_opset=15,
                                       zipmap=False)
    folder = tmp_path_factory.mktemp("remedies")
    wide, rounded = folder / "float64.onnx", folder / "rounded.onnx"
    onnx.save(scope["exact_thresholds"](onx, model, True), wide)
    onnx.save(scope["exact_thresholds"](onx, model, False), rounded)
    return dict(model=model, X_test=X[300:], float64_path=wide, rounded_path=rounded)


def _on_thresholds(model, X):
    from helpers.classic import split_thresholds

    thresholds = split_thresholds(model)
    rows, features = X.astype(np.float64), sorted(thresholds)
    for i in range(len(rows)):
        f = features[i % len(features)]
        rows[i, f] = thresholds[f][i % len(thresholds[f])]
    return rows


def _shares(context, rows):
    from helpers.classic import rows_outside_tolerance
    from helpers.verify import run_onnx

    want = context["model"].predict_proba(rows)
    return {"float64 thresholds": rows_outside_tolerance(want, run_onnx(context["float64_path"], [rows])["probabilities"]),
            "float32 thresholds rounded down": rows_outside_tolerance(
                want, run_onnx(context["rounded_path"], [rows.astype(np.float32)])["probabilities"])}


def test_13_2_accepts_the_rows_on_the_thresholds_and_their_shares(remedies):
    rows = _on_thresholds(remedies["model"], remedies["X_test"])
    shares = _shares(remedies, rows)
    assert shares["float64 thresholds"] == 0 < shares["float32 thresholds rounded down"], shares
    assert exercises.check("13.2", (rows, shares), **remedies)


def test_13_2_refuses_the_constant_guess_that_nothing_flips(remedies):
    rows = _on_thresholds(remedies["model"], remedies["X_test"])
    _refused(exercises.check("13.2", (rows, {"float64 thresholds": 0.0, "float32 thresholds rounded down": 0.0}),
                             **remedies), "not the share measured")


def test_13_2_refuses_rows_a_hair_off_on_which_no_remedy_breaks(remedies):
    rows = remedies["X_test"].astype(np.float64) + 1e-9
    shares = _shares(remedies, rows)
    assert shares == {"float64 thresholds": 0.0, "float32 thresholds rounded down": 0.0}
    _refused(exercises.check("13.2", (rows, shares), **remedies), "holds too")


def test_13_2_refuses_a_copy_of_the_float32_test_rows(remedies):
    rows = remedies["X_test"].astype(np.float64)
    _refused(exercises.check("13.2", (rows, _shares(remedies, rows)), **remedies), "float32 number already")
    _refused(exercises.check("13.2", (remedies["X_test"], {}), **remedies), "float64 array")


def test_13_2_refuses_malformed_answers(remedies):
    rows = _on_thresholds(remedies["model"], remedies["X_test"])
    right = _shares(remedies, rows)
    _refused(exercises.check("13.2", right, **remedies), "tuple of 2")
    _refused(exercises.check("13.2", (rows, {"float64": 0.0}), **remedies), "keys")
    _refused(exercises.check("13.2", (rows, dict.fromkeys(right, 2.0)), **remedies), "between 0 and 1")


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


