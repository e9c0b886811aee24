"""Checks of notebooks/10_export_pytorch.ipynb's exercises (exercises/nb10_export_pytorch.py): the right answer
passes, each shortcut is refused. Models are small ONNX graphs built in code, stamped like the exporters stamp theirs."""

from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import exercises

RNG = np.random.default_rng(0)


def _refused(exercise_id, answer, hint, **context):
    feedback = exercises.check(exercise_id, answer, **context)
    assert not feedback and hint in feedback.message, (exercise_id, feedback.message)


def _dynamo_marks(model):
    """Stamp each node as torch.onnx.export(dynamo=True) does (node metadata under pkg.torch.onnx)."""
    for node in model.graph.node:
        node.metadata_props.add(key="pkg.torch.onnx.fx_node", value=node.name or node.op_type)
    return model


def _save(model, path, external=False):
    onnx.save(model, path, save_as_external_data=external, location=f"{path.name}.data", size_threshold=0)
    return path


def _cnn_like(W, *, dynamo=True, opset=18, flatten="Reshape"):
    """softmax(flatten(image) @ W): the stand-in for the digits CNN (one file, input image, output logits)."""
    shape = [numpy_helper.from_array(np.array([-1, 64], np.int64), "shape")] if flatten == "Reshape" else []
    nodes = [helper.make_node("Reshape", ["image", "shape"], ["flat"]) if flatten == "Reshape"
             else helper.make_node("Flatten", ["image"], ["flat"]),
             helper.make_node("MatMul", ["flat", "W"], ["scores"]),
             helper.make_node("Softmax", ["scores"], ["logits"], axis=-1)]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
                              [numpy_helper.from_array(W, "W"), *shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    return _dynamo_marks(model) if dynamo else model


def test_10_1_accepts_the_dynamo_export_saved_as_one_file(tmp_path, images):
    X, W, probs = images
    assert exercises.check("10.1", _save(_cnn_like(W), tmp_path / "single.onnx"), X=X, logits=probs)


def test_10_1_refuses_the_torchscript_file_the_notebook_exported(tmp_path, images):
    X, W, probs = images
    script = _save(_cnn_like(W, dynamo=False, flatten="Flatten"), tmp_path / "digits_cnn_torchscript.onnx")
    _refused("10.1", script, "notebook's own", X=X, logits=probs, not_one_of=(script,))
    copy = shutil.copy(script, tmp_path / "mine.onnx")
    _refused("10.1", copy, "notebook's own", X=X, logits=probs, not_one_of=(script,))


def test_10_1_refuses_a_new_torchscript_export(tmp_path, images):
    X, W, probs = images
    script = _save(_cnn_like(W, dynamo=False, flatten="Flatten"), tmp_path / "again_torchscript.onnx")
    _refused("10.1", script, "not written by the dynamo exporter", X=X, logits=probs)


def test_10_1_refuses_the_two_file_export_and_another_model(tmp_path, images):
    X, W, probs = images
    _refused("10.1", _save(_cnn_like(W), tmp_path / "split.onnx", external=True), "external_data=False", X=X, logits=probs)
    _refused("10.1", _save(_cnn_like(W[:, ::-1].copy()), tmp_path / "other.onnx"), "does not compute the notebook's logits",
             X=X, logits=probs)
    _refused("10.1", tmp_path / "missing.onnx", "answer the path", X=X, logits=probs)


def _autoscale(W, *, branch="If", opset=18, divisor=16.0, keep_noop=False):
    """The auto-scaling model: x / divisor when max(x) > 1, else x, then the CNN stand-in."""
    consts = [numpy_helper.from_array(np.array(1, np.float32), "one"),
              numpy_helper.from_array(np.array(divisor, np.float32), "divisor")]
    reduce = helper.make_node("ReduceMax", ["image"], ["top"], keepdims=0)
    if keep_noop:
        reduce.attribute.append(helper.make_attribute("noop_with_empty_axes", 0))
    nodes = [reduce, helper.make_node("Greater", ["top", "one"], ["raw"])]
    if branch == "If":
        then = helper.make_graph([helper.make_node("Div", ["image", "divisor"], ["scaled_then"])], "then", [],
                                 [helper.make_tensor_value_info("scaled_then", TensorProto.FLOAT, None)])
        other = helper.make_graph([helper.make_node("Identity", ["image"], ["scaled_else"])], "else", [],
                                  [helper.make_tensor_value_info("scaled_else", TensorProto.FLOAT, None)])
        nodes.append(helper.make_node("If", ["raw"], ["scaled"], then_branch=then, else_branch=other))
    else:
        nodes += [helper.make_node("Div", ["image", "divisor"], ["divided"]),
                  helper.make_node("Where", ["raw", "divided", "image"], ["scaled"])]
    cnn = _cnn_like(W, opset=opset)
    cnn.graph.node[0].input[0] = "scaled"
    graph = helper.make_graph(nodes + list(cnn.graph.node), "autoscale", list(cnn.graph.input), list(cnn.graph.output),
                              list(cnn.graph.initializer) + consts)
    return _dynamo_marks(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8))


