"""Checks of the exercises of notebooks/13_export_boosting.ipynb; reference solutions in exercises/solutions/13_export_boosting.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from exercises import exercise, pair_hint

REMEDIES = ("float64 thresholds", "float32 thresholds rounded down")


@exercise("13.1", "train LightGBM with max_bin=15; answer (model, how many distinct thresholds move in float32)")
def _check_max_bin(answer: Any, *, X_train: np.ndarray) -> str | None:
    from helpers.classic import split_thresholds

    hint = pair_hint(answer, 2, "the LGBMClassifier trained with max_bin=15, and the number of its thresholds that move")
    if hint:
        return hint
    model, moved = answer
    if type(model).__name__ != "LGBMClassifier" or model.get_params().get("max_bin") != 15:
        return "the model should be an LGBMClassifier created with max_bin=15 (a constructor argument)."
    if getattr(model, "n_features_in_", None) != X_train.shape[1]:
        return "train it on the churn matrix X_train, as in step 2."
    thresholds = split_thresholds(model)
    expected = sum(int((t.astype(np.float32) != t).sum()) for t in thresholds.values())
    if not isinstance(moved, (int, np.integer)) or isinstance(moved, bool):
        return f"the count should be a whole number, not {type(moved).__name__}."
    if moved == sum(map(len, thresholds.values())) and moved != expected:
        return "that counts every threshold: count only those that change when cast to float32 (t.astype(np.float32) != t)."
    if moved != expected:
        return "not this model's count: compare classic.split_thresholds(model) with its float32 copy, as in step 5."
    return None


@exercise("13.2", "feed both LightGBM remedies float64 rows on the thresholds; answer (rows, each one's share of rows outside tolerance)")
def _check_never_float32(answer: Any, *, model: Any, X_test: np.ndarray, float64_path: Any, rounded_path: Any) -> str | None:
    from helpers.classic import rows_outside_tolerance
    from helpers.verify import run_onnx

    hint = pair_hint(answer, 2, "the float64 rows you fed both models, and the dict of shares")
    if hint:
        return hint
    rows, shares = answer
    rows = np.asarray(rows)
    if rows.dtype != np.float64 or rows.ndim != 2 or rows.shape[1] != X_test.shape[1] or len(rows) < 20:
        return (f"the rows should be a float64 array of at least 20 rows and {X_test.shape[1]} columns; "
                f"this is {rows.dtype} {rows.shape}.")
    if not (rows.astype(np.float32).astype(np.float64) != rows).any():
        return "every value of these rows is a float32 number already: the task wants rows that were never float32."
    if not isinstance(shares, dict) or set(shares) != set(REMEDIES):
        return f"answer a dict with the keys {list(REMEDIES)} and a share of rows (0 to 1) for each."
    for remedy in REMEDIES:
        if not isinstance(shares[remedy], (float, int, np.floating, np.integer)) or not 0 <= shares[remedy] <= 1:
            return f"{remedy!r}: answer a share between 0 and 1 (rows outside tolerance / rows)."
    want = model.predict_proba(rows)
    expected = {
        REMEDIES[0]: rows_outside_tolerance(want, list(run_onnx(float64_path, [rows]).values())[1]),
        REMEDIES[1]: rows_outside_tolerance(want, list(run_onnx(rounded_path, [rows.astype(np.float32)]).values())[1]),
    }
    if expected[REMEDIES[1]] == 0:
        return ("on these rows the rounded-down remedy holds too (no row outside tolerance), so they show nothing: "
                "values a hair off X_test round back to it in float32. Put one value of each row exactly on one "
                "of the model's float64 thresholds (classic.split_thresholds).")
    for remedy, share in expected.items():
        if abs(shares[remedy] - share) > 1e-9:
            return (f"{remedy!r}: not the share measured on your rows; feed the float64 model the float64 rows, the "
                    "rounded-down one the same rows cast to float32, and compare with model.predict_proba of the "
                    "float64 rows (classic.rows_outside_tolerance).")
    return None


@exercise("13.3", "train XGBoost on float64-scaled churn cast to float32; answer (model, the scaled float32 test rows)")
def _check_scaled_first(answer: Any, *, X_train: np.ndarray, X_test: np.ndarray, target_opset: int) -> str | None:
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType
    from sklearn.preprocessing import StandardScaler

    from helpers.classic import split_thresholds, tree_parity
    from helpers.verify import run_onnx

    hint = pair_hint(answer, 2, "the XGBClassifier trained on the scaled rows, and the scaled float32 test rows")
    if hint:
        return hint
    model, X_scaled = answer
    if type(model).__name__ != "XGBClassifier":
        return "the model should be an XGBClassifier."
    X_scaled = np.asarray(X_scaled)
    if X_scaled.dtype != np.float32:
        return f"the test rows are {X_scaled.dtype}: cast the float64 scaled values to float32 once, and use that array."
    expected = StandardScaler().fit(X_train.astype(np.float64)).transform(X_test.astype(np.float64))
    if X_scaled.shape != expected.shape or not np.allclose(X_scaled, expected, atol=1e-5):
        return "these are not the test rows scaled in float64 by a StandardScaler fitted on X_train."
    thresholds = [t for t in split_thresholds(model).values() if len(t)]
    if thresholds and max(float(np.abs(t).max()) for t in thresholds) > 50:
        return "the model's thresholds look unscaled: train XGBoost on the scaled training rows."
    onx = onnxmltools.convert_xgboost(model, initial_types=[("input", FloatTensorType([None, X_scaled.shape[1]]))],
                                      target_opset=target_opset)
    got = list(run_onnx(onx, [X_scaled]).values())
    parity = tree_parity(model.predict_proba(X_scaled), got[1], model.predict(X_scaled), got[0])
    if parity["rows_outside_tolerance"] > 0 or parity["label_agreement"] < 1:
        return f"{parity['rows_outside_tolerance']:.1%} of rows flip: give XGBoost and ONNX exactly the same float32 array."
    return None
