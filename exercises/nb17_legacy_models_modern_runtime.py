"""Checks of the exercises of notebooks/17_legacy_models_modern_runtime.ipynb; reference solutions in exercises/solutions/17_legacy_models_modern_runtime.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from exercises import changed_definitions, exercise, load_onnx, pair_hint


@exercise("17.1", "upgrade the MXNet file to target_opset and verify; answer (the upgraded model, the operators that moved)")
def _check_mxnet_upgrade(answer: Any, *, export: Any, target_opset: int) -> str | None:
    from helpers.opset import opset_of
    from helpers.verify import run_onnx

    hint = pair_hint(answer, 2, "the upgraded model (or its path), and the set of operator types whose definitions moved")
    if hint:
        return hint
    upgraded, moved = answer
    model = load_onnx(upgraded)
    if opset_of(model) != target_opset:
        return f"the model declares opset {opset_of(model)}: convert_version(model, target_opset) with {target_opset}."
    original = min(export.models, key=lambda m: m.opset)
    got = list(run_onnx(model, list(export.inputs.values())).values())[0]
    want = list(export.outputs.values())[0]
    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-4, atol=1e-5):
        return "the upgraded model does not reproduce MXNet's logits from the manifest: upgrade the MXNet file, not another."
    if not isinstance(moved, (set, frozenset, list, tuple)) or set(moved) != changed_definitions(original.path, model):
        return "not the operators whose definition version moved: read the 'definition before/after' columns of operator_changes."
    return None


@exercise("17.2", "upgrade the opset-7 classifier in one step and in two; answer (one step, two steps, same nodes?)")
def _check_two_paths(answer: Any, *, target_opset: int) -> str | None:
    from helpers.opset import old_opset_classifier, opset_of
    from helpers.verify import run_onnx

    hint = pair_hint(answer, 3, "the model upgraded in one step, the one upgraded via 13, and True or False: same nodes")
    if hint:
        return hint
    one, two, same = answer
    one, two = load_onnx(one), load_onnx(two)
    if one.SerializeToString() == two.SerializeToString():
        from onnx import version_converter

        seven = old_opset_classifier(opset=7)
        if (version_converter.convert_version(seven, target_opset).SerializeToString() !=
                version_converter.convert_version(version_converter.convert_version(seven, 13), target_opset)
                .SerializeToString()):
            return ("your two models are byte for byte the same, and the two paths are not: convert the opset-7 "
                    "model once to target_opset, and separately to 13 and then to target_opset.")
    if opset_of(one) != target_opset or opset_of(two) != target_opset:
        return f"both models should end at target_opset ({target_opset}); they declare {opset_of(one)} and {opset_of(two)}."
    features = np.random.RandomState(7).rand(32, 64).astype(np.float32)
    want = run_onnx(old_opset_classifier(opset=7), features)["probabilities"]
    for label, model in (("one step", one), ("two steps", two)):
        got = run_onnx(model, features)["probabilities"]
        if not np.allclose(got, want, rtol=1e-5, atol=1e-6):
            return f"the {label} model does not compute what old_opset_classifier(opset=7) computes: upgrade that model."
    if not isinstance(same, (bool, np.bool_)):
        return "the third item is True or False."
    if bool(same) != ([n.op_type for n in one.graph.node] == [n.op_type for n in two.graph.node]):
        return "compare the two lists of node op_types again."
    return None
