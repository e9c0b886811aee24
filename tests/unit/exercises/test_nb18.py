"""Checks of notebooks/18_export_mlnet.ipynb's exercises (exercises/nb18_export_mlnet.py): the right answer passes,
each shortcut a tired attendee takes is refused with a hint.

ML.NET files are built here with onnx.helper in their shape (one input per column, echoed columns as
outputs), so no .NET is needed; notebook 18's run proves the right answers pass in the mlnet kernel.

"""


from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

import exercises
from exercises.nb18_export_mlnet import onnx_summary

COLUMNS = ["tenure_months", "contract"]
ANSWERS = ["PredictedLabel.output", "Score.output", "Probability.output"]


def _mlnet_like(path, *, op="TreeEnsembleRegressor", echoed=True, answers=True, inputs=COLUMNS):
    """A file in the shape of an ML.NET export: inputs per column plus the label, outputs per column made."""
    names = [*inputs, "churn"]
    outputs = ([f"{c}.output" for c in names] if echoed else ["churn.output"]) + (ANSWERS if answers else [])
    nodes = [helper.make_node("Identity", [names[0]], [o]) for o in outputs[:-1]]
    nodes.append(helper.make_node(op, [names[0]], [outputs[-1]], domain="ai.onnx.ml"))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 1]) for n in names],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, [None, 1]) for o in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11), helper.make_opsetid("ai.onnx.ml", 2)])
    model.ir_version = 6
    onnx.save(model, path)
    return path


@pytest.fixture
def files(tmp_path):
    return {
        "fasttree": _mlnet_like(tmp_path / "fasttree.onnx"),
        "linear": _mlnet_like(tmp_path / "linear.onnx", op="LinearRegressor"),
        "trees_again": _mlnet_like(tmp_path / "trees.onnx", op="TreeEnsembleClassifier"),
        "other_columns": _mlnet_like(tmp_path / "other.onnx", op="LinearRegressor", inputs=["age"]),
        "dropped": _mlnet_like(tmp_path / "dropped.onnx", echoed=False),
        "dropped_all": _mlnet_like(tmp_path / "dropped_all.onnx", echoed=False, answers=False),
        "not_onnx": tmp_path / "text.onnx",
    }


def test_the_wire_reader_agrees_with_onnx(files):
    model = onnx.load(files["linear"])
    summary = onnx_summary(files["linear"])
    assert summary["ops"] == [n.op_type for n in model.graph.node]
    assert summary["inputs"] == [i.name for i in model.graph.input] and summary["outputs"] == [o.name for o in model.graph.output]
    assert summary["opsets"] == {"": 11, "ai.onnx.ml": 2} and summary["ir_version"] == 6


def test_18_checks_accept_right_answers(files):
    assert exercises.check("18.1", files["linear"], fasttree=files["fasttree"])
    assert exercises.check("18.2", files["dropped"], fasttree=files["fasttree"])


def test_18_checks_refuse_wrong_answers_with_a_hint(files):
    files["not_onnx"].write_bytes(b"\xff\xff\xff\xff")
    ft = files["fasttree"]
    wrong = {
        ("18.1", "still scores with trees"): exercises.check("18.1", files["trees_again"], fasttree=ft),
        ("18.1", "notebook's own file"): exercises.check("18.1", ft, fasttree=ft),
        ("18.1", "not the churn columns"): exercises.check("18.1", files["other_columns"], fasttree=ft),
        ("18.1", "not an .onnx file that exists"): exercises.check("18.1", ft.parent / "none.onnx", fasttree=ft),
        ("18.1", "does not read as an ONNX"): exercises.check("18.1", files["not_onnx"], fasttree=ft),
        ("18.2", "still echoed"): exercises.check("18.2", files["trees_again"], fasttree=ft),
        ("18.2", "dropped the model's answer"): exercises.check("18.2", files["dropped_all"], fasttree=ft),
        ("18.2", "not 0.5"): exercises.check("18.2", 0.5, fasttree=ft),
    }
    for (exercise_id, hint), feedback in wrong.items():
        assert not feedback and hint in feedback.message, (exercise_id, feedback.message)


class _FakePipeline:
    """Stands in for a NimbusML pipeline: export_to_onnx writes a file with the given operator."""

    def __init__(self, op):
        self.op = op

    def export_to_onnx(self, path, domain, onnx_version="Stable"):
        _mlnet_like(path, op=self.op)


def test_18_3_compares_with_the_operators_of_the_check_s_own_export(files):
    pipeline = _FakePipeline("LinearRegressor")
    assert exercises.check("18.3", {"Identity", "LinearRegressor"}, classifier=pipeline)
    wrong = exercises.check("18.3", {"Identity", "TreeEnsembleRegressor"}, classifier=pipeline)
    assert not wrong and "1 operators missing and 1 too many" in wrong.message
    listed = exercises.check("18.3", ["Identity", "LinearRegressor"], classifier=pipeline)
    assert not listed and "a set of operator names" in listed.message




def test_18_1_and_18_2_refuse_a_copy_of_the_notebook_s_own_file(files, tmp_path):
    import shutil

    copy = shutil.copy(files["fasttree"], tmp_path / "mine.onnx")
    for exercise_id in ("18.1", "18.2"):
        feedback = exercises.check(exercise_id, copy, fasttree=files["fasttree"])
        assert not feedback and "or a copy of it" in feedback.message, feedback.message
