"""Checks of the exercises of notebooks/21_pretrained_models.ipynb; reference solutions in exercises/solutions/21_pretrained_models.py."""

from __future__ import annotations

from typing import Any  # noqa: UP035 (Python 3.8 kernel)

from exercises import exercise


def _materialized_weights(path: Any) -> int:
    """Elements of every ConstantOfShape output whose shape is an initializer (the light models' fake weights)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    shapes = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    return int(sum(np.prod(shapes[n.input[0]], dtype=np.int64) for n in model.graph.node
                   if n.op_type == "ConstantOfShape" and n.input[0] in shapes))


@exercise("21.1", "how many weights does ONNX Runtime materialize when it creates VGG-19's (light) session?")
def _check_vgg_weights(answer: Any, *, vgg19: Any) -> str | None:
    import numpy as np

    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return f"answer a whole number of weights (elements), not {type(answer).__name__}."
    expected = _materialized_weights(vgg19)
    if answer == 4 * expected:
        return "that is bytes (float32): count elements."
    if answer != expected:
        return ("not what the graph makes: add up the elements of every ConstantOfShape output (its shape is an "
                "initializer), biases included.")
    return None


@exercise("21.2", "convert the light SqueezeNet to opset 13 and run zoo.intermediate_parity; answer the ParityResult")
def _check_converted_parity(answer: Any, *, original: Any) -> str | None:
    from onnx import version_converter

    from helpers import zoo

    if not hasattr(answer, "outputs") or not isinstance(getattr(answer, "outputs", None), list):
        return "answer the result of zoo.intermediate_parity (a ParityResult with one entry per tensor)."
    converted = version_converter.convert_version(original, 13)
    reference = zoo.intermediate_parity(converted, zoo.dummy_inputs(converted), name="21.2 check", record=False)
    names = {o.name for o in answer.outputs}
    if names != {o.name for o in reference.outputs}:
        return (f"{len(names)} tensors compared; SqueezeNet converted to opset 13 has {len(reference.outputs)}: convert "
                "the notebook's squeeze_model with onnx.version_converter.convert_version(model, 13) and compare all of it.")
    if getattr(answer, "rtol", 0) > reference.rtol or getattr(answer, "atol", 0) > reference.atol:
        return (f"your comparison used rtol={answer.rtol}, atol={answer.atol}, looser than the defaults "
                f"({reference.rtol}, {reference.atol}): a loose tolerance hides what the comparison is for.")
    outside = sorted(o.name for o in answer.outputs if not o.allclose)
    if outside != sorted(o.name for o in reference.outputs if not o.allclose):
        return f"your comparison finds {outside or 'nothing'} outside tolerance, the check does not: use the default tolerances."
    return None
