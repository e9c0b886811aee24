"""Small ONNX graphs built in code, and the refusal assertion, shared by the exercise-check tests."""

from __future__ import annotations

from onnx import TensorProto, helper


def refused(feedback, hint: str) -> None:
    """The check said wrong, and its hint contains ``hint``."""
    assert not feedback, str(feedback)
    assert hint in feedback.message, feedback.message


def model(nodes, opset: int, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def value(name: str, elem=TensorProto.FLOAT, shape=("batch", 4)):
    return helper.make_tensor_value_info(name, elem, list(shape))


def ops_model(ops, opset: int):
    """A chain of one-input operators ``ops`` from ``t0`` to ``tN``."""
    nodes = [helper.make_node(op, [f"t{i}"], [f"t{i + 1}"]) for i, op in enumerate(ops)]
    return model(nodes, opset, [value("t0")], [value(f"t{len(ops)}", shape=("batch", None))])
