"""Checks for the classic-ML export notebooks: scikit-learn (12), gradient boosting (13), CoreML and LIBSVM (14)."""

from __future__ import annotations

from tests.notebooks.expectations import expect, verdicts


@expect("14_export_coreml_libsvm")
def _coreml_libsvm(results, records):
    # onnxmltools as released cannot import its CoreML and LIBSVM converters (onnx/onnxmltools#735), and the
    # repair patched something exactly then (a fixed release imports, and the repair must add nothing) ...
    broken = all(v.startswith("ImportError") for v in results["import_errors"].values())
    assert broken == bool(results["patched"]), (results["import_errors"], results["patched"])
    # ... the repaired converters work, and the parity check catches the LIBSVM label-order bug on screen.
    assert verdicts(records) == {
        "coreml pipeline regressor (scaler + GLM)": "pass",
        "coreml GLM classifier (one-vs-rest logistic)": "pass",
        "libsvm SVC (labels not ascending)": "fail",
        "libsvm SVC (labels fixed)": "pass",
        "libsvm epsilon-SVR": "pass",
    }
    by_model = {r["model"]: r for r in records}
    caught = by_model["libsvm SVC (labels not ascending)"]
    assert caught["label_agreement"] < 0.9 and caught["max_abs_err"] < 1e-4  # scores match, labels do not
    assert by_model["libsvm SVC (labels fixed)"]["label_agreement"] == 1.0
    assert {r["framework"] for r in records} == {"coremltools", "libsvm"}
    for r in records:  # onnxmltools targets ai.onnx <= 15; models with only ML operators declare "ai.onnx.ml N"
        assert r["converter"] == "onnxmltools", r
        assert (isinstance(r["opset"], int) and r["opset"] <= results["target_opset"] <= 15) or str(
            r["opset"]).startswith("ai.onnx.ml "), r
    assert results["binary_label_agreement"] == {"False": 0.0, "True": 1.0}
    assert results["coreml_files"] == ["diabetes_ridge.mlmodel", "iris_ovr.mlmodel"]


@expect("12_export_sklearn")
def _sklearn(results, records):
    assert verdicts(records) == {
        "churn pipeline (ZipMap, one input per column)": "pass",
        "churn pipeline (zipmap=False, plain arrays)": "pass",
        "churn pipeline (raw scores)": "pass",
        "diabetes ridge regressor (float32, one input)": "pass",
        "diabetes ridge regressor (float64, one input)": "pass",
    }
    assert all(r["framework"] == "scikit-learn" and r["converter"] == "skl2onnx" for r in records)
    assert all(r["label_agreement"] == 1.0 for r in records if r["model"].startswith("churn"))
    outputs = results["outputs"]
    assert outputs["default"] == ["output_label", "output_probability"]  # ZipMap by default
    assert outputs["zipmap=False"] == ["label", "probabilities"]
    assert outputs["output_class_labels"] == ["label", "probabilities", "class_labels"]
    assert len(results["inputs"]) == 7  # one named input per column
    assert results["metadata"]["labels"] == '["stays", "churns"]'  # the key runtime, serve and deploy read
    # skl2onnx declares the lowest opset that covers its operators: target_opset is a ceiling
    assert 13 <= results["target_opset"] <= 21 and results["opset"] <= results["target_opset"]
    err = results["regressor_max_abs_err"]
    assert err["float64"] < 1e-9 < err["float32"] < 1e-2


@expect("13_export_boosting")
def _boosting(results, records):
    # XGBoost and CatBoost match to float32 precision; LightGBM's float64 thresholds, rounded to float32 in
    # ONNX, flip a split on a row or two (recorded as fail); kept in float64 (ai.onnx.ml opset 3) or rounded
    # down they do not; a float64 scaler in front of XGBoost flips many.
    expected = {
        "xgboost classifier": "pass", "xgboost regressor": "pass",
        "lightgbm classifier": "fail", "lightgbm regressor": "fail",
        "lightgbm classifier (float64 thresholds)": "pass", "lightgbm regressor (float64 thresholds)": "pass",
        "lightgbm classifier (float32 thresholds rounded down)": "pass",
        "lightgbm regressor (float32 thresholds rounded down)": "pass",
        "catboost classifier": "pass", "catboost regressor": "pass",
        "xgboost in a scaled sklearn pipeline": "fail",
    }
    assert verdicts(records) == expected == results["verdicts"]
    by_model = {r["model"]: r for r in records}
    assert by_model["catboost classifier"]["converter"] == "catboost"
    assert by_model["xgboost classifier"]["converter"] == "onnxmltools"
    for name in ("lightgbm classifier", "xgboost in a scaled sklearn pipeline"):  # fails because values moved
        assert by_model[name]["max_abs_err"] > 1e-3, name
    for task in ("classifier", "regressor"):  # the remedies leave only float32 rounding of the leaves
        for remedy in ("float64 thresholds", "float32 thresholds rounded down"):
            assert by_model[f"lightgbm {task} ({remedy})"]["max_abs_err"] < 1e-3
    bar = results["min_label_agreement"]  # the run's parameter: 0.5 to 1.0
    below = [r["model"] for r in records if r["label_agreement"] is not None and r["label_agreement"] < bar
             and r["verdict"] == "pass"]
    assert 0.5 <= bar <= 1.0 and not below, f"passed with label agreement under {bar}: {below}"
    flips = results["flip_summary"]
    assert flips["xgboost classifier"]["rows outside tolerance (worst)"] == 0.0
    assert flips["catboost regressor"]["rows outside tolerance (worst)"] == 0.0
    assert 0 < flips["lightgbm regressor"]["rows outside tolerance (worst)"] < 0.05
    for remedy in ("float64", "rounded down"):
        for task in ("classifier", "regressor"):
            assert flips[f"lightgbm ({remedy}) {task}"]["rows outside tolerance (worst)"] == 0.0
    assert flips["xgboost (scaled) classifier"]["rows outside tolerance (mean)"] > 0.05
    assert flips["xgboost (scaled) classifier"]["splits"] == results["n_splits"] == 2  # quick mode
    assert 0 < results["lightgbm_rows_at_risk"] < 0.05
