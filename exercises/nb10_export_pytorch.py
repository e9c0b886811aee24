"""Checks of the exercises of notebooks/10_export_pytorch.ipynb; reference solutions in exercises/solutions/10_export_pytorch.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from exercises import answer_file, dynamo_made, exercise, outputs


def _logits_hint(path: Any, X: np.ndarray, logits: np.ndarray, what: str) -> str | None:
    got = outputs(path, X)[0]
    if got.shape != logits.shape or not np.allclose(got, logits, rtol=1e-4, atol=1e-5):
        return what
    return None


@exercise("10.1", "save the dynamo export as ONE file (external_data=False); answer its path")
def _check_single_file(answer: Any, *, X: np.ndarray, logits: np.ndarray, not_one_of: Any = ()) -> str | None:
    import onnx

    hint = answer_file(answer, not_one_of=not_one_of)
    if hint:
        return hint
    proto = onnx.load(str(answer), load_external_data=False)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer):
        return "the weights still live in a .data file: save with external_data=False."
    if not dynamo_made(proto):
        return ("this file was not written by the dynamo exporter (TorchScript writes one file anyway): save "
                "the ONNXProgram of section 3, or export with dynamo=True, external_data=False.")
    return _logits_hint(answer, X, logits, "the file does not compute the notebook's logits: export `model`, the trained CNN.")


@exercise("10.2", "export AutoScale written with torch.cond, with dynamo=True; answer the file's path")
def _check_cond(answer: Any, *, X: np.ndarray, logits: np.ndarray, not_one_of: Any = ()) -> str | None:
    import onnx

    hint = answer_file(answer, not_one_of=not_one_of)
    if hint:
        return hint
    ops = {n.op_type for n in onnx.load(str(answer), load_external_data=False).graph.node}
    if "If" not in ops:
        return "the graph has no If node: torch.cond becomes an ONNX If only with dynamo=True."
    for name, x in (("scaled", X), ("raw (x 16)", X * 16)):
        hint = _logits_hint(answer, x, logits, f"on {name} images the file does not give the CNN's logits: the true "
                                                "branch divides by 16, the false one returns x unchanged.")
        if hint:
            return hint
    return None


@exercise("10.3", "repair the opset-17 dynamo export by hand (drop noop_with_empty_axes); answer the repaired file's path")
def _check_repaired_opset17(answer: Any, *, broken: Any, X: np.ndarray, logits: np.ndarray,
                            not_one_of: Any = ()) -> str | None:
    import onnx

    from helpers.opset import opset_of

    hint = answer_file(answer, not_one_of=[broken, *([not_one_of] if isinstance(not_one_of, (str, Path)) else not_one_of)])  # noqa: UP038
    if hint:
        return hint
    model, original = onnx.load(str(answer)), onnx.load(str(broken))
    if opset_of(model) != opset_of(original):
        return (f"the file declares opset {opset_of(model)}: the task is the opset-{opset_of(original)} file the "
                "exporter wrote; edit its nodes, do not convert or re-export.")
    if [n.op_type for n in model.graph.node] != [n.op_type for n in original.graph.node]:
        return ("its nodes are not those of the broken dynamo export (path_17): load that file, edit the attribute of "
                "its ReduceMax node, keep every node.")
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as err:
        return f"the ONNX checker still refuses the file ({' '.join(str(err).split())[:160]})."
    for name, x in (("scaled", X), ("raw (x 16)", X * 16)):
        hint = _logits_hint(answer, x, logits, f"on {name} images the repaired file does not give the CNN's logits: "
                                                "remove the attribute, change nothing else.")
        if hint:
            return hint
    return None
