"""helpers.inspect summarizes models truthfully and refuses files that are not ONNX."""

from __future__ import annotations

import onnx
import pytest

from helpers.inspect import NotAnOnnxModelError, file_size_mb, summarize_model
from tests.unit.models import linear_model


def test_summary_reports_versions_io_operators_and_metadata(tmp_path):
    model = linear_model()
    onnx.helper.set_model_props(model, {"labels": "a,b,c"})
    path = tmp_path / "linear.onnx"
    onnx.save(model, path)
    s = summarize_model(path)
    assert s.ir_version == 8 and s.opsets == {"": 17}
    assert s.producer == "unit-test"
    assert [str(i) for i in s.inputs] == ["x: float32[batch, 4]"]
    assert [o.name for o in s.outputs] == ["scores", "label"] and s.outputs[1].dtype == "int64"
    assert s.operators == {"MatMul": 1, "Add": 1, "ArgMax": 1} and s.n_nodes == 3
    assert s.n_parameters == 15 and s.metadata == {"labels": "a,b,c"}
    assert s.checker_ok and s.shape_inference_ok
    assert s.size_bytes == path.stat().st_size
    assert "MatMul×1" in s.table().to_markdown()


def test_a_broken_graph_is_reported_not_raised():
    model = linear_model()
    model.graph.node[0].input[1] = "does_not_exist"
    s = summarize_model(model)
    assert not s.checker_ok
    assert "does_not_exist" in s.checker_message


def test_external_data_size_is_counted(tmp_path):
    model = linear_model()
    path = tmp_path / "ext.onnx"
    onnx.save(model, path, save_as_external_data=True, location="ext.onnx.data", size_threshold=0)
    s = summarize_model(path)
    assert s.external_data_bytes == (tmp_path / "ext.onnx.data").stat().st_size > 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"\x00garbage that is not protobuf\xff" * 3, "is not a valid ONNX model")],
    ids=["empty", "garbage"],
)
def test_a_file_that_is_not_onnx_gets_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(NotAnOnnxModelError, match=message):
        summarize_model(path)


def test_a_truncated_model_file_gets_a_clear_error(tmp_path):
    path = tmp_path / "cut.onnx"
    data = linear_model().SerializeToString()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(NotAnOnnxModelError):
        summarize_model(path)


# -- external data that leaves the model's folder --------------------------------------------------------
def _external_model(location: str, nbytes: int = 4 * 15):
    """linear_model with its weight stored externally at ``location`` (nothing is written there)."""
    model = linear_model()
    t = model.graph.initializer[0]
    t.ClearField("raw_data")
    t.ClearField("float_data")
    t.data_location = onnx.TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(nbytes))):
        t.external_data.add(key=key, value=value)
    return model


@pytest.fixture
def escaping_models(tmp_path):
    """model folder m/ beside a 'secret' file; three models that name it: by '..', absolutely, via a symlink."""
    folder = tmp_path / "m"
    folder.mkdir()
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\x00" * 123_456)
    (folder / "link.bin").symlink_to(secret)
    paths = {}
    for name, location in (("dotdot", "../secret.bin"), ("absolute", str(secret)), ("symlink", "link.bin")):
        paths[name] = folder / f"{name}.onnx"
        onnx.save(_external_model(location, 60), paths[name])
    return paths, secret


ESCAPES = {"dotdot": "which leaves the model's folder", "absolute": "names the absolute external data location",
           "symlink": "a symbolic link that leads outside the model's folder"}


@pytest.mark.parametrize("kind", sorted(ESCAPES))
def test_every_entry_point_refuses_external_data_outside_the_models_folder(escaping_models, kind):
    from helpers import export
    from helpers.inspect import ExternalDataOutsideError, external_data_files, load_model

    paths, _ = escaping_models
    path = paths[kind]
    for entry in (summarize_model, load_model, external_data_files, export.model_files, file_size_mb):
        with pytest.raises(ExternalDataOutsideError, match=ESCAPES[kind]) as info:
            entry(path)
        assert "ONNX Runtime refuses it too" in str(info.value) and "graph.initializer[0]" in str(info.value), entry
    assert isinstance(info.value, NotAnOnnxModelError)


