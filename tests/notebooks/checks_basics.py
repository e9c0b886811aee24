"""Checks for the basics notebooks (00-09)."""

from __future__ import annotations

import os
from importlib import metadata

from tests.notebooks.expectations import expect, verdicts


def _installed(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


@expect("00_start_here")
def _start_here(results, records):
    assert results["kernel"] == "main"
    assert results["legacy_kernel_installed"] is True
    # the notebook reports what is installed (the tests run in the same venv as its kernel), not constants
    assert results["versions"] == {pkg: _installed(pkg) for pkg in results["versions"]}, results["versions"]
    assert set(results["versions"]) == {"onnx", "onnxruntime", "torch", "tensorflow-cpu", "scikit-learn"}
    assert "not installed" not in results["versions"].values()
    assert results["legacy_versions"]["numpy"].startswith("1.") and results["legacy_versions"]["onnx"].startswith("1.18")
    # this machine's usable cores, as the kernel (a child of this process) sees them
    assert results["cores"] == len(os.sched_getaffinity(0)), results["cores"]


@expect("01_onnx_basics")
def _onnx_basics(results, records):
    assert results["hand_built_checker_ok"] and results["onnxscript_checker_ok"]
    assert results["ort_matches_numpy"] and results["external_data_roundtrip"]
    # parity by hand: session.run next to numpy, within rtol=1e-5, atol=1e-6 (float32 rounding, not zero)
    assert 0 <= results["by_hand_max_abs_err"] < 1e-5, results["by_hand_max_abs_err"]
    assert results["broken_model_error"].startswith(("ValidationError", "InferenceError", "Fail"))
    assert "xw_typo" in results["broken_model_error"]  # the message names the missing input
    assert results["opset"] >= 7
    assert verdicts(records) == {"hand-built linear layer": "pass", "onnxscript linear layer": "pass"}
    by_model = {r["model"]: r for r in records}
    assert by_model["hand-built linear layer"]["opset"] == results["opset"]
    assert by_model["hand-built linear layer"]["label_agreement"] == 1.0
