"""Checks of the exercises of notebooks/14_export_coreml_libsvm.ipynb; reference solutions in exercises/solutions/14_export_coreml_libsvm.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from exercises import exercise, load_onnx, pair_hint


def _libsvm_predict(model: Any, X: np.ndarray, options: str) -> tuple[np.ndarray, np.ndarray]:
    """LIBSVM's labels and scores (or probabilities, with ``-b 1``) for ``X``."""
    from helpers.workarounds import patch_libsvm

    patch_libsvm()
    import svmutil

    labels, _, scores = svmutil.svm_predict(np.zeros(len(X)), X.astype(np.float64), model, options)
    return np.asarray(labels, dtype=np.int64), np.asarray(scores)


@exercise("14.1", "train LIBSVM with -b 1 and convert; answer (libsvm model, ONNX model, label agreement with svm_predict -b 1)")
def _check_libsvm_probabilities(answer: Any, *, X: np.ndarray) -> str | None:
    from helpers.verify import run_onnx

    hint = pair_hint(answer, 3, "the LIBSVM model trained with -b 1, its ONNX conversion, and the share of equal labels")
    if hint:
        return hint
    svm, onx, agreement = answer
    if not hasattr(svm, "is_probability_model") or not svm.is_probability_model():
        return "the LIBSVM model has no probabilities: train it with the option -b 1."
    labels, probabilities = _libsvm_predict(svm, X, "-b 1 -q")
    outputs = run_onnx(load_onnx(onx), {"input": X})
    if "probabilities" not in outputs or np.shape(outputs["probabilities"]) != probabilities.shape:
        return "convert that same LIBSVM model with convert_libsvm (input named 'input'), as in step 6."
    if not np.allclose(outputs["probabilities"], probabilities, rtol=1e-4, atol=1e-5):
        return "ONNX's probabilities differ from svm_predict(..., '-b 1')'s: convert the model you trained with -b 1."
    onnx_labels = np.asarray(outputs["label"]).ravel()
    if (onnx_labels != labels).mean() > 0.5:
        return "most ONNX labels differ from LIBSVM's: the class-order bug again; apply wa.fix_libsvm_class_labels."
    if not isinstance(agreement, (float, int, np.floating, np.integer)) or abs(agreement - float(np.mean(onnx_labels == labels))) > 1e-9:
        return "the label agreement is the share of test rows whose ONNX label equals svm_predict(..., '-b 1')'s label."
    return None


@exercise("14.2", "retrain LIBSVM with labels first seen as 0, 1, 2 and convert unfixed; answer (libsvm model, ONNX model)")
def _check_libsvm_sorted(answer: Any, *, X: np.ndarray) -> str | None:
    from helpers.verify import run_onnx

    hint = pair_hint(answer, 2, "the LIBSVM model trained on reordered rows, and its ONNX conversion")
    if hint:
        return hint
    svm, onx = answer
    if not hasattr(svm, "get_labels"):
        return "the first item should be the model svmutil.svm_train returned."
    if svm.get_labels() != sorted(svm.get_labels()):
        return f"LIBSVM's class order is {svm.get_labels()}: put one row of each class first, in ascending label order."
    labels, _ = _libsvm_predict(svm, X, "-q")
    onnx_labels = np.asarray(run_onnx(load_onnx(onx), {"input": X})["label"]).ravel()
    if not np.array_equal(onnx_labels, labels):
        return f"only {np.mean(onnx_labels == labels):.0%} of ONNX's labels equal LIBSVM's: convert this model with convert_libsvm."
    return None
