"""helpers.classic: churn features and inputs, tree-parity measures, CoreML builders, LIBSVM training
(main kernel: needs scikit-learn, pandas, xgboost, coremltools, libsvm)."""

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


def test_per_column_inputs_make_one_typed_input_per_column():
    ds = data.load_churn()
    types, feed = classic.per_column_inputs(ds.X_test)
    assert [name for name, _ in types] == list(ds.X_test.columns) == list(feed)
    assert feed["tenure_months"].dtype == np.float32 and feed["tenure_months"].shape == (len(ds.X_test), 1)
    assert feed["contract"].dtype == object
    with pytest.raises(TypeError, match="Expected a pandas DataFrame"):
        classic.per_column_inputs(np.zeros((2, 2)))


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


def test_coreml_builders_check_their_shapes():
    with pytest.raises(ValueError, match="2 weight rows and 3 intercepts for 3 classes"):
        classic.coreml_glm_classifier(np.zeros((2, 4)), [0, 0, 0], [0, 1, 2])
    with pytest.raises(ValueError, match="mean and scale must be 1-D of equal length"):
        classic.coreml_scaler([0.0, 1.0], [1.0])


def test_libsvm_trains_on_numpy_arrays_and_rejects_mismatched_ones():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 1.0], [0.9, 1.0]])
    model = classic.libsvm_train(X, np.array([0, 0, 1, 1]), "-s 0 -t 0 -c 10")
    labels, scores = classic.libsvm_predict(model, X)
    assert labels.dtype == np.int64 and labels.tolist() == [0, 0, 1, 1] and scores.shape == (4, 1)
    with pytest.raises(ValueError, match="X has 4 rows but y has 3 values"):
        classic.libsvm_train(X, np.array([0, 1, 1]))


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


def test_lightgbm_thresholds_rounded_to_float32_make_rows_at_risk():
    from lightgbm import LGBMRegressor

    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 2)).astype(np.float32)
    y = X[:, 0] * 3 + np.sin(5 * X[:, 1])
    model = LGBMRegressor(n_estimators=20, num_leaves=7, verbose=-1).fit(X, y)
    t64 = classic.split_thresholds(model)
    t32 = {f: t.astype(np.float32) for f, t in t64.items()}
    assert any((t.astype(np.float32) != t).any() for t in t64.values())  # LightGBM keeps float64 thresholds
    risk = classic.split_disagreements(X.astype(np.float64), t64, X, t32, strict=False)
    assert 0.0 <= risk < 0.5


@pytest.mark.parametrize("library", ["xgboost", "lightgbm", "catboost"])
def test_boosting_to_onnx_names_inputs_and_outputs_the_same_way(library):
    from helpers.verify import run_onnx

    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    if library == "xgboost":
        from xgboost import XGBClassifier, XGBRegressor
        clf, reg = XGBClassifier(n_estimators=5), XGBRegressor(n_estimators=5)
    elif library == "lightgbm":
        from lightgbm import LGBMClassifier, LGBMRegressor
        clf, reg = LGBMClassifier(n_estimators=5, verbose=-1), LGBMRegressor(n_estimators=5, verbose=-1)
    else:
        from catboost import CatBoostClassifier, CatBoostRegressor
        kw = dict(iterations=5, verbose=0, allow_writing_files=False)
        clf, reg = CatBoostClassifier(**kw), CatBoostRegressor(**kw)
    clf.fit(X, y)
    reg.fit(X, X[:, 0])
    got = run_onnx(classic.boosting_to_onnx(clf, 3), {"input": X})
    assert list(got) == ["label", "probabilities"]
    assert (np.asarray(got["label"]).ravel() == classic.framework_outputs(clf, X)["label"]).all()
    got = run_onnx(classic.boosting_to_onnx(reg, 3), {"input": X})
    assert list(got) == ["variable"]
    np.testing.assert_allclose(np.asarray(got["variable"]).reshape(-1, 1), classic.framework_outputs(reg, X)["variable"],
                               rtol=1e-4, atol=1e-4)


def test_boosting_to_onnx_refuses_other_models():
    from sklearn.linear_model import LinearRegression

    with pytest.raises(TypeError, match="expected an XGBoost, LightGBM or CatBoost model"):
        classic.boosting_to_onnx(LinearRegression(), 3)
