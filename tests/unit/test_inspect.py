"""helpers.inspect summarizes models truthfully and refuses files that are not ONNX."""

from __future__ import annotations

import onnx
import pytest

from helpers.inspect import NotAnOnnxModelError, summarize_model
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
