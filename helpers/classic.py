"""Tree-model measures for notebooks/13_export_boosting.ipynb: one-hot churn features, parity, and how
often float32 rounding flips a split.

>>> import numpy as np
>>> rows_outside_tolerance(np.array([1.0, 2.0]), np.array([1.0, 2.5]))
0.5
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from helpers.data import CHURN_CATEGORICAL, CHURN_NUMERIC


def churn_categories(frame: Any) -> dict[str, list[str]]:
    """The sorted categories of each categorical churn column in ``frame`` (the training set)."""
    return {col: sorted(set(frame[col])) for col in CHURN_CATEGORICAL}


def churn_matrix(frame: Any, categories: Mapping[str, Sequence[str]]) -> tuple[np.ndarray, list[str]]:
    """The churn table as one float32 matrix for tree libraries (numeric columns, then one-hot ones) and its
    column names. ``categories`` come from :func:`churn_categories`; an unseen category gives all zeros."""
    blocks = [frame[list(CHURN_NUMERIC)].to_numpy(np.float32)]
    names = list(CHURN_NUMERIC)
    for col, cats in categories.items():
        blocks.append((frame[col].to_numpy().astype(str)[:, None] == np.asarray(cats, dtype=str)).astype(np.float32))
        names += [f"{col}={c}" for c in cats]
    return np.hstack(blocks), names


def rows_outside_tolerance(expected: Any, actual: Any, rtol: float = 1e-4, atol: float = 1e-5) -> float:
    """The share of rows with at least one value outside ``np.isclose(actual, expected, rtol, atol)``."""
    e, a = np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    if e.size != a.size:
        raise ValueError(f"expected has {e.size} values, actual {a.size}; compare outputs of the same rows.")
    close = np.isclose(a.reshape(e.shape), e, rtol=rtol, atol=atol)
    return float(np.mean(~close.reshape(len(e), -1).all(axis=1)))


def tree_parity(expected: Any, actual: Any, expected_labels: Any = None, actual_labels: Any = None,
                rtol: float = 1e-4, atol: float = 1e-5) -> dict[str, Any]:
    """Rows outside tolerance, max error and (given labels) label agreement of a tree model's ONNX outputs:
    probabilities (N, classes; a ZipMap list of dicts is fine) or predictions (N,)."""
    e = np.asarray(_plain(expected), dtype=np.float64)
    a = np.asarray(_plain(actual), dtype=np.float64).reshape(e.shape)
    out: dict[str, Any] = {"rows": len(e), "rows_outside_tolerance": rows_outside_tolerance(e, a, rtol, atol),
                           "max_abs_err": float(np.abs(e - a).max(initial=0.0))}
    if expected_labels is not None and actual_labels is not None:
        same = np.asarray(expected_labels).ravel().astype(str) == np.asarray(actual_labels).ravel().astype(str)
        out["label_agreement"] = float(same.mean())
    return out


def _plain(values: Any) -> Any:
    """A ZipMap output (a list of ``{class: probability}`` dicts) as rows in sorted class order."""
    if isinstance(values, list) and values and isinstance(values[0], Mapping):
        return [[row[k] for k in sorted(row)] for row in values]
    return values


def split_thresholds(model: Any) -> dict[int, np.ndarray]:
    """The split thresholds of a fitted XGBoost or LightGBM model (scikit-learn API), by feature index."""
    if hasattr(model, "get_booster"):
        frame = model.get_booster().trees_to_dataframe()
        frame = frame[frame["Feature"] != "Leaf"]
        feature = frame["Feature"].str.lstrip("f").astype(int).to_numpy()
        values = frame["Split"].to_numpy(np.float64)
    elif hasattr(model, "booster_"):
        frame = model.booster_.trees_to_dataframe()
        frame = frame[frame["split_feature"].notna()]
        feature = frame["split_feature"].map(list(model.booster_.feature_name()).index).to_numpy()
        values = frame["threshold"].to_numpy(np.float64)
    else:
        raise TypeError(f"Expected a fitted XGBoost or LightGBM model, got {type(model).__name__}.")
    return {int(f): np.unique(values[feature == f]) for f in np.unique(feature)}


def share_on_thresholds(X: np.ndarray, thresholds: Mapping[int, np.ndarray]) -> float:
    """The share of rows with a feature value exactly on one of its split thresholds: a change in the last bit
    (float64 rounded to float32, or back) sends such a row down the other branch."""
    X = np.asarray(X, dtype=np.float32)
    on = [np.isin(X[:, f], np.asarray(t, dtype=np.float32)) for f, t in thresholds.items()]
    return float(np.any(on, axis=0).mean())


def split_disagreements(X_a: np.ndarray, thresholds_a: Mapping[int, np.ndarray], X_b: np.ndarray,
                        thresholds_b: Mapping[int, np.ndarray], strict: bool = True) -> float:
    """The share of rows for which at least one split of the model decides differently in two precisions.

    X_a, thresholds_a: features and thresholds as the framework compares them; X_b, thresholds_b: as ONNX
        Runtime does (e.g. both float32). strict: ``x < t`` (XGBoost), or ``x <= t`` (LightGBM) when False.
    Every split counts, not only those on a row's path: the rows at risk, of which some really change.
    """
    if set(thresholds_a) != set(thresholds_b):
        raise ValueError("thresholds_a and thresholds_b must cover the same features; build both from one model.")
    X_a, X_b = np.asarray(X_a), np.asarray(X_b)
    if X_a.shape != X_b.shape:
        raise ValueError(f"X_a has shape {X_a.shape} but X_b {X_b.shape}; pass the same rows in both precisions.")
    below = np.less if strict else np.less_equal
    differ = [below(X_a[:, [f]], np.asarray(t)) != below(X_b[:, [f]], np.asarray(thresholds_b[f]))
              for f, t in thresholds_a.items()]
    return float(np.any([d.any(axis=1) for d in differ], axis=0).mean())


def framework_outputs(model: Any, X: np.ndarray) -> dict[str, np.ndarray]:
    """The model's own outputs named as in its ONNX conversion: ``label`` and ``probabilities`` for a
    classifier, ``variable`` (N, 1) for a regressor."""
    if hasattr(model, "predict_proba"):
        return {"label": np.asarray(model.predict(X)).ravel().astype(np.int64), "probabilities": model.predict_proba(X)}
    return {"variable": np.asarray(model.predict(X), dtype=np.float64).reshape(-1, 1)}
