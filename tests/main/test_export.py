"""helpers.export: the files to ship, metadata, the quiet torch export, the opset-17 Reduce workaround.

Main kernel only (needs torch and TensorFlow). Every model is tiny and built here.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from helpers import export
from helpers.opset import opset_of
from helpers.verify import run_onnx

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _onnx_file(path, external=False):
    """A one-node ONNX model (y = x @ W) saved at ``path``, weights inline or in ``<name>.data``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    W = np.arange(6, dtype=np.float32).reshape(3, 2)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(W, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="test")
    model.ir_version = 9
    onnx.save(model, str(path), save_as_external_data=external, location=f"{path.name}.data", size_threshold=0)
    return path, W


# ---------------------------------------------------------------- files and metadata (onnx only)


def test_model_files_lists_the_external_data_file_that_must_ship_with_the_model(tmp_path):
    inline, _ = _onnx_file(tmp_path / "inline.onnx")
    external, _ = _onnx_file(tmp_path / "ext.onnx", external=True)
    assert export.model_files(inline) == [inline]
    assert export.model_files(external) == [external, tmp_path / "ext.onnx.data"]


def test_model_files_names_the_missing_data_file_and_the_fix(tmp_path):
    external, _ = _onnx_file(tmp_path / "ext.onnx", external=True)
    (tmp_path / "ext.onnx.data").unlink()
    with pytest.raises(FileNotFoundError, match=r"keeps its weights in ext\.onnx\.data.*copy the \.data file"):
        export.model_files(external)
    with pytest.raises(FileNotFoundError, match="export the model first"):
        export.model_files(tmp_path / "nothing.onnx")


def test_set_metadata_merges_props_keeps_external_weights_and_runtimes_read_it(tmp_path):
    import onnxruntime as ort

    path, W = _onnx_file(tmp_path / "ext.onnx", external=True)
    data_before = (tmp_path / "ext.onnx.data").read_bytes()
    export.set_metadata(path, props={"first": "1"})
    meta = export.set_metadata(path, description="tiny model", props={"labels": ["a", "b"], "n": 2})
    assert meta["description"] == "tiny model" and meta["producer"] == "test"
    assert meta["props"] == {"first": "1", "labels": '["a", "b"]', "n": "2"}  # merged, non-strings as JSON
    assert (tmp_path / "ext.onnx.data").read_bytes() == data_before  # weights untouched
    session = ort.InferenceSession(str(path))
    assert session.get_modelmeta().custom_metadata_map["first"] == "1"
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(run_onnx(session, x)["y"], x @ W)


def test_metadata_errors_say_what_to_do(tmp_path):
    path, _ = _onnx_file(tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="non-empty strings"):
        export.set_metadata(path, props={"": "x"})
    with pytest.raises(FileNotFoundError, match="run the export step first"):
        export.set_metadata(tmp_path / "missing.onnx", description="x")
    export.set_metadata(path, props={"labels": "cat,dog"})  # strings are stored as they are
    assert export.read_metadata(path)["props"] == {"labels": "cat,dog"}


def test_artifact_sizes_counts_external_data_and_folders(tmp_path):
    external, _ = _onnx_file(tmp_path / "ext.onnx", external=True)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "a.bin").write_bytes(b"x" * 2048)
    (tmp_path / "weights.pt").write_bytes(b"x" * 1024)
    table = export.artifact_sizes({"onnx": external, "dir": tmp_path / "folder", "pt": tmp_path / "weights.pt"})
    rows = {r["artifact"]: r for r in table.rows}
    assert rows["onnx"]["files"] == "ext.onnx + ext.onnx.data"
    assert rows["onnx"]["external data KiB"] == pytest.approx(24 / 1024)  # 6 float32 weights
    assert rows["dir"]["KiB"] == 2.0 and rows["pt"]["KiB"] == 1.0 and rows["pt"]["external data KiB"] is None
    with pytest.raises(FileNotFoundError, match="nothing at"):
        export.artifact_sizes({"gone": tmp_path / "gone.onnx"})


def test_export_error_summary_names_the_chain_and_the_root_cause():
    try:
        try:
            raise ValueError("Could not guard on data-dependent expression\nmore detail")
        except ValueError as inner:
            raise RuntimeError("Failed to export") from inner
    except RuntimeError as err:
        assert export.export_error_summary(err) == "RuntimeError <- ValueError: Could not guard on data-dependent expression"
    assert export.export_error_summary(KeyError("keras_tensor_7")) == "KeyError: 'keras_tensor_7'"


# ---------------------------------------------------------------- PyTorch


@pytest.fixture(scope="module")
def tiny_torch():
    """Two linear layers; the first weight (512 bytes) is above the dynamo exporter's 256-byte external-data threshold."""
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2)).eval()


def _torch_out(model, x):
    import torch

    with torch.no_grad():
        return model(torch.as_tensor(x)).numpy()


