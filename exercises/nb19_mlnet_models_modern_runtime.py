"""Checks of the exercises of notebooks/19_mlnet_models_modern_runtime.ipynb; reference solutions in exercises/solutions/19_mlnet_models_modern_runtime.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any  # noqa: UP035 (Python 3.8 kernel)

from exercises import exercise, onnx_session
from helpers.opset import opset_of


@exercise("19.1", "export the iris pipeline at opset 13; answer (the model, the IR version skl2onnx wrote for it)")
def _check_ir_version(answer: Any, *, pipe: Any) -> str | None:
    import onnx
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    if not isinstance(answer, tuple) or len(answer) != 2 or not isinstance(answer[0], onnx.ModelProto):
        return "answer a pair: (the ModelProto to_onnx returned, its ir_version as written)."
    model, ir_version = answer
    if not isinstance(ir_version, int) or isinstance(ir_version, bool):
        return f"the IR version is a whole number (the model's ir_version field), not {type(ir_version).__name__}."
    opset = opset_of(model, default=None)
    if opset != 13:
        return f"the model declares ai.onnx opset {opset}: export with target_opset={{'': 13, 'ai.onnx.ml': 1}}."
    written = to_onnx(pipe, initial_types=[("x", FloatTensorType([None, 4]))],
                      target_opset={"": 13, "ai.onnx.ml": 1}, options={"zipmap": False}).ir_version
    if ir_version == 6 and written != 6:
        return "6 is what the notebook sets by hand for ML.NET: read ir_version before changing it."
    if model.ir_version != written:
        return (f"this model carries IR version {model.ir_version}, not what skl2onnx writes at opset 13: answer the "
                "model as to_onnx returned it, before any change.")
    if ir_version != model.ir_version:
        return "not the IR version of your model: read model.ir_version."
    return None


@exercise("19.2", "score the opset-13 file in ML.NET with its IR version as written; answer the exception")
def _check_ir_refused(answer: Any) -> str | None:
    if not isinstance(answer, BaseException):
        return ("answer the exception score_in_mlnet raised (`except RuntimeError as err: answer = err`); if it ran, "
                "check that the file keeps the IR version skl2onnx wrote.")
    if not isinstance(answer, RuntimeError):
        return f"a {type(answer).__name__} is raised before ML.NET sees the file: the job itself should fail (RuntimeError)."
    message = str(answer)
    if not message.startswith("The ML.NET job failed"):
        return ("this RuntimeError was not raised by the ML.NET job (mlnet.run_in_mlnet starts its message with "
                "'The ML.NET job failed'): call score_in_mlnet on the opset-13 file and keep what it raises.")
    if "model file format version" not in message:
        last = message.strip().splitlines()[-1][:120] if message.strip() else ""
        return (f"ML.NET failed for another reason ({last}): keep the fixed batch of 1 and only the probabilities "
                "output, and change nothing but the opset and the IR version.")
    return None


@exercise("19.3", "export the digits CNN for ML.NET's ONNX Runtime 1.2 (dynamo=False, opset 11, batch 1); answer the path")
def _check_cnn_for_mlnet(answer: Any, *, X: Any) -> str | None:
    import numpy as np
    import onnx

    path = Path(answer) if isinstance(answer, (str, Path)) else None
    if path is None or not path.is_file():
        return f"answer the path of the ONNX file you exported, not {answer!r}."
    model = onnx.load(str(path))
    opset = opset_of(model, default=0)
    if opset > 11:
        return f"the file declares opset {opset}; ONNX Runtime 1.2 stops at 11: pass opset_version=11 (dynamo=False)."
    if model.ir_version > 6:
        return f"IR version {model.ir_version}: ONNX Runtime 1.2 reads up to 6 ('Unknown model file format version')."
    for value in model.graph.input:
        dims = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in value.type.tensor_type.shape.dim]
        if any(not isinstance(d, int) or d < 1 for d in dims):
            return f"input {value.name} has dimensions {dims}: fix every one (a batch of 1), no dynamic_axes."
    session = onnx_session(path)
    rows = np.asarray(X, dtype=np.float32)[:3]
    name = session.get_inputs()[0].name
    for row in rows:
        scores = session.run(None, {name: row[None]})[0]
        if scores.shape != (1, 10) or not np.all(np.isfinite(scores)):
            return f"one image gives output shape {scores.shape}; expected 10 finite class scores (1, 10)."
    return None
