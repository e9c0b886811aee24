"""helpers.data gives the same small data sets and splits in every kernel, with no downloads."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from helpers import data
from helpers.paths import data_dir


def test_digits_images_are_nchw_float32_scaled_to_unit_range():
    ds = data.load_digits(kind="images")
    assert ds.X_train.shape[1:] == (1, 8, 8) and ds.X_train.dtype == np.float32
    assert ds.X_train.min() >= 0.0 and ds.X_train.max() <= 1.0
    assert len(ds.y_train) + len(ds.y_test) == 1797
    assert ds.target_names == [str(i) for i in range(10)]


def test_digits_flat_and_images_hold_the_same_pixels_in_the_same_split():
    images, flat = data.load_digits(kind="images"), data.load_digits(kind="flat")
    np.testing.assert_array_equal(images.X_test.reshape(len(images.X_test), -1), flat.X_test)
    np.testing.assert_array_equal(images.y_test, flat.y_test)


def test_splits_are_deterministic_and_pinned_across_numpy_versions():
    from sklearn.datasets import load_iris

    iris = data.load_iris(test_fraction=0.2, seed=0)
    # RandomState(0).permutation is frozen by numpy's compatibility policy: same rows in every kernel.
    np.testing.assert_array_equal(iris.X_test[:3], load_iris().data[[7, 8, 16]].astype(np.float32))
    assert len(iris.y_train) == 120 and len(iris.y_test) == 30


def test_bad_split_and_kind_arguments_say_what_is_allowed():
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        data.load_iris(test_fraction=1.5)
    with pytest.raises(ValueError, match="kind must be 'images' or 'flat', got 'rgb'"):
        data.load_digits(kind="rgb")


def test_iris_and_diabetes_are_classification_and_regression():
    iris, diabetes = data.load_iris(), data.load_diabetes()
    assert "classification" in repr(iris) and iris.X_train.shape[1] == 4 and iris.y_train.dtype == np.int64
    assert "regression" in repr(diabetes) and diabetes.target_names == [] and diabetes.y_train.dtype == np.float32


def test_shipped_churn_csv_equals_a_fresh_generation():
    with open(data_dir() / "churn.csv", newline="", encoding="utf-8") as handle:
        shipped = list(csv.DictReader(handle))
    from scripts.make_data import make_churn

    fresh = make_churn()
    assert len(shipped) == len(fresh) == 1000
    assert {k: str(v) for k, v in fresh[0].items()} == shipped[0]
    assert {k: str(v) for k, v in fresh[-1].items()} == shipped[-1]


def test_churn_loads_mixed_types_and_rejects_unknown_columns():
    pytest.importorskip("pandas", reason="the churn table is a pandas DataFrame; pandas is in the main kernel")
    ds = data.load_churn()
    assert ds.X_train["tenure_months"].dtype == np.float32
    assert ds.X_train["contract"].dtype == object
    assert 0.2 < ds.y_train.mean() < 0.45
    with pytest.raises(KeyError, match=r"Unknown churn columns \['colour'\]"):
        data.load_churn(columns=["colour"])