@pytest.mark.parametrize("dynamo", [True, False], ids=["dynamo", "torchscript"])
def test_export_torch_names_a_dynamic_batch_and_matches_torch_at_batch_1_and_n(tiny_torch, tmp_path, dynamo):
    import torch

    path = tmp_path / "tiny.onnx"
    result = export.export_torch(tiny_torch, torch.zeros(2, 4), path, dynamo=dynamo, input_names=["features"],
                                 output_names=["scores"], opset=18)
    assert result.path == path and opset_of(path) == 18
    assert [p.name for p in export.model_files(path)] == (["tiny.onnx", "tiny.onnx.data"] if dynamo else ["tiny.onnx"])
    for n in (1, 5):
        x = np.random.RandomState(n).rand(n, 4).astype(np.float32)
        np.testing.assert_allclose(run_onnx(path, {"features": x})["scores"], _torch_out(tiny_torch, x),
                                   rtol=1e-5, atol=1e-6)
    if not dynamo:
        assert any("DeprecationWarning" in w for w in result.warnings)  # the legacy exporter says so


def test_export_torch_rejects_bad_arguments_with_the_fix(tiny_torch, tmp_path):
    import torch

    with pytest.raises(ValueError, match="batch has size 1.*batch of 2 or more"):
        export.export_torch(tiny_torch, torch.zeros(1, 4), tmp_path / "x.onnx", dynamo=True)
    with pytest.raises(ValueError, match="takes 1 inputs and gives 1 outputs, but 2 input names"):
        export.export_torch(tiny_torch, torch.zeros(2, 4), tmp_path / "x.onnx", input_names=["a", "b"])
    with pytest.raises(TypeError, match="tensor or a tuple of tensors"):
        export.export_torch(tiny_torch, np.zeros((2, 4)), tmp_path / "x.onnx")


def test_export_torch_lets_a_data_dependent_branch_fail_loudly_with_dynamo(tmp_path):
    import torch

    class Branchy(torch.nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x * 2
            return x

    with pytest.raises(Exception) as info:
        export.export_torch(Branchy(), torch.ones(2, 3), tmp_path / "b.onnx", dynamo=True)
    assert "data-dependent" in export.export_error_summary(info.value)


# ---------------------------------------------------------------- TensorFlow and Keras


def _keras_sequential():
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((3,), name="features"), keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(2, name="scores")])


def test_tf2onnx_still_fails_on_keras3_sequential_without_the_workaround():
    """When this starts failing, tf2onnx fixed onnx/tensorflow-onnx#2448 and the workaround can go."""
    import tf2onnx

    model = _keras_sequential()
    assert not hasattr(model, "output_names")
    with pytest.raises(KeyError, match="keras_tensor"):
        tf2onnx.convert.from_keras(model, opset=17)


def test_setting_output_names_is_the_keras3_sequential_workaround(tmp_path):
    """The one line notebook 11 shows: the model's output layer names, then from_keras converts."""
    import tensorflow as tf
    import tf2onnx

    model = _keras_sequential()
    model.output_names = [model.layers[-1].name]
    signature = (tf.TensorSpec((None, 3), tf.float32, name="features"),)
    tf2onnx.convert.from_keras(model, input_signature=signature, opset=17, output_path=str(tmp_path / "seq.onnx"))
    for n in (1, 6):
        x = np.random.RandomState(n).rand(n, 3).astype(np.float32)
        got = run_onnx(tmp_path / "seq.onnx", {"features": x})
        np.testing.assert_allclose(got["scores"], model(x).numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- the opset-17 Reduce workaround


def _reduce_max_model(opset, noop=0, with_attribute=True):
    import onnx
    from onnx import TensorProto, helper

    attrs = {"keepdims": 0, **({"noop_with_empty_axes": noop} if with_attribute else {})}
    graph = helper.make_graph([helper.make_node("ReduceMax", ["x"], ["y"], name="max", **attrs)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return onnx, model


def test_version_converter_still_leaves_noop_with_empty_axes_at_opset_17():
    """When this starts failing, onnx fixed its 18->17 Reduce adapter and the workaround can go."""
    onnx, model = _reduce_max_model(18)
    converted = onnx.version_converter.convert_version(model, 17)
    with pytest.raises(onnx.checker.ValidationError, match="noop_with_empty_axes"):
        onnx.checker.check_model(converted, full_check=True)


def test_drop_noop_with_empty_axes_repairs_the_converted_model_exactly():
    import onnxruntime as ort

    onnx, model = _reduce_max_model(18)
    converted = onnx.version_converter.convert_version(model, 17)
    assert export.drop_noop_with_empty_axes(converted) == 1
    onnx.checker.check_model(converted, full_check=True)
    x = np.random.RandomState(0).rand(2, 3).astype(np.float32)
    (y,) = ort.InferenceSession(converted.SerializeToString()).run(None, {"x": x})
    assert y == x.max()  # no axes, noop 0: reduce over all axes, as opset 17 does
    assert export.drop_noop_with_empty_axes(converted) == 0  # nothing left to drop


def test_drop_noop_with_empty_axes_refuses_what_opset_17_cannot_express():
    _, noop = _reduce_max_model(17, noop=1)
    with pytest.raises(ValueError, match="noop_with_empty_axes=1.*opset 18 or later"):
        export.drop_noop_with_empty_axes(noop)
    _, modern = _reduce_max_model(18)
    with pytest.raises(ValueError, match="valid from opset 18"):
        export.drop_noop_with_empty_axes(modern)
