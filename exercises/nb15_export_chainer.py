"""Checks of the exercises of notebooks/15_export_chainer.ipynb; reference solutions in exercises/solutions/15_export_chainer.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from exercises import exercise, load_onnx, onnx_session, pair_hint


@exercise("15.1", "export at opset 6; answer (onnx_chainer's warning text, the error ONNX Runtime raises on the file)")
def _check_opset6(answer: Any) -> str | None:
    hint = pair_hint(answer, 2, "the text of the warning onnx_chainer gives, and the exception ONNX Runtime raises")
    if hint:
        return hint
    warning, error = answer
    text = str(getattr(warning, "message", warning))
    if "opset_version" not in text or "7 ~ 11" not in text:
        return ("that is not onnx_chainer's warning about the opset: record it with "
                "warnings.catch_warnings(record=True) and warnings.simplefilter('always').")
    if not isinstance(error, Exception):
        return "the second item should be the exception ONNX Runtime raised (except Exception as err: ...)."
    if not type(error).__module__.startswith("onnxruntime"):
        return (f"a {type(error).__name__} you made is not ONNX Runtime's: create an ort.InferenceSession for the "
                "opset-6 file and keep the exception it raises (its class lives in onnxruntime).")
    if "NOT_IMPLEMENTED" not in str(error) and "Could not find an implementation" not in str(error):
        return "not the error of loading the opset-6 file: create an ort.InferenceSession for it and keep what it raises."
    return None


@exercise("15.2", "let L.Linear flatten, export; answer (the ONNX path, whether it accepts a batch of 5)")
def _check_linear_flatten(answer: Any, *, X: np.ndarray) -> str | None:
    import onnx

    hint = pair_hint(answer, 2, "the path of the new ONNX file, and True or False: does it run a batch of 5")
    if hint:
        return hint
    path, accepts = answer
    model = load_onnx(path)
    constants = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            constants[node.output[0]] = onnx.numpy_helper.to_array(node.attribute[0].t)
    shapes = [constants.get(n.input[1]) for n in model.graph.node if n.op_type == "Reshape" and len(n.input) > 1]
    if not any(s is not None and s.size and s.ravel()[0] != -1 for s in shapes):
        return "this graph's Reshape keeps the batch free (-1): export the model whose fc1 gets the 4-D input itself."
    if not isinstance(accepts, (bool, np.bool_)):
        return "answer True or False for the batch of 5."
    session = onnx_session(model)
    try:
        session.run(None, {session.get_inputs()[0].name: X[:5].astype(np.float32)})
        ran = True
    except Exception:
        ran = False
    if bool(accepts) != ran:
        return "run it: feed X_test[:5] to an InferenceSession of the file and see whether it returns (5, 10) logits."
    return None
