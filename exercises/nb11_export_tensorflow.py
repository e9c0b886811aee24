"""Checks of the exercises of notebooks/11_export_tensorflow.ipynb; reference solutions in exercises/solutions/11_export_tensorflow.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from exercises import answer_file, exercise, outputs


@exercise("11.1", "convert the functional model with inputs_as_nchw=['image']; answer the file's path")
def _check_nchw(answer: Any, *, X_nchw: np.ndarray, probabilities: np.ndarray, not_one_of: Any = ()) -> str | None:
    import onnx

    hint = answer_file(answer, not_one_of=not_one_of)
    if hint:
        return hint
    graph = onnx.load(str(answer)).graph
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim][1:]
    if dims != [1, 8, 8]:
        return f"the input is {dims} after the batch, not NCHW [1, 8, 8]: pass inputs_as_nchw with the input's name."
    got = outputs(answer, X_nchw)[0]
    if got.shape != probabilities.shape or not np.allclose(got, probabilities, rtol=1e-4, atol=1e-5):
        return "the file does not give the functional model's probabilities on NCHW images: convert `functional`."
    return None


@exercise("11.2", "convert the functional model at opset 13; answer the file's path")
def _check_opset13(answer: Any, *, X: np.ndarray, probabilities: np.ndarray, not_one_of: Any = ()) -> str | None:
    hint = answer_file(answer, not_one_of=not_one_of)
    if hint:
        return hint
    from helpers.opset import opset_of

    opset = opset_of(answer)
    if opset != 13:
        return f"the file declares opset {opset}: pass opset=13 to from_keras."
    got = outputs(answer, X)[0]
    if got.shape != probabilities.shape or not np.allclose(got, probabilities, rtol=1e-4, atol=1e-5):
        return "the file does not give the functional model's probabilities: convert `functional` with `signature`."
    return None
