"""Opsets over time: read a model's operator versions, upgrade it to a newer opset, see what changed.

An ONNX file made years ago by a framework that no longer runs (CNTK, Chainer, an old MXNet) is
still a standard file: load it, check it, move it to a current opset with
``onnx.version_converter``, and verify that it computes the same thing. Introduced in
notebooks/17_legacy_models_modern_runtime.ipynb; works in both kernels (onnx 1.18 and 1.23).

>>> from helpers.opset import upgrade_opset          # doctest: +SKIP
>>> new = upgrade_opset("old_model.onnx", 21)        # doctest: +SKIP
>>> operator_changes("old_model.onnx", new)          # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any, Union

import numpy as np

from helpers.report import Table

__all__ = [
    "OpsetUpgradeError",
    "load_model",
    "opset_of",
    "operator_versions",
    "operator_changes",
    "upgrade_opset",
    "restamp_opset",
    "weights_listed_as_inputs",
    "drop_weights_from_inputs",
    "old_opset_classifier",
]

ModelLike = Union[str, "os.PathLike[str]", Any]  # a path or an onnx.ModelProto


class OpsetUpgradeError(RuntimeError):
    """``onnx.version_converter`` could not move a model to the requested opset."""


def load_model(model: ModelLike) -> Any:
    """An ``onnx.ModelProto`` from a path or a model (a model is returned as is).

    Raises ``FileNotFoundError`` naming the path when there is no file.
    """
    import onnx

    if hasattr(model, "graph"):
        return model
    if not os.path.exists(model):
        raise FileNotFoundError(f"No ONNX file at {model}; check the path, or run the notebook that exports it.")
    return onnx.load(os.fspath(model))


def opset_of(model: ModelLike) -> int:
    """The default-domain (``ai.onnx``) opset a model declares.

    >>> from tests.unit.models import linear_model   # doctest: +SKIP
    >>> opset_of(linear_model(opset=9))               # doctest: +SKIP
    9
    """
    proto = load_model(model)
    for entry in proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
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
    """One row per operator type: how often it occurs and which version of its definition applies.

    An operator's version is the newest definition at or below the model's opset (its ``since_version``).
    """
    proto = load_model(model)
    counts = Counter(n.op_type for n in proto.graph.node if n.domain in ("", "ai.onnx"))
    versions = _since_versions(proto)
    rows = [{"operator": op, "nodes": counts[op], "definition version": versions[op]} for op in counts]
    return Table(rows, title=f"Operators at opset {opset_of(proto)}")


def operator_changes(before: ModelLike, after: ModelLike) -> Table:
    """Compare the operators of a model before and after an upgrade: counts and definition versions.

    A row whose definition version moved is an operator whose meaning or signature may have changed;
    a row that appears or disappears was added or removed by the converter's adapters.
    """
    old, new = load_model(before), load_model(after)
    c_old = Counter(n.op_type for n in old.graph.node)
    c_new = Counter(n.op_type for n in new.graph.node)
    v_old, v_new = _since_versions(old), _since_versions(new)
    rows = []
    for op in dict.fromkeys([*c_old, *c_new]):
        rows.append({
            "operator": op,
            f"nodes (opset {opset_of(old)})": c_old.get(op, 0),
            f"nodes (opset {opset_of(new)})": c_new.get(op, 0),
            "definition before": v_old.get(op),
            "definition after": v_new.get(op),
            "changed": v_old.get(op) != v_new.get(op) or c_old.get(op, 0) != c_new.get(op, 0),
        })
    return Table(rows, title=f"Opset {opset_of(old)} -> {opset_of(new)}: what changed")


def upgrade_opset(model: ModelLike, target_opset: int, check: bool = True) -> Any:
    """Convert a model to ``target_opset`` with ``onnx.version_converter``; returns a new ModelProto.

    model: a path or ModelProto (not modified).
    target_opset: the ai.onnx opset to reach; it must not be lower than the model's.
    check: run ``onnx.checker.check_model`` on the result.

    The converter rewrites operators whose definition changed (e.g. Softmax's axis semantics at 13,
    attributes that became inputs). It does not prove the result is equivalent: verify the outputs.

    >>> upgraded = upgrade_opset("chainer_opset9.onnx", 21)   # doctest: +SKIP
    """
    import onnx
    from onnx import version_converter

    proto = load_model(model)
    current = opset_of(proto)
    latest = onnx.defs.onnx_opset_version()
    if target_opset < current:
        raise ValueError(
            f"The model is at opset {current}; {target_opset} would be a downgrade. "
            f"Pass a target_opset between {current} and {latest}."
        )
    if target_opset > latest:
        raise ValueError(
            f"onnx {onnx.__version__} knows opsets up to {latest}, not {target_opset}; pass a lower target_opset."
        )
    try:
        upgraded = version_converter.convert_version(proto, target_opset)
    except Exception as err:
        raise OpsetUpgradeError(
            f"onnx.version_converter could not take the model from opset {current} to {target_opset}: "
            f"{str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}. "
            "Try a nearer target opset, or re-export from the source framework if it still runs."
        ) from err
    if check:
        onnx.checker.check_model(upgraded)
    return upgraded


def restamp_opset(model: ModelLike, opset: int) -> Any:
    """The WRONG way to upgrade, for demonstration: change the declared opset and nothing else.

    Returns a copy whose nodes are unchanged but are now read with ``opset``'s definitions; the result
    may fail the checker or, worse, load and compute something else.
    """
    import onnx

    proto = onnx.ModelProto()
    proto.CopyFrom(load_model(model))
    for entry in proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            entry.version = opset
    return proto


def weights_listed_as_inputs(model: ModelLike) -> list[str]:
    """Initializers that are also graph inputs (an old exporters' habit; ONNX Runtime warns about it)."""
    proto = load_model(model)
    inits = {t.name for t in proto.graph.initializer}
    return [i.name for i in proto.graph.input if i.name in inits]


def drop_weights_from_inputs(model: ModelLike) -> Any:
    """A copy whose graph inputs no longer list the initializers, so runtimes treat weights as constants.

    Needs IR version 4 or newer (where initializers need not be inputs); older files are raised to 4.
    """
    import onnx

    proto = onnx.ModelProto()
    proto.CopyFrom(load_model(model))
    inits = {t.name for t in proto.graph.initializer}
    keep = [i for i in proto.graph.input if i.name not in inits]
    del proto.graph.input[:]
    proto.graph.input.extend(keep)
    proto.ir_version = max(proto.ir_version, 4)
    return proto


def old_opset_classifier(opset: int = 9, n_features: int = 64, n_classes: int = 10, seed: int = 0) -> Any:
    """A small classifier built the way 2017-2019 exporters (CNTK 2.x, Chainer) wrote models, at an old opset.

    MatMul/Add layers, BatchNormalization, Dropout with its ``ratio`` attribute (an input since opset 12)
    and a Softmax over a 3-D tensor with ``axis=1`` (before opset 13 that flattens everything after axis 1;
    from 13 it normalizes one axis only). Weights are seeded random numbers: a stand-in for a model
    whose framework is gone. Output ``probabilities`` has shape (batch, n_classes), each row sums to 1.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if not 7 <= opset <= 12:
        raise ValueError(f"opset must be between 7 and 12 (the era this stand-in imitates), got {opset}.")
    if n_classes % 2:
        raise ValueError(f"n_classes must be even (the Softmax runs on a (batch, 2, n_classes/2) view), got {n_classes}.")
    rng = np.random.RandomState(seed)
    hidden = 32
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
