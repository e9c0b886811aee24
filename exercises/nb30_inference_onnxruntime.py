"""Checks of the exercises of notebooks/30_inference_onnxruntime.ipynb; reference solutions in exercises/solutions/30_inference_onnxruntime.py."""

from __future__ import annotations

import json
from typing import Any

from exercises import answer_file, exercise, onnx_session


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
    if "size 9" not in message and "[2, 1, 8, 9]" not in message:
        return "the error is not about an axis of size 9: is your batch really (2, 1, 8, 9), float32?"
    return None


@exercise("30.2", "add a 'version': '1.0' metadata entry (keeping the labels), save the model; answer its path")
def _check_metadata(answer: Any, *, labels: list[str]) -> str | None:
    if answer_file(answer):
        return "answer the path of the .onnx file you saved with onnx.save (it must exist)."
    custom = dict(onnx_session(answer).get_modelmeta().custom_metadata_map)
    if custom.get("version") != "1.0":
        return f"get_modelmeta().custom_metadata_map has no 'version': '1.0' entry (it has {sorted(custom)})."
    if "labels" not in custom:
        return "the 'labels' entry is gone: set_model_props replaces every entry, so pass the existing ones too."
    if json.loads(custom["labels"]) != list(labels):
        return "the 'labels' entry changed: keep the value the model had."
    return None
