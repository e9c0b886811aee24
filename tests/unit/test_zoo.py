"""helpers.zoo: the light Model Zoo models shipped with onnx, fed exactly the inputs onnx's runner makes."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx.backend.test.runner import Runner

from helpers import zoo
from tests.unit.models import linear_model


def test_the_installed_onnx_ships_at_least_four_light_models_with_references_and_tolerances():
    models = zoo.light_models()
    assert len(models) >= 4
    for m in models:
        assert m.path.exists() and m.references, m.name
        assert 0 < m.rtol <= 1e-2 and 0 < m.atol <= 1e-5


@pytest.mark.parametrize("name", ["squeezenet", "resnet50", "zfnet512"])
def test_dummy_inputs_are_exactly_those_of_onnxs_backend_test_runner(name):
    light = zoo.light_model(name)
    proto = onnx.load(light.path)
    inits = {t.name for t in proto.graph.initializer}
    theirs = {x.name: Runner.generate_dummy_data(x, seed=0, name=name, random=False)
              for x in proto.graph.input if x.name not in inits}
    ours = zoo.dummy_inputs(light)
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert ours[key].dtype == theirs[key].dtype and np.array_equal(ours[key], theirs[key])


def test_an_unknown_model_name_lists_the_available_ones():
    with pytest.raises(KeyError, match="squeezenet"):
        zoo.light_model("mobilenet")


def test_onnx_runtime_matches_the_shipped_reference_of_squeezenet(tmp_build):
    result = zoo.check_light_model("squeezenet")
    assert result.passed and result.meta["framework"] == zoo.ZOO_FRAMEWORK
    assert result.rtol == 1e-3 and result.outputs[0].shape == (1, 1000, 1, 1)


def test_intermediate_parity_compares_every_float_tensor_of_the_graph(tmp_build):
    model = linear_model()
    x = {"x": np.arange(8, dtype=np.float32).reshape(2, 4)}
    result = zoo.intermediate_parity(model, x, name="linear intermediates", record=False)
    assert result.passed
    assert [o.name for o in result.outputs] == ["xw", "scores"]  # the int64 label is not a float tensor


def test_time_model_reports_session_first_and_median_run_times():
    light = zoo.light_model("squeezenet")
    t = zoo.time_model(light, zoo.dummy_inputs(light), runs=2)
    assert set(t) == {"session_s", "first_run_s", "median_run_s"} and all(v > 0 for v in t.values())
