"""helpers.opset: read operator versions and what an upgrade changed; the CNTK-era stand-in (both kernels)."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper, version_converter

from helpers import opset as opset_tools
from helpers.verify import compare_outputs, run_onnx
from tests.unit.models import linear_model

FEATURES = np.random.RandomState(1).rand(32, 64).astype(np.float32)


def test_opset_of_reads_the_default_domain_opset():
    assert opset_tools.opset_of(linear_model(opset=9)) == 9


def test_a_missing_file_is_named():
    with pytest.raises(FileNotFoundError, match="No ONNX file at /no/such/model.onnx"):
        opset_tools.opset_of("/no/such/model.onnx")


def test_the_old_opset_classifier_uses_the_pre_13_softmax_meaning():
    model = opset_tools.old_opset_classifier(opset=9)
    assert model.ir_version == 4 and opset_tools.opset_of(model) == 9
    probabilities = run_onnx(model, FEATURES)["probabilities"]
    assert probabilities.shape == (32, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)  # normalized over all 10, not per axis


def test_the_old_opset_classifier_refuses_an_opset_outside_its_era():
    with pytest.raises(ValueError, match="opset must be between 7 and 12"):
        opset_tools.old_opset_classifier(opset=13)


def test_version_converter_keeps_the_old_softmax_meaning_through_opset_13():
    model = opset_tools.old_opset_classifier(opset=9)
    upgraded = version_converter.convert_version(model, 21)
    result = compare_outputs(run_onnx(model, FEATURES), run_onnx(upgraded, FEATURES), rtol=1e-6, atol=1e-7)
    assert result.passed, result
    changes = {row["operator"]: row for row in opset_tools.operator_changes(model, upgraded).rows}
    assert changes["Softmax"]["definition before"] == 1 and changes["Softmax"]["definition after"] == 13
    assert changes["Flatten"]["nodes (opset 9)"] == 0 and changes["Flatten"]["nodes (opset 21)"] == 1


def test_operator_versions_lists_each_operator_with_its_definition_version():
    rows = {r["operator"]: r for r in opset_tools.operator_versions(linear_model(opset=9)).rows}
    assert rows["MatMul"] == {"operator": "MatMul", "nodes": 1, "definition version": 9}
    assert rows["Add"]["definition version"] == 7


def test_weights_listed_as_inputs_are_found():
    model = linear_model(opset=13)
    assert opset_tools.weights_listed_as_inputs(model) == []
    model.graph.input.extend([helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                              for t in model.graph.initializer])  # the IR-3 habit of old exporters
    assert opset_tools.weights_listed_as_inputs(model) == ["W", "b"]