@pytest.mark.parametrize("kind", ["dotdot", "absolute"])
def test_the_refusal_is_no_oracle_the_file_is_never_touched(escaping_models, kind, monkeypatch):
    """The same error whether the outside file exists or not, and no stat of it on the way."""
    import os

    paths, secret = escaping_models
    stat = os.stat
    touched = []

    def spy(p, *args, **kwargs):
        if "secret" in str(p):
            touched.append(str(p))
        return stat(p, *args, **kwargs)

    monkeypatch.setattr(os, "stat", spy)
    with pytest.raises(NotAnOnnxModelError) as present:
        summarize_model(paths[kind])
    monkeypatch.undo()
    secret.unlink()
    with pytest.raises(NotAnOnnxModelError) as absent:
        summarize_model(paths[kind])
    assert str(present.value) == str(absent.value) and touched == []


def test_external_data_inside_the_folder_is_still_read_and_sized(tmp_path):
    """The check refuses only escapes: a data file in a subfolder, or a symlink that stays inside, passes."""
    from helpers import export
    from helpers.inspect import external_data_files, load_model

    (tmp_path / "weights").mkdir()
    path = tmp_path / "m.onnx"
    onnx.save(linear_model(), path, save_as_external_data=True, location="weights/w.bin", size_threshold=0)
    (tmp_path / "alias.bin").symlink_to(tmp_path / "weights" / "w.bin")
    assert external_data_files(path) == [tmp_path / "weights" / "w.bin"]
    assert summarize_model(path).external_data_bytes == (tmp_path / "weights" / "w.bin").stat().st_size
    assert export.model_files(path) == [path, tmp_path / "weights" / "w.bin"]
    size = path.stat().st_size + (tmp_path / "weights" / "w.bin").stat().st_size
    assert file_size_mb(path) == pytest.approx(size / 1e6)
    assert len(load_model(path).graph.initializer[0].raw_data) > 0
    inside = tmp_path / "alias.onnx"
    model = onnx.load(str(path), load_external_data=False)
    for t in model.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = "alias.bin"
    onnx.save(model, inside)
    assert external_data_files(inside) == [tmp_path / "alias.bin"]


def test_the_deployed_scorer_refuses_an_escape_through_onnx_runtime(escaping_models):
    """deploy/onnx_scoring.py ships without helpers: ONNX Runtime's own check refuses the same three models."""
    from tests.unit import endpoint_models as em

    scoring = em.load_scoring()
    paths, _ = escaping_models
    for path in paths.values():
        with pytest.raises(scoring.UnsupportedModelError, match="External data path validation failed"):
            scoring.OnnxScorer(path)


def test_file_size_counts_external_data(tmp_path):
    (tmp_path / "notes.txt").write_bytes(b"x" * 1000)
    assert file_size_mb(tmp_path / "notes.txt") == pytest.approx(0.001)
    onnx.save(linear_model(), tmp_path / "m.onnx", save_as_external_data=True, location="weights.bin", size_threshold=0)
    (tmp_path / "m.onnx.data").write_bytes(b"x" * 2000)  # beside it, but not referenced: not counted
    sizes = (tmp_path / "m.onnx").stat().st_size + (tmp_path / "weights.bin").stat().st_size
    assert file_size_mb(tmp_path / "m.onnx") == pytest.approx(sizes / 1e6)
    with pytest.raises(FileNotFoundError):
        file_size_mb(tmp_path / "nope.onnx")


def test_the_tensor_size_check_refuses_short_raw_data_and_overflowing_dims_where_onnx_does_not():
    """onnx 1.18 (the legacy kernel) lets both through check_tensor; our own check must refuse them anyway."""
    import numpy as np
    from onnx import TensorProto, numpy_helper

    from helpers.inspect import NotAnOnnxModelError, _check_tensor_size

    good = numpy_helper.from_array(np.ones((2, 3), np.float32), "W")
    _check_tensor_size(good, "m.onnx", "graph.initializer[0]")
    short = TensorProto()
    short.CopyFrom(good)
    short.raw_data = good.raw_data[:-1]
    with pytest.raises(NotAnOnnxModelError, match=r"raw_data size \(23 bytes\) is too small .*\(24 bytes required\)"):
        _check_tensor_size(short, "m.onnx", "graph.initializer[0]")
    huge = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[2**32, 2**32])
    with pytest.raises(NotAnOnnxModelError, match=r"Tensor dimension product overflow \(tensor name: W\)"):
        _check_tensor_size(huge, "m.onnx", "graph.initializer[0]")
