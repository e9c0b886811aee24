"""Checks of the exercises of notebooks/10_export_pytorch.ipynb; reference solutions in exercises/solutions/10_export_pytorch.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from exercises import answer_file, exercise, outputs


@exercise("10.1", "save the dynamo export as ONE file (external_data=False); answer its path")
def _check_single_file(answer: Any, *, X: np.ndarray, logits: np.ndarray) -> str | None:
    import onnx

    hint = answer_file(answer)
    if hint:
        return hint
    proto = onnx.load(str(answer), load_external_data=False)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer):
        return "the weights still live in a .data file: save with external_data=False."
    got = outputs(answer, X)[0]
    if got.shape != logits.shape or not np.allclose(got, logits, rtol=1e-4, atol=1e-5):
        return "the file does not compute the notebook's logits: export `model`, the trained CNN."
    return None


@exercise("10.2", "export AutoScale written with torch.cond, with dynamo=True; answer the file's path")
def _check_cond(answer: Any, *, X: np.ndarray, logits: np.ndarray) -> str | None:
    import onnx

    hint = answer_file(answer)
    if hint:
        return hint
    ops = {n.op_type for n in onnx.load(str(answer), load_external_data=False).graph.node}
    if "If" not in ops:
        return "the graph has no If node: torch.cond becomes an ONNX If only with dynamo=True."
    for name, x in (("scaled", X), ("raw (x 16)", X * 16)):
        got = outputs(answer, x)[0]
        if got.shape != logits.shape or not np.allclose(got, logits, rtol=1e-4, atol=1e-5):
            return (f"on {name} images the file does not give the CNN's logits: the true branch divides by 16, "
                    "the false one returns x unchanged.")
    return None


@exercise("10.3", "ask for opset 17 as the notebook's second cell does; answer the error you caught")
def _check_opset_refusal(answer: Any) -> str | None:
    if not isinstance(answer, BaseException):
        return "answer the exception itself (`except ValueError as err: answer = err`), not its text or a value."
    if not isinstance(answer, ValueError):
        return f"check_parameter raises ValueError; you caught {type(answer).__name__}."
    message = str(answer)
    if "opset=17" not in message or "18 to 23" not in message:
        return "this is not the refusal of opset=17 (range 18 to 23): call check_parameters with opset 17, as cell 2 does."
    if "TorchScript" not in message:
        return "check through the notebook's own parameters cell: its comment tells you what to do instead."
    return None
