"""Opsets over time: the workbook's one opset reader, and what an upgrade with ``onnx.version_converter`` changed.

Notebooks 15-17 use it (both kernels). Introduced in notebooks/17_legacy_models_modern_runtime.ipynb.

Example::

    new = onnx.version_converter.convert_version(onnx.load("old_model.onnx"), 21)
    operator_changes("old_model.onnx", new)
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any, Union

import numpy as np

from helpers.inspect import load_model
from helpers.report import Table

ModelLike = Union[str, "os.PathLike[str]", Any]  # a path or an onnx.ModelProto


_RAISE = object()


def opset_of(model: ModelLike, default: Any = _RAISE) -> int:
    """The ai.onnx opset a model declares (domain ``""`` or ``"ai.onnx"``).

    default: returned when the model imports none (classic ML models may import only ``ai.onnx.ml``);
        without it that raises ``ValueError``.

    >>> import onnx
    >>> graph = onnx.helper.make_graph([], "empty", [], [])
    >>> opset_of(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("ai.onnx", 9)]))
    9
    >>> opset_of(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("ai.onnx.ml", 3)]), None)
    """
    proto = load_model(model, load_external_data=False)
    for entry in proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    if default is not _RAISE:
        return default
    raise ValueError("The model imports no ai.onnx opset (only custom domains); it has no standard opset to read.")


def _since_versions(proto: Any) -> dict[str, int]:
    """{op type: the version of its definition that the model's opset selects}."""
    from onnx import defs

    opset = opset_of(proto)
    versions = {}
    for node in proto.graph.node:
        if node.domain not in ("", "ai.onnx") or node.op_type in versions:
            continue
        try:
            versions[node.op_type] = defs.get_schema(node.op_type, opset, "").since_version
        except Exception:  # an operator the installed onnx does not know at this opset
            versions[node.op_type] = -1
    return versions


def operator_versions(model: ModelLike) -> Table:
    """One row per operator type: how often it occurs and the version of its definition (``since_version``)."""
    proto = load_model(model, load_external_data=False)
    counts = Counter(n.op_type for n in proto.graph.node if n.domain in ("", "ai.onnx"))
    versions = _since_versions(proto)
    rows = [{"operator": op, "nodes": counts[op], "definition version": versions[op]} for op in counts]
    return Table(rows, title=f"Operators at opset {opset_of(proto)}")


def operator_changes(before: ModelLike, after: ModelLike) -> Table:
    """The operators of a model before and after an upgrade: counts and definition versions.

    A moved definition version may mean a changed meaning or signature; a row that appears or disappears was
    added or removed by the converter's adapters.
    """
    old, new = (load_model(m, load_external_data=False) for m in (before, after))
    c_old, c_new = Counter(n.op_type for n in old.graph.node), Counter(n.op_type for n in new.graph.node)
    v_old, v_new = _since_versions(old), _since_versions(new)
    rows = [{"operator": op, f"nodes (opset {opset_of(old)})": c_old[op], f"nodes (opset {opset_of(new)})": c_new[op],
             "definition before": v_old.get(op), "definition after": v_new.get(op),
             "changed": v_old.get(op) != v_new.get(op) or c_old[op] != c_new[op]}
            for op in dict.fromkeys([*c_old, *c_new])]
    return Table(rows, title=f"Opset {opset_of(old)} -> {opset_of(new)}: what changed")


def weights_listed_as_inputs(model: ModelLike) -> list[str]:
    """Initializers that are also graph inputs (an old exporters' habit; ONNX Runtime warns about it)."""
    proto = load_model(model, load_external_data=False)
    inits = {t.name for t in proto.graph.initializer}
    return [i.name for i in proto.graph.input if i.name in inits]


def old_opset_classifier(opset: int = 9, seed: int = 0) -> Any:
    """A stand-in for a 2017-2019 export (CNTK, Chainer) at an old opset: 64 features, 10 classes, seeded weights.

    Dropout has its ``ratio`` attribute (an input since opset 12), and the Softmax over a 3-D tensor with
    ``axis=1`` flattens everything after axis 1 (from opset 13 it normalizes one axis only).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if not 7 <= opset <= 12:
        raise ValueError(f"opset must be between 7 and 12 (the era this stand-in imitates), got {opset}.")
    rng = np.random.RandomState(seed)
    n_features, hidden, n_classes = 64, 32, 10
    arrays = {
        "W1": rng.randn(n_features, hidden) * 0.3, "b1": rng.randn(hidden) * 0.1,
        "bn_scale": 1 + rng.rand(hidden) * 0.2, "bn_bias": rng.randn(hidden) * 0.1,
        "bn_mean": rng.randn(hidden) * 0.1, "bn_var": 1 + rng.rand(hidden),
        "W2": rng.randn(hidden, n_classes) * 0.3, "b2": rng.randn(n_classes) * 0.1,
    }
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in arrays.items()]
    inits += [numpy_helper.from_array(np.array([-1, 2, n_classes // 2], np.int64), "shape_3d"),
              numpy_helper.from_array(np.array([-1, n_classes], np.int64), "shape_2d")]
    nodes = [
        helper.make_node("MatMul", ["features", "W1"], ["h1"]),
        helper.make_node("Add", ["h1", "b1"], ["h2"]),
        helper.make_node("BatchNormalization", ["h2", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["h3"], epsilon=1e-5),
        helper.make_node("Relu", ["h3"], ["h4"]),
        helper.make_node("Dropout", ["h4"], ["h5"], ratio=0.2),
        helper.make_node("MatMul", ["h5", "W2"], ["h6"]),
        helper.make_node("Add", ["h6", "b2"], ["scores"]),
        helper.make_node("Reshape", ["scores", "shape_3d"], ["scores_3d"]),
        helper.make_node("Softmax", ["scores_3d"], ["probabilities_3d"], axis=1),
        helper.make_node("Reshape", ["probabilities_3d", "shape_2d"], ["probabilities"]),
    ]
    graph = helper.make_graph(
        nodes, "old_opset_classifier",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", n_features])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", n_classes])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="onnx-workbook (stand-in for a CNTK-era export)")
    model.ir_version = 4  # ONNX 1.3-1.4, the format of that era
    onnx.checker.check_model(model)
    return model