def test_10_2_wants_an_if_that_rescales(tmp_path, images):
    X, W, probs = images
    assert exercises.check("10.2", _save(_autoscale(W), tmp_path / "cond.onnx"), X=X, logits=probs)
    _refused("10.2", _save(_autoscale(W, branch="Where"), tmp_path / "where.onnx"), "no If node", X=X, logits=probs)
    _refused("10.2", _save(_autoscale(W, divisor=8.0), tmp_path / "by8.onnx"), "raw (x 16)", X=X, logits=probs)
    _refused("10.2", 42, "answer the path", X=X, logits=probs)


@pytest.fixture
def opset17(tmp_path, images):
    """The broken opset-17 export (noop_with_empty_axes left on ReduceMax) and the notebook's two valid opset-17 files."""
    X, W, probs = images
    broken = _save(_autoscale(W, branch="Where", opset=17, keep_noop=True), tmp_path / "autoscale_opset17.onnx")
    converted = _autoscale(W, branch="Where", opset=17)
    converted.doc_string = "exported at 18, converted down to 17, repaired by the helper"
    converted = _save(converted, tmp_path / "autoscale_converted_opset17.onnx")
    script = _cnn_like(W, dynamo=False, opset=17, flatten="Flatten")
    return dict(broken=broken, X=X, logits=probs, not_one_of=(converted, _save(script, tmp_path / "script17.onnx")))


def test_10_3_accepts_the_broken_file_repaired(tmp_path, images, opset17):
    with pytest.raises(onnx.checker.ValidationError, match="noop_with_empty_axes"):
        onnx.checker.check_model(str(opset17["broken"]), full_check=True)
    repaired = onnx.load(str(opset17["broken"]))
    repaired.graph.node[0].ClearField("attribute")
    repaired.graph.node[0].attribute.append(helper.make_attribute("keepdims", 0))
    assert exercises.check("10.3", _save(repaired, tmp_path / "repaired.onnx"), **opset17)


def test_10_3_refuses_the_broken_file_and_a_copy_of_it(tmp_path, opset17):
    _refused("10.3", opset17["broken"], "notebook's own", **opset17)
    _refused("10.3", shutil.copy(opset17["broken"], tmp_path / "mine.onnx"), "notebook's own", **opset17)


def test_10_3_refuses_a_file_the_checker_still_refuses(tmp_path, opset17):
    edited = onnx.load(str(opset17["broken"]))
    edited.doc_string = "edited, attribute kept"
    _refused("10.3", _save(edited, tmp_path / "kept.onnx"), "checker still refuses", **opset17)


def test_10_3_refuses_the_notebook_s_converted_and_torchscript_files(opset17):
    converted, script = opset17["not_one_of"]
    _refused("10.3", converted, "notebook's own", **opset17)
    _refused("10.3", script, "notebook's own", **opset17)


def test_10_3_refuses_a_re_export_at_another_opset_or_by_another_exporter(tmp_path, images, opset17):
    X, W, probs = images
    _refused("10.3", _save(_autoscale(W, branch="Where", opset=18, keep_noop=True), tmp_path / "at18.onnx"),
             "declares opset 18", **opset17)
    _refused("10.3", _save(_cnn_like(W[::-1].copy(), dynamo=False, opset=17, flatten="Flatten"), tmp_path / "ts.onnx"),
             "not those of the broken dynamo export", **opset17)


def test_10_3_refuses_a_repair_that_changes_what_the_model_computes(tmp_path, images, opset17):
    X, W, probs = images
    _refused("10.3", _save(_autoscale(W, branch="Where", opset=17, divisor=8.0), tmp_path / "by8.onnx"),
             "raw (x 16)", **opset17)
