"""Checks of the exercises of notebooks/16_export_mxnet.ipynb; reference solutions in exercises/solutions/16_export_mxnet.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from exercises import changed_definitions, exercise, load_onnx, pair_hint


@exercise("16.1", "add BatchNorm, retrain, export; answer (the net, the ONNX path, the operator that appears)")
def _check_batchnorm(answer: Any, *, X: np.ndarray, reference: Any) -> str | None:
    from helpers.verify import run_onnx

    hint = pair_hint(answer, 3, "the retrained Gluon net, the path of its ONNX file, and the new operator's name")
    if hint:
        return hint
    net, path, op = answer
    new_ops = {n.op_type for n in load_onnx(path).graph.node} - {n.op_type for n in load_onnx(reference).graph.node}
    if not new_ops:
        return "this file has no operator the original lacks: add gluon.nn.BatchNorm() to the net and export it."
    if op not in new_ops:
        return "that operator was already in the original graph, or is not in yours: compare the two sets of op_type."
    import mxnet as mx

    want = net(mx.nd.array(X)).asnumpy()
    got = list(run_onnx(path, [X.astype(np.float32)]).values())[0]
    if not np.allclose(got, want, rtol=1e-4, atol=1e-5) or not np.array_equal(got.argmax(1), want.argmax(1)):
        return ("ONNX Runtime and the net differ beyond rtol=1e-4, atol=1e-5: export the net you answer, after "
                "training, and predict outside autograd.record().")
    return None


@exercise("16.2", "export at the other opset (12 or 13); answer (its path, the operators whose definitions differ)")
def _check_other_opset(answer: Any, *, reference: Any) -> str | None:
    from helpers.opset import opset_of

    hint = pair_hint(answer, 2, "the path of the file at the other opset, and the set of operator types that changed")
    if hint:
        return hint
    path, changed = answer
    mine, theirs = opset_of(load_onnx(path)), opset_of(load_onnx(reference))
    if mine not in (12, 13) or mine == theirs:
        return f"the file declares opset {mine}; export at {25 - theirs}, the other opset MXNet's converters know."
    if not isinstance(changed, (set, frozenset, list, tuple)):
        return "answer the operator types as a set of strings, e.g. {'Conv'}."
    if set(changed) != changed_definitions(reference, path):
        return "not the operators whose definition version differs: read the 'changed' column of operator_changes."
    return None
