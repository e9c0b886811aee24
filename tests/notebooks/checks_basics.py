"""Checks for the basics notebooks (00-09)."""

from __future__ import annotations

from tests.notebooks.expectations import expect, verdicts


@expect("00_start_here")
def _start_here(results, records):
    assert results["kernel"] == "main"
    assert results["legacy_kernel_installed"] is True
    for pkg in ("onnx", "onnxruntime", "torch", "tensorflow-cpu", "scikit-learn"):
        assert results["versions"][pkg] != "not installed", pkg
    assert results["cores"] >= 1


@expect("01_onnx_basics")
def _onnx_basics(results, records):
    assert results["hand_built_checker_ok"] and results["onnxscript_checker_ok"]
    assert results["ort_matches_numpy"] and results["external_data_roundtrip"]
    assert results["broken_model_error"].startswith(("ValidationError", "InferenceError", "Fail"))
    assert verdicts(records) == {"hand-built linear layer": "pass", "onnxscript linear layer": "pass"}
