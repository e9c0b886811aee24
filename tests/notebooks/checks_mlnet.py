"""Checks for the ML.NET notebooks: training and export in the mlnet kernel (18), the files in today's ONNX
Runtime and an ONNX model inside ML.NET (19)."""

from __future__ import annotations

from tests.notebooks.expectations import expect

MLNET_ROWS = {
    "ML.NET classifier: churn_fasttree.onnx",
    "ML.NET regressor: diabetes_fasttree.onnx",
    "iris pipeline inside ML.NET (OnnxRunner, ONNX Runtime 1.2)",
    "iris pipeline for ML.NET (opset 11)",
}


@expect("18_export_mlnet")
def _mlnet_export(results, records):
    assert results["auc"] >= 0.65, results["auc"]  # a coin scores 0.5; accuracy is near the majority share here
    assert results["r2"] > 0.05, results["r2"]
    assert results["files"] == ["churn_fasttree.onnx", "diabetes_fasttree.onnx"]
    assert results["test_rows"] == {"churn": 250, "diabetes": 110}


@expect("19_mlnet_models_modern_runtime")
def _mlnet_runtime(results, records):
    by_model = {r["model"]: r for r in records}
    missing = sorted(MLNET_ROWS - set(by_model))
    assert not missing, f"no parity record for {missing}; found {sorted(by_model)}"
    assert all(by_model[m]["verdict"] == "pass" for m in MLNET_ROWS), {m: by_model[m]["verdict"] for m in MLNET_ROWS}
    assert by_model["iris pipeline inside ML.NET (OnnxRunner, ONNX Runtime 1.2)"]["label_agreement"] == 1.0
    assert by_model["ML.NET regressor: diabetes_fasttree.onnx"]["opset"] == 11
    assert results["inside_mlnet_max_abs_err"] < 1e-5
    assert "Actual value was 0" in results["first_try"], results["first_try"]
    assert results["outputs"] > 10 and results["answers"] == ["PredictedLabel.output", "Score.output", "Probability.output"]
