"""helpers.runtime: the session builder, and input validation that names the expected input."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import runtime
from tests.unit.models import linear_model


@pytest.fixture
def linear_session():
    return runtime.make_session(linear_model())


@pytest.fixture
def two_io_session():
    return runtime.make_session(runtime.make_two_io_model(opset=17))


@pytest.mark.parametrize(
    ("feeds", "match"),
    [
        ({"x": np.ones((2, 4))}, r"Input 'x' expects tensor\(float\) \(numpy float32\) with shape \[batch, 4\], "
                                 r"but got float64 .* x\.astype\(np\.float32\)"),
        ({"x": np.ones(4, dtype=np.float32)}, r"Input 'x' expects rank 2 \[batch, 4\], but got rank 1 .* x\[None\]"),
        ({"x": np.ones((2, 5), dtype=np.float32)}, r"Input 'x' expects shape \[batch, 4\], but axis 1 has size 5"),
        ({}, r"Missing input\(s\) \['x'\]\. The model expects x: tensor\(float\) \[batch, 4\]"),
        ({"x": np.ones((1, 4), dtype=np.float32), "y": np.ones(1)}, r"Unknown input\(s\) \['y'\]"),
    ],
    ids=["wrong dtype", "wrong rank", "wrong fixed dim", "missing", "unknown"],
)
def test_validate_inputs_names_the_input_and_the_fix(linear_session, feeds, match):
    with pytest.raises(runtime.InputError, match=match):
        runtime.validate_inputs(linear_session, feeds)


def test_validate_inputs_accepts_any_size_on_symbolic_dims(linear_session):
    for batch in (1, 7):
        feeds = runtime.validate_inputs(linear_session, {"x": np.zeros((batch, 4), dtype=np.float32)})
        assert feeds["x"].shape == (batch, 4)


def test_validate_inputs_rejects_a_list_of_arrays_with_the_input_names(linear_session):
    with pytest.raises(runtime.InputError, match=r"dict \{input name: array\}.*\['x'\]"):
        runtime.validate_inputs(linear_session, [np.zeros((1, 4), dtype=np.float32)])


def test_session_checks_before_onnxruntime_sees_the_feed(two_io_session):
    s = runtime.Session(two_io_session)
    with pytest.raises(runtime.InputError, match=r"Missing input\(s\) \['weights'\].*features: tensor\(float\)"):
        s.run({"features": np.ones((1, 4), dtype=np.float32)})
    out = s(np.array([[1, 2, 3, 4]], dtype=np.float32), np.ones(4, dtype=np.float32))
    assert out["weighted_sum"].tolist() == [10.0] and out["is_positive"].tolist() == [True]
    assert list(s.run({"features": np.ones((1, 4), np.float32), "weights": -np.ones(4, np.float32)},
                      ["is_positive"])) == ["is_positive"]
    with pytest.raises(runtime.InputError, match="no output"):
        s.run({"features": np.ones((1, 4), np.float32), "weights": np.ones(4, np.float32)}, ["nope"])


def test_onnxruntime_itself_gives_a_terser_error(linear_session):
    raw = runtime.capture_error(linear_session.run, None, {"x": np.ones((2, 4))})
    assert not raw.startswith("InputError") and "tensor(double)" in raw


def test_capture_error_refuses_a_call_that_does_not_fail():
    with pytest.raises(AssertionError, match="did not raise"):
        runtime.capture_error(lambda: None)


def test_make_session_options(tmp_path):
    opt = tmp_path / "opt.onnx"
    s = runtime.make_session(linear_model(), intra_op_threads=1, parallel=True, inter_op_threads=2,
                             optimization="basic", optimized_path=opt, memory_arena=False, spinning=False)
    assert s.run(None, {"x": np.ones((1, 4), np.float32)})[0].shape == (1, 3)
    assert opt.exists()
    applied = s.get_session_options()
    assert (applied.intra_op_num_threads, applied.inter_op_num_threads) == (1, 2)
    assert applied.execution_mode.name == "ORT_PARALLEL" and applied.graph_optimization_level.name == "ORT_ENABLE_BASIC"
    assert not applied.enable_cpu_mem_arena and not applied.enable_profiling
    assert applied.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    default = runtime.make_session(linear_model()).get_session_options()
    assert default.graph_optimization_level.name == "ORT_ENABLE_ALL" and default.enable_cpu_mem_arena
    with pytest.raises(ValueError, match="optimization='fast'"):
        runtime.make_session(linear_model(), optimization="fast")
    with pytest.raises(FileNotFoundError, match="No ONNX file"):
        runtime.make_session(tmp_path / "missing.onnx")
