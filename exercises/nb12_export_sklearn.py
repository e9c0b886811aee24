"""Checks of the exercises of notebooks/12_export_sklearn.ipynb; reference solutions in exercises/solutions/12_export_sklearn.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from exercises import exercise, outputs


@exercise("12.1", "swap in a RandomForestClassifier, fit and convert; answer (fitted pipeline, ONNX model)")
def _check_forest(answer: Any, *, X_test: Any, feed: dict) -> str | None:
    import onnx

    if not isinstance(answer, tuple) or len(answer) != 2:
        return "answer a pair: (the fitted scikit-learn pipeline, the converted ONNX model or its path)."
    pipeline, model = answer
    from sklearn.ensemble import RandomForestClassifier

    step = getattr(pipeline, "steps", [(None, None)])[-1][1]
    if not isinstance(step, RandomForestClassifier):
        return f"the pipeline's last step is {type(step).__name__}, not a RandomForestClassifier."
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    if "TreeEnsembleClassifier" not in {n.op_type for n in model.graph.node} and \
            "TreeEnsemble" not in {n.op_type for n in model.graph.node}:
        return "the ONNX model has no tree ensemble: convert the forest's pipeline, not `pipe`."
    labels = np.asarray(outputs(model, feed)[0]).ravel()
    agree = float((labels == pipeline.predict(X_test)).mean())
    if agree < 0.95:
        return f"only {agree:.0%} of the ONNX labels equal the pipeline's: convert the pipeline you fitted, with the same inputs."
    return None


@exercise("12.2", "send one row with contract='ten-year' to ONNX Runtime; answer its probabilities")
def _check_unknown_category(answer: Any, *, pipe: Any, row: Any) -> str | None:
    unseen = row.copy()
    unseen["contract"] = "ten-year"
    expected = pipe.predict_proba(unseen)
    got = np.asarray(answer, dtype=np.float64) if isinstance(answer, (np.ndarray, list)) else None  # noqa: UP038
    if got is None or got.shape != expected.shape:
        return f"answer the probabilities array ONNX Runtime returned, shape {expected.shape} (a model with zipmap=False)."
    if np.allclose(got, pipe.predict_proba(row), atol=1e-5) and not np.allclose(expected, pipe.predict_proba(row)):
        return "these are the probabilities of the original row: set contract to 'ten-year' in the feed."
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        return "these are not the probabilities of the row with contract='ten-year': feed the other columns unchanged."
    return None
