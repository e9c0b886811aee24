"""Small data sets with fixed splits, downloaded from nowhere: digits, iris, diabetes and wine come inside
scikit-learn, the mixed-type churn table is ``data/churn.csv`` (``scripts/make_data.py``). Every split is a
seeded permutation, the same in every kernel and numpy version. Used by most notebooks.

>>> from helpers import data
>>> ds = data.load_digits(kind="images")
>>> ds.X_train.shape[1:], ds.X_train.dtype
((1, 8, 8), dtype('float32'))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from helpers.paths import data_dir

#: Categorical and numeric feature columns of the churn table.
CHURN_CATEGORICAL = ("contract", "payment_method", "internet")
CHURN_NUMERIC = ("tenure_months", "monthly_charges", "support_calls", "senior")


@dataclass(repr=False)
class Dataset:
    """A train/test split with names, as returned by every ``load_*`` function."""

    name: str
    X_train: Any  # numpy array, or a pandas DataFrame for tabular sets
    X_test: Any
    y_train: np.ndarray
    y_test: np.ndarray
    feature_names: list[str] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)  # empty for regression

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, {'classification' if self.target_names else 'regression'}, "
                f"train={len(self.y_train)}, test={len(self.y_test)}, X shape={self.X_train.shape})")


def _split(name: str, X: Any, y: np.ndarray, test_fraction: float, seed: int, **names: Any) -> Dataset:
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}.")
    order = np.random.RandomState(seed).permutation(len(y))  # frozen by numpy's compatibility policy
    n_test = max(1, round(len(y) * test_fraction))
    train, test = np.sort(order[n_test:]), np.sort(order[:n_test])
    if hasattr(X, "iloc"):
        return Dataset(name, X.iloc[train].reset_index(drop=True), X.iloc[test].reset_index(drop=True),
                       y[train], y[test], **names)
    return Dataset(name, X[train], X[test], y[train], y[test], **names)


def load_digits(kind: Literal["images", "flat"] = "images", test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """Handwritten digits (1797 8x8 images, 10 classes) from scikit-learn, scaled to [0, 1]: float32 arrays of
    shape (N, 1, 8, 8) for CNNs (NCHW, as PyTorch and ONNX) or, with ``kind="flat"``, (N, 64)."""
    from sklearn.datasets import load_digits as _load

    if kind not in ("images", "flat"):
        raise ValueError(f"kind must be 'images' or 'flat', got {kind!r}.")
    raw = _load()
    X = (raw.images / 16.0).astype(np.float32)
    X = X[:, None, :, :] if kind == "images" else X.reshape(len(X), -1)
    features = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)] if kind == "flat" else ["image"]
    return _split(f"digits-{kind}", X, raw.target.astype(np.int64), test_fraction, seed,
                  feature_names=features, target_names=[str(t) for t in raw.target_names])


def _sklearn_set(name: str, test_fraction: float, seed: int) -> Dataset:
    import sklearn.datasets

    raw = getattr(sklearn.datasets, f"load_{name}")()
    classes = list(getattr(raw, "target_names", []))
    y = raw.target.astype(np.int64 if classes else np.float32)
    return _split(name, raw.data.astype(np.float32), y, test_fraction, seed,
                  feature_names=list(raw.feature_names), target_names=classes)


def load_iris(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """Iris flowers (150 rows, 4 float32 features, 3 classes) from scikit-learn."""
    return _sklearn_set("iris", test_fraction, seed)


def load_diabetes(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """Diabetes progression (442 rows, 10 float32 features), a regression set from scikit-learn."""
    return _sklearn_set("diabetes", test_fraction, seed)


def load_wine(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """Wine cultivars (178 rows, 13 float32 features spanning four orders of magnitude, 3 classes) from
    scikit-learn, for notebooks/50_capstone.ipynb."""
    return _sklearn_set("wine", test_fraction, seed)


def load_churn(test_fraction: float = 0.25, seed: int = 0, columns: Sequence[str] | None = None) -> Dataset:
    """The shipped mixed-type churn table as pandas DataFrames (numeric columns float32, the others text), with
    the feature ``columns`` given (default: all of ``CHURN_NUMERIC`` and ``CHURN_CATEGORICAL``)."""
    import pandas as pd

    path = data_dir() / "churn.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; regenerate it with `python scripts/make_data.py`.")
    frame = pd.read_csv(path, dtype={c: str for c in CHURN_CATEGORICAL}, keep_default_na=False)
    wanted = list(columns or (*CHURN_NUMERIC, *CHURN_CATEGORICAL))
    unknown = sorted(set(wanted) - set(frame.columns))
    if unknown:
        raise KeyError(f"Unknown churn columns {unknown}; available: {sorted(frame.columns)}.")
    X = frame[wanted].astype({c: np.float32 if c in CHURN_NUMERIC else object for c in wanted})
    return _split("churn", X, frame["churn"].to_numpy(np.int64), test_fraction, seed,
                  feature_names=wanted, target_names=["stays", "churns"])
