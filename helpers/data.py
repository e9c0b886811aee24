"""Small data sets that ship with the workbook or its dependencies, with fixed splits.

Nothing is downloaded: digits, iris and diabetes come inside scikit-learn, and
the mixed-type churn table is ``data/churn.csv`` (made by :func:`make_churn`).
Every split is a seeded permutation, so the same rows land in the test set in
every kernel and every numpy version.

>>> from helpers import data
>>> ds = data.load_digits(kind="images")
>>> ds.X_train.shape[1:], ds.X_train.dtype
((1, 8, 8), dtype('float32'))
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from helpers.paths import data_dir

__all__ = [
    "Dataset",
    "split_indices",
    "load_digits",
    "load_iris",
    "load_diabetes",
    "load_wine",
    "load_churn",
    "make_churn",
    "CHURN_CATEGORICAL",
    "CHURN_NUMERIC",
]

#: Categorical and numeric feature columns of the churn table.
CHURN_CATEGORICAL = ("contract", "payment_method", "internet")
CHURN_NUMERIC = ("tenure_months", "monthly_charges", "support_calls", "senior")


@dataclass
class Dataset:
    """A train/test split with names, as returned by every ``load_*`` function."""

    name: str
    X_train: Any  # numpy array, or a pandas DataFrame for tabular sets
    X_test: Any
    y_train: np.ndarray
    y_test: np.ndarray
    feature_names: list[str] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)
    description: str = ""

    @property
    def task(self) -> str:
        """``"classification"`` when the set has class names, else ``"regression"``."""
        return "classification" if self.target_names else "regression"

    def __repr__(self) -> str:
        shape = getattr(self.X_train, "shape", None)
        return (
            f"Dataset({self.name!r}, {self.task}, train={len(self.y_train)}, "
            f"test={len(self.y_test)}, X shape={shape})"
        )


def split_indices(n: int, test_fraction: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic train/test row indices from a seeded permutation.

    >>> train, test = split_indices(8, test_fraction=0.25)
    >>> len(train), len(test)
    (6, 2)
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}.")
    order = np.random.RandomState(seed).permutation(n)
    n_test = max(1, int(round(n * test_fraction)))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def _split(name: str, X: Any, y: np.ndarray, test_fraction: float, seed: int, **names: Any) -> Dataset:
    train, test = split_indices(len(y), test_fraction, seed)
    take = (lambda a, idx: a.iloc[idx].reset_index(drop=True)) if hasattr(X, "iloc") else (lambda a, idx: a[idx])
    return Dataset(name, take(X, train), take(X, test), y[train], y[test], **names)


def load_digits(
    kind: Literal["images", "flat"] = "images",
    test_fraction: float = 0.25,
    seed: int = 0,
) -> Dataset:
    """Handwritten digits (1797 8x8 images, 10 classes) from scikit-learn, scaled to [0, 1].

    kind: ``"images"`` gives float32 arrays of shape (N, 1, 8, 8) for CNNs
        (NCHW, the layout PyTorch and ONNX use); ``"flat"`` gives (N, 64).
    """
    from sklearn.datasets import load_digits as _load

    if kind not in ("images", "flat"):
        raise ValueError(f"kind must be 'images' or 'flat', got {kind!r}.")
    raw = _load()
    X = (raw.images / 16.0).astype(np.float32)
    X = X[:, None, :, :] if kind == "images" else X.reshape(len(X), -1)
    features = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)] if kind == "flat" else ["image"]
    return _split(
        f"digits-{kind}", X, raw.target.astype(np.int64), test_fraction, seed,
        feature_names=features, target_names=[str(t) for t in raw.target_names],
        description="8x8 grayscale digits from scikit-learn, pixel values scaled to [0, 1].",
    )


def load_iris(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """Iris flowers (150 rows, 4 float32 features, 3 classes) from scikit-learn."""
    from sklearn.datasets import load_iris as _load

    raw = _load()
    return _split(
        "iris", raw.data.astype(np.float32), raw.target.astype(np.int64), test_fraction, seed,
        feature_names=list(raw.feature_names), target_names=list(raw.target_names),
        description="Fisher's iris measurements, from scikit-learn.",
    )


def load_diabetes(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """Diabetes progression (442 rows, 10 float32 features), a regression set from scikit-learn."""
    from sklearn.datasets import load_diabetes as _load

    raw = _load()
    return _split(
        "diabetes", raw.data.astype(np.float32), raw.target.astype(np.float32), test_fraction, seed,
        feature_names=list(raw.feature_names),
        description="Disease progression one year after baseline, from scikit-learn (regression).",
    )


def load_wine(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """Wine cultivars (178 rows, 13 float32 chemical measurements, 3 classes) from scikit-learn.

    The capstone's data set (notebooks/50_capstone.ipynb): no other notebook uses it. The features
    span four orders of magnitude, so a model needs scaling inside it.
    """
    from sklearn.datasets import load_wine as _load

    raw = _load()
    return _split(
        "wine", raw.data.astype(np.float32), raw.target.astype(np.int64), test_fraction, seed,
        feature_names=list(raw.feature_names), target_names=list(raw.target_names),
        description="Chemical analysis of wines from three cultivars, from scikit-learn.",
    )


def make_churn(n_rows: int = 1000, seed: int = 7) -> list[dict[str, Any]]:
    """Generate the synthetic customer-churn table (mixed numeric and categorical columns).

    The churn label follows a fixed logistic rule plus noise, so models can learn it.
    ``data/churn.csv`` is this function's output with the defaults.
    """
    rng = np.random.RandomState(seed)
    contracts = np.array(["month-to-month", "one-year", "two-year"])
    payments = np.array(["card", "bank-transfer", "electronic-check", "mailed-check"])
    internets = np.array(["none", "dsl", "fiber"])
    contract = contracts[rng.choice(3, n_rows, p=[0.55, 0.25, 0.20])]
    payment = payments[rng.choice(4, n_rows)]
    internet = internets[rng.choice(3, n_rows, p=[0.2, 0.4, 0.4])]
    tenure = rng.randint(1, 73, n_rows)
    senior = (rng.rand(n_rows) < 0.16).astype(int)
    charges = np.round(20 + 30 * (internet == "dsl") + 55 * (internet == "fiber") + rng.normal(0, 8, n_rows), 2)
    calls = rng.poisson(1.5, n_rows)
    logit = (
        -1.0 + 1.6 * (contract == "month-to-month") - 1.2 * (contract == "two-year")
        + 0.8 * (payment == "electronic-check") + 0.6 * (internet == "fiber")
        - 0.045 * tenure + 0.02 * (charges - 60) + 0.35 * calls + 0.4 * senior
    )
    churn = (rng.rand(n_rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return [
        {
            "tenure_months": int(tenure[i]), "monthly_charges": float(charges[i]),
            "support_calls": int(calls[i]), "senior": int(senior[i]), "contract": str(contract[i]),
            "payment_method": str(payment[i]), "internet": str(internet[i]), "churn": int(churn[i]),
        }
        for i in range(n_rows)
    ]


def _read_churn_rows(path: Any) -> list[dict[str, Any]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path} is empty; regenerate it with `python scripts/make_data.py`.")
    return rows


def load_churn(
    test_fraction: float = 0.25,
    seed: int = 0,
    columns: Sequence[str] | None = None,
) -> Dataset:
    """The shipped mixed-type churn table as pandas DataFrames (numeric columns float32).

    columns: the feature columns to keep (default: all of
        :data:`CHURN_NUMERIC` and :data:`CHURN_CATEGORICAL`).
    """
    import pandas as pd

    path = data_dir() / "churn.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; regenerate it with `python scripts/make_data.py`.")
    frame = pd.DataFrame(_read_churn_rows(path))
    wanted = list(columns or (*CHURN_NUMERIC, *CHURN_CATEGORICAL))
    unknown = sorted(set(wanted) - set(frame.columns))
    if unknown:
        raise KeyError(f"Unknown churn columns {unknown}; available: {sorted(frame.columns)}.")
    X = frame[wanted].copy()
    for col in wanted:
        X[col] = X[col].astype(np.float32) if col in CHURN_NUMERIC else X[col].astype(str).astype(object)
    y = frame["churn"].astype(np.int64).to_numpy()
    return _split(
        "churn", X, y, test_fraction, seed,
        feature_names=wanted, target_names=["stays", "churns"],
        description="Synthetic customer churn: 4 numeric and 3 categorical columns (data/churn.csv).",
    )
