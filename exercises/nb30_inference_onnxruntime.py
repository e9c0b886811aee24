"""Checks of the exercises of notebooks/30_inference_onnxruntime.ipynb; reference solutions in exercises/solutions/30_inference_onnxruntime.py."""

from __future__ import annotations

import json
from typing import Any

from exercises import answer_file, exercise, load_onnx, onnx_session


@exercise("30.1", "feed an image batch of shape (2, 1, 8, 9) through runtime.validate_inputs; answer the exception")
def _check_wrong_width(answer: Any, *, input_name: str) -> str | None:
    if not isinstance(answer, BaseException):
        return "answer the exception itself: `except Exception as err: answer = err`."
    if type(answer).__name__ != "InputError":
        return (f"that is a {type(answer).__name__}, ONNX Runtime's own error or another mistake: call "
                "runtime.validate_inputs(session, feeds) and catch its InputError.")
    message = str(answer)
    if f"'{input_name}'" not in message:
        return f"the error is about another input; feed the image batch to the model's input {input_name!r}."
    if "Convert it first" in message or "expects rank" in message:
        kind = "dtype" if "Convert it first" in message else "rank"
        return (f"that is the {kind} error, raised before the shape is looked at: make the batch float32 "
                "(np.zeros(..., dtype=np.float32)) and of rank 4, so the fixed axis is what fails.")
    if "axis 3 has size 9" not in message:
        return "the error is not about the fixed last axis (size 8) receiving 9: is your batch really (2, 1, 8, 9)?"
    return None


@exercise("30.2", "add a 'version': '1.0' metadata entry (keeping the labels), save the model; answer its path")
def _check_metadata(answer: Any, *, labels: list[str], labeled: Any) -> str | None:
    hint = answer_file(answer, not_one_of=labeled)
    if hint:
        return hint
    if load_onnx(answer).graph.SerializeToString() != load_onnx(labeled).graph.SerializeToString():
        return ("this is not the labelled digits model with new metadata: its graph differs. Load the labelled "
                "model, change only its metadata_props, and save it.")
    custom = dict(onnx_session(answer).get_modelmeta().custom_metadata_map)
    if custom.get("version") != "1.0":
        return f"get_modelmeta().custom_metadata_map has no 'version': '1.0' entry (it has {sorted(custom)})."
    if "labels" not in custom:
        return "the 'labels' entry is gone: set_model_props replaces every entry, so pass the existing ones too."
    if json.loads(custom["labels"]) != list(labels):
        return "the 'labels' entry changed: keep the value the model had."
    return None
