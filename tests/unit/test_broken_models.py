"""Files the workbook did not make: every public entry point that takes a model gives one clear error.

The corpus (tests/unit/broken_models.py) holds mutated copies of a good tiny model. Each helper that
takes a model (inspect, verify, runtime, visualize) must raise ``NotAnOnnxModelError`` reading
"<file> is not a valid ONNX model: <what>, at <where>" (``FileNotFoundError`` for a path with nothing
there), never ONNX Runtime's raw ``InvalidProtobuf``, a ``KeyError``, ``TypeError`` or numpy error.
"""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
import pytest

from helpers import inspect, runtime, verify, visualize
from helpers.inspect import NotAnOnnxModelError
from tests.unit import broken_models
from tests.unit.endpoint_models import load_scoring
from tests.unit.models import linear_model, linear_reference

X = np.random.RandomState(0).rand(4, 4).astype(np.float32)

ENTRY_POINTS = {
    "inspect.load_model": lambda p, tmp: inspect.load_model(p),
    "inspect.summarize_model": lambda p, tmp: inspect.summarize_model(p),
    "verify.run_onnx": lambda p, tmp: verify.run_onnx(p, X),
    "verify.check_conversion": lambda p, tmp: verify.check_conversion(
        p, X, linear_reference(X), name="corpus", framework="numpy", converter="onnx", record=False),
    "runtime.make_session": lambda p, tmp: runtime.make_session(p),
    "runtime.Session": lambda p, tmp: runtime.Session(p),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return broken_models.make_corpus(tmp_path_factory.mktemp("corpus"))


def _assert_clear(err: BaseException, case: str, path: Path) -> None:
    if case == broken_models.MISSING_FILE:
        assert isinstance(err, FileNotFoundError) and "No ONNX file at" in str(err), repr(err)
        return
    assert isinstance(err, NotAnOnnxModelError), f"{type(err).__module__}.{type(err).__name__}: {err}"
    message = str(err)
    assert "is not a valid ONNX model: " in message and ", at " in message, message
    assert path.name in message, message


def test_the_corpus_holds_every_case(corpus):
    assert set(corpus) == set(broken_models.CASES) and len(corpus) == 14


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("case", broken_models.CASES)
def test_every_entry_point_gives_one_clear_error_for_every_broken_model(corpus, case, entry, tmp_path):
    path = corpus[case]
    with pytest.raises(Exception) as caught:
        ENTRY_POINTS[entry](path, tmp_path)
    _assert_clear(caught.value, case, path)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_entry_point_accepts_the_good_model_the_corpus_is_made_from(entry, tmp_path):
    import onnx

    path = tmp_path / "good.onnx"
    onnx.save(linear_model(), path)
    ENTRY_POINTS[entry](path, tmp_path)
    external = tmp_path / "ext" / "good.onnx"
    external.parent.mkdir()
    onnx.save(linear_model(), external, save_as_external_data=True, location="good.onnx.data", size_threshold=0)
    ENTRY_POINTS[entry](external, tmp_path)


@pytest.mark.parametrize("case", broken_models.CASES)
def test_the_scoring_module_refuses_every_broken_model_clearly(corpus, case):
    """The scorer may use its own error type, but must name the file and not be ONNX Runtime's raw error."""
    scoring = load_scoring()
    path = corpus[case]
    with pytest.raises(Exception) as caught:
        scoring.OnnxScorer(path)
    err = caught.value
    assert "onnxruntime" not in type(err).__module__, f"raw ONNX Runtime error: {type(err).__name__}: {err}"
    assert not isinstance(err, (UnicodeDecodeError, MemoryError, KeyError, TypeError)), repr(err)
    assert path.name in str(err), str(err)


def test_the_validator_accepts_every_model_onnx_ships_for_its_backend_tests():
    """No false alarms: the models of onnx's own backend test suite all load."""
    import onnx

    folder = Path(onnx.__file__).parent / "backend" / "test" / "data"
    files = sorted(glob.glob(str(folder / "**" / "*.onnx"), recursive=True))
    assert len(files) > 50, f"onnx ships fewer backend test models than expected in {folder}"
    for file in files:
        inspect.load_model(file, load_external_data=False)


@pytest.mark.parametrize(
    ("case", "phrase"),
    [("unknown_element_type_initializer", "element type 99, which ONNX does not define"),
     ("bad_utf8_op_type", "is not valid UTF-8, at graph.node[0].op_type"),
     ("bad_utf8_attribute_name", "at graph.node[2].attribute[0].name"),
     ("malformed_raw_tensor", "raw_data size (11 bytes) is too small for the declared shape and type (12 bytes "
                              "required), at graph.initializer[1]"),
     ("overflowing_dims", "Tensor dimension product overflow (tensor name: W), at graph.initializer[0]"),
     ("short_external_data", "holds 10 bytes, but tensor 'W' needs 48"),
     ("missing_external_data", "is missing"),
     ("directory", "it is a folder"),
     ("empty", "the file is empty")],
)
def test_the_message_says_what_is_wrong_and_where(corpus, case, phrase):
    with pytest.raises(NotAnOnnxModelError) as caught:
        inspect.summarize_model(corpus[case])
    assert phrase in str(caught.value)


def test_a_file_found_valid_is_checked_again_once_it_changes(tmp_path):
    import onnx

    path = tmp_path / "model.onnx"
    onnx.save(linear_model(), path)
    runtime.make_session(path)
    inspect.ensure_valid_model(path)  # cached: not read again
    path.write_bytes(path.read_bytes()[:40])  # replaced by a truncated copy
    with pytest.raises(NotAnOnnxModelError, match="model.onnx is not a valid ONNX model"):
        runtime.make_session(path)


@pytest.mark.parametrize("case", broken_models.CASES)
def test_netron_and_the_picture_refuse_a_broken_model_before_starting_anything(corpus, case):
    for entry in (visualize.open_in_netron, visualize.NetronRenderer(prelaunch=False).draw):
        with pytest.raises(Exception) as caught:
            entry(corpus[case])
        _assert_clear(caught.value, case, corpus[case])
    assert visualize.running_views() == []
