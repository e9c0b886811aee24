"""helpers.classic: churn features, tree-parity measures, split flips (main kernel: needs pandas, xgboost, lightgbm)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import classic, data


def test_rows_outside_tolerance_counts_rows_not_values():
    expected = np.zeros((4, 3))
    actual = expected.copy()
    actual[1, :] = 1.0  # three bad values, one bad row
    actual[3, 0] = 1e-9  # within tolerance
    assert classic.rows_outside_tolerance(expected, actual) == 0.25
    with pytest.raises(ValueError, match="expected has 12 values, actual 3"):
        classic.rows_outside_tolerance(expected, np.zeros(3))


def test_tree_parity_reports_label_agreement_and_max_error():
    out = classic.tree_parity([[0.9, 0.1], [0.4, 0.6]], [[0.9, 0.1], [0.6, 0.4]], [0, 1], [0, 0])
    assert out == {"rows": 2, "rows_outside_tolerance": 0.5, "max_abs_err": pytest.approx(0.2), "label_agreement": 0.5}


def test_churn_matrix_gives_train_and_test_the_same_columns():
    ds = data.load_churn()
    cats = classic.churn_categories(ds.X_train)
    train, names = classic.churn_matrix(ds.X_train, cats)
    test, test_names = classic.churn_matrix(ds.X_test, cats)
    assert names == test_names and train.shape[1] == test.shape[1] == len(names) and train.dtype == np.float32
    onehot = train[:, len(data.CHURN_NUMERIC):]
    assert onehot.sum(axis=1).tolist() == [3.0] * len(train)  # one category per categorical column
    unseen = ds.X_test.head(2).copy()
    unseen["contract"] = "ten-year"
    assert classic.churn_matrix(unseen, cats)[0][:, len(data.CHURN_NUMERIC):].sum(axis=1).tolist() == [2.0, 2.0]


def test_split_thresholds_find_values_that_sit_on_a_split():
    from xgboost import XGBClassifier

    X = np.repeat(np.arange(4, dtype=np.float32), 10).reshape(-1, 1)
    y = (X[:, 0] >= 2).astype(int)
    model = XGBClassifier(n_estimators=2, max_depth=1).fit(X, y)
    thresholds = classic.split_thresholds(model)
    assert list(thresholds) == [0] and len(thresholds[0]) >= 1
    assert classic.share_on_thresholds(X, thresholds) > 0  # XGBoost splits at a data value (x < 2)
    assert classic.share_on_thresholds(X + 0.5, thresholds) == 0
    with pytest.raises(TypeError, match="XGBoost or LightGBM"):
        classic.split_thresholds(object())


def test_split_disagreements_counts_rows_whose_split_flips_between_precisions():
    thresholds64 = {0: np.array([float(np.float32(0.1)) - 1e-12])}  # just below a float32 value: rounds onto it
    thresholds32 = {0: thresholds64[0].astype(np.float32)}
    X = np.array([[0.1], [0.5], [0.0], [0.1]], dtype=np.float32)
    # x <= t decided as each side does: float64 value and threshold, or both rounded to float32.
    flips = (X[:, 0].astype(np.float64) <= thresholds64[0][0]) != (X[:, 0] <= thresholds32[0][0])
    assert flips.any()  # the rounded threshold decides the 0.1 rows the other way
    got = classic.split_disagreements(X.astype(np.float64), thresholds64, X, thresholds32, strict=False)
    assert got == float(flips.mean()) == 0.5
    assert classic.split_disagreements(X, thresholds32, X, thresholds32) == 0.0  # same precision: no flips
    with pytest.raises(ValueError, match="same features"):
        classic.split_disagreements(X, {0: [0.0]}, X, {1: [0.0]})
    with pytest.raises(ValueError, match="same rows in both precisions"):
        classic.split_disagreements(X, thresholds32, X[:2], thresholds32)


def test_lightgbm_threshold_rounded_onto_a_training_value_puts_its_rows_at_risk():
    # Two neighbouring float32 values: LightGBM splits halfway between them in float64, and that midpoint
    # rounds (ties to even) onto the upper value, so `x <= t` says yes in float32 and no in float64.
    from lightgbm import LGBMRegressor

    low = np.nextafter(np.float32(1), np.float32(2))
    high = np.nextafter(low, np.float32(2))
    X = np.array([low, high] * 50, dtype=np.float32).reshape(-1, 1)
    model = LGBMRegressor(n_estimators=1, num_leaves=2, min_child_samples=1, min_data_in_bin=1, verbose=-1)
    model.fit(X, (X[:, 0] == high).astype(float))
    t64 = classic.split_thresholds(model)
    t32 = {f: t.astype(np.float32) for f, t in t64.items()}
    assert t32[0][0] == high != t64[0][0]
    assert classic.split_disagreements(X.astype(np.float64), t64, X, t32, strict=False) == 0.5  # every `high` row
    assert classic.split_disagreements(X.astype(np.float64), t64, X.astype(np.float64), t64, strict=False) == 0.0
