"""helpers.opset: read operator versions, upgrade opsets, and show what a careless upgrade breaks (both kernels)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from helpers import opset as opset_tools
from helpers.verify import compare_outputs, run_onnx
from tests.unit.models import linear_model, linear_reference

X = np.random.RandomState(0).rand(16, 4).astype(np.float32)
FEATURES = np.random.RandomState(1).rand(32, 64).astype(np.float32)


def test_opset_of_reads_the_default_domain_opset():
    assert opset_tools.opset_of(linear_model(opset=9)) == 9


def test_upgrading_a_model_keeps_its_outputs_and_declares_the_new_opset():
    upgraded = opset_tools.upgrade_opset(linear_model(opset=9), 17)
    assert opset_tools.opset_of(upgraded) == 17
    result = compare_outputs(linear_reference(X), run_onnx(upgraded, X), rtol=1e-6, atol=1e-6)
    assert result.passed, result


def test_upgrade_does_not_modify_the_model_it_is_given():
    model = linear_model(opset=9)
    opset_tools.upgrade_opset(model, 17)
    assert opset_tools.opset_of(model) == 9


@pytest.mark.parametrize(("start", "target", "message"), [
    (13, 9, r"opset 13; 9 would be a downgrade\. Pass a target_opset between 13 and \d+"),
    (9, 999, r"knows opsets up to \d+, not 999; pass a lower target_opset"),
])
def test_an_impossible_target_opset_is_refused_with_the_fix(start, target, message):
    with pytest.raises(ValueError, match=message):
        opset_tools.upgrade_opset(linear_model(opset=start), target)


def test_an_operator_without_an_adapter_raises_an_upgrade_error_that_says_what_to_try():
    graph = helper.make_graph([helper.make_node("Crop", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 1)])
    with pytest.raises(opset_tools.OpsetUpgradeError, match=r"from opset 1 to 11: .*re-export from the source"):
        opset_tools.upgrade_opset(model, 11)


def test_a_missing_file_is_named():
    with pytest.raises(FileNotFoundError, match="No ONNX file at /no/such/model.onnx"):
        opset_tools.opset_of("/no/such/model.onnx")


def test_the_old_opset_classifier_uses_the_pre_13_softmax_meaning():
    model = opset_tools.old_opset_classifier(opset=9)
    assert model.ir_version == 4 and opset_tools.opset_of(model) == 9
    probabilities = run_onnx(model, FEATURES)["probabilities"]
    assert probabilities.shape == (32, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)  # normalized over all 10, not per axis


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"opset": 13}, "opset must be between 7 and 12"),
    ({"n_classes": 5}, "n_classes must be even"),
])
def test_the_old_opset_classifier_refuses_settings_outside_its_era(kwargs, message):
    with pytest.raises(ValueError, match=message):
        opset_tools.old_opset_classifier(**kwargs)


def test_version_converter_keeps_the_old_softmax_meaning_through_opset_13():
    model = opset_tools.old_opset_classifier(opset=9)
    upgraded = opset_tools.upgrade_opset(model, 21)
    result = compare_outputs(run_onnx(model, FEATURES), run_onnx(upgraded, FEATURES), rtol=1e-6, atol=1e-7)
    assert result.passed, result
    changes = {row["operator"]: row for row in opset_tools.operator_changes(model, upgraded).rows}
    assert changes["Softmax"]["definition before"] == 1 and changes["Softmax"]["definition after"] == 13
    assert changes["Flatten"]["nodes (opset 9)"] == 0 and changes["Flatten"]["nodes (opset 21)"] == 1


def test_restamping_the_opset_without_converting_fails_loudly_then_silently():
    model = opset_tools.old_opset_classifier(opset=9)
    restamped = opset_tools.restamp_opset(model, 21)
    assert opset_tools.opset_of(model) == 9, "restamp must copy, not modify"
    with pytest.raises(onnx.checker.ValidationError, match="Unrecognized attribute: ratio"):
        onnx.checker.check_model(restamped)
    for node in restamped.graph.node:
        if node.op_type == "Dropout":
            del node.attribute[:]
    result = compare_outputs(run_onnx(model, FEATURES), run_onnx(restamped, FEATURES))
    assert not result.passed and result.max_abs_err > 0.1


def test_operator_versions_lists_each_operator_with_its_definition_version():
    rows = {r["operator"]: r for r in opset_tools.operator_versions(linear_model(opset=9)).rows}
    assert rows["MatMul"] == {"operator": "MatMul", "nodes": 1, "definition version": 9}
    assert rows["Add"]["definition version"] == 7


def test_weights_listed_as_inputs_are_dropped_and_the_model_still_computes_the_same():
    model = linear_model(opset=13)
    model.graph.input.extend([helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                              for t in model.graph.initializer])  # the IR-3 habit of old exporters
    assert opset_tools.weights_listed_as_inputs(model) == ["W", "b"]
    clean = opset_tools.drop_weights_from_inputs(model)
    assert opset_tools.weights_listed_as_inputs(clean) == [] and [i.name for i in clean.graph.input] == ["x"]
    assert len(model.graph.input) == 3, "drop must copy, not modify"
    onnx.checker.check_model(clean)
    assert compare_outputs(linear_reference(X), run_onnx(clean, X)).passed
