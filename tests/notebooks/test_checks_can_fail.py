"""The checks of notebooks 00, 01, 10 and 12 pass on a good run and fail on each failing case fed to them.

A check that cannot fail is a defect (``cores >= 1`` was one): each case below changes one recorded
value the way a broken notebook or setup would, and the check must raise.
"""

from __future__ import annotations

import copy
import os
from importlib import metadata

import pytest

from tests.notebooks.expectations import load_all

CHECKS = load_all()


def _installed(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _good_00():
    packages = ["onnx", "onnxruntime", "torch", "tensorflow-cpu", "scikit-learn"]
    return {"kernel": "main", "legacy_kernel_installed": True, "versions": {p: _installed(p) for p in packages},
            "legacy_versions": {"numpy": "1.23.5", "onnx": "1.18.0"}, "cores": len(os.sched_getaffinity(0))}, []


def _good_01():
    results = {"hand_built_checker_ok": True, "onnxscript_checker_ok": True, "ort_matches_numpy": True,
               "external_data_roundtrip": True, "by_hand_max_abs_err": 6e-8, "opset": 21,
               "broken_model_error": "ValidationError: Nodes in a graph must be ... input xw_typo of node ..."}
    records = [{"model": "hand-built linear layer", "verdict": "pass", "opset": 21, "label_agreement": 1.0},
               {"model": "onnxscript linear layer", "verdict": "pass", "opset": 21, "label_agreement": 1.0}]
    return results, records


def _good_10():
    kinds = ("dynamo", "TorchScript")
    results = {
        "test_accuracy": 0.95, "state_dict_reload_identical": True, "by_hand_max_abs_err": 3e-6,
        "by_hand_labels_equal": True, "parity": {f"{k} batch {n}": "pass" for k in kinds for n in ("N", "1")},
        "max_abs_err": {f"{k} batch {n}": 3e-6 for k in kinds for n in ("N", "1")},
        "dynamo_files": ["digits_cnn_dynamo.onnx", "digits_cnn_dynamo.onnx.data"],
        "torchscript_files": ["digits_cnn_torchscript.onnx"], "labels": [str(d) for d in range(10)],
        "dynamo_data_dependent_error": "TorchExportError <- GuardOnDataDependentSymNode: ... data-dependent ...",
        "traced_if_max_abs_err": 182.0, "opset": 18,
        "opset17_checker_error": "Unrecognized attribute: noop_with_empty_axes for operator ReduceMax",
        "opset17_session_error": "InvalidGraph: [ONNXRuntimeError] : 10 : INVALID_GRAPH : ... noop_with_empty_axes",
        "opset17_converter_error": "Unrecognized attribute: noop_with_empty_axes for operator ReduceMax",
        "opset17_attributes_dropped": 1,
    }
    names = [("digits CNN, dynamo", "pass"), ("digits CNN, dynamo, batch 1", "pass"), ("digits CNN, TorchScript", "pass"),
             ("digits CNN, TorchScript, batch 1", "pass"), ("auto-scaling CNN, traced if", "fail")]
    names += [(f"auto-scaling CNN, torch.where, {k}, {p}", "pass") for k in kinds for p in ("raw", "scaled")]
    names += [(f"auto-scaling CNN, torch.where, opset 17, {h}, {p}", "pass")
              for h in ("TorchScript", "dynamo + version converter") for p in ("raw", "scaled")]
    records = [{"model": m, "verdict": v, "framework": "PyTorch", "converter": "torch.onnx (dynamo=True)",
                "opset": 17 if ", opset 17, " in m else 18, "n_samples": 449} for m, v in names]
    return results, records


def _good_12():
    results = {"outputs": {"default": ["output_label", "output_probability"], "zipmap=False": ["label", "probabilities"],
                           "output_class_labels": ["label", "probabilities", "class_labels"]},
               "inputs": list("abcdefg"), "metadata": {"labels": '["stays", "churns"]'},
               "regressor_max_abs_err": {"float32": 1.5e-5, "float64": 3e-14}, "target_opset": 17, "opset": 11}
    names = ["churn pipeline (ZipMap, one input per column)", "churn pipeline (zipmap=False, plain arrays)",
             "churn pipeline (raw scores)", "diabetes ridge regressor (float32, one input)",
             "diabetes ridge regressor (float64, one input)"]
    records = [{"model": m, "verdict": "pass", "framework": "scikit-learn", "converter": "skl2onnx", "label_agreement": 1.0}
               for m in names]
    return results, records


GOOD = {"00_start_here": _good_00, "01_onnx_basics": _good_01, "10_export_pytorch": _good_10, "12_export_sklearn": _good_12}

#: (notebook, what breaks, how the recorded results change)
FAILING = [
    ("00_start_here", "a wrong core count", lambda r, _: r.update(cores=r["cores"] + 64)),
    ("00_start_here", "a version not read from the install", lambda r, _: r["versions"].update(onnx="0.0.1")),
    ("00_start_here", "a missing package", lambda r, _: r["versions"].update(torch="not installed")),
    ("00_start_here", "numpy 2 in the legacy kernel", lambda r, _: r["legacy_versions"].update(numpy="2.1.0")),
    ("01_onnx_basics", "by-hand parity off", lambda r, _: r.update(by_hand_max_abs_err=0.01)),
    ("01_onnx_basics", "an error that does not name the input", lambda r, _: r.update(broken_model_error="ValidationError")),
    ("01_onnx_basics", "a record at another opset", lambda r, recs: recs[0].update(opset=13)),
    ("10_export_pytorch", "by-hand parity off", lambda r, _: r.update(by_hand_max_abs_err=0.5)),
    ("10_export_pytorch", "by-hand labels differ", lambda r, _: r.update(by_hand_labels_equal=False)),
    ("10_export_pytorch", "labels under another key", lambda r, _: r.update(labels=None)),
    ("10_export_pytorch", "the opset-17 file accepted", lambda r, _: r.update(opset17_checker_error="no error")),
    ("10_export_pytorch", "the session accepted it", lambda r, _: r.update(opset17_session_error="no error")),
    ("10_export_pytorch", "nothing dropped", lambda r, _: r.update(opset17_attributes_dropped=0)),
    ("10_export_pytorch", "a fix that fails parity", lambda r, recs: recs[-1].update(verdict="fail")),
    ("10_export_pytorch", "the traced if not caught", lambda r, recs: recs[4].update(verdict="pass")),
    ("12_export_sklearn", "labels under the old key", lambda r, _: r.update(metadata={"class_labels": "0=stays,1=churns"})),
    ("12_export_sklearn", "an opset above the target", lambda r, _: r.update(opset=19)),
    ("12_export_sklearn", "a target outside the range", lambda r, _: r.update(target_opset=22, opset=11)),
]


@pytest.mark.parametrize("stem", sorted(GOOD))
def test_check_passes_on_a_good_run(stem):
    CHECKS[stem](*GOOD[stem]())


@pytest.mark.parametrize(("stem", "case", "breaks"), FAILING, ids=[f"{s}: {c}" for s, c, _ in FAILING])
def test_check_fails_when_the_run_went_wrong(stem, case, breaks):
    results, records = copy.deepcopy(GOOD[stem]())
    breaks(results, records)
    with pytest.raises((AssertionError, KeyError, TypeError)):
        CHECKS[stem](results, records)
