"""Checks of the exercises of notebooks/40_deploy_local_endpoint.ipynb; reference solutions in exercises/solutions/40_deploy_local_endpoint.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from exercises import exercise


@exercise("40.1", "start the endpoint with MAX_BATCH=8 and post a batch of 9 images; answer the reply")
def _check_too_large(answer: Any) -> str | None:
    status = getattr(answer, "status", getattr(answer, "status_code", None))
    if status is None:
        return "answer the reply of the endpoint (ep.post(...) or requests.post(...))."
    body = getattr(answer, "body", None)
    if body is None and hasattr(answer, "json"):
        body = answer.json()
    if status == 200:
        return "the endpoint answered 200: start it with env={'MAX_BATCH': '8'}, and send 9 images."
    if status != 413:
        return f"the endpoint answered {status}, not 413: send a well-formed batch of 9 images (9, 1, 8, 8)."
    text = json.dumps(body)
    if not re.search(r"\bbatch of 9 is over the limit of 8\b", text):
        return ("the 413 is not the endpoint's answer to a batch of 9 over a limit of 8 (its message names both): "
                "check MAX_BATCH and the batch size.")
    return None


@exercise("40.2", "with NaN refused, which rows of the ten-line script's table still need a check? answer their names")
def _check_rows_left(answer: Any, *, naive_answers: dict[str, Any]) -> str | None:
    if not isinstance(answer, (set, list, tuple, frozenset)) or not all(isinstance(a, str) for a in answer):
        return "answer a set of request names, as in the table's first column."
    unknown = sorted(set(answer) - set(naive_answers))
    if unknown:
        return f"not rows of the table: {unknown[:3]}."
    wrong = {name for name, (status, _) in naive_answers.items()
             if name != "a good request" and not 400 <= status < 500}
    expected = wrong - {"a NaN pixel"}
    if set(answer) & {"a good request", "a NaN pixel"}:
        return "a good request needs no check, and the isfinite line already refuses NaN."
    if set(answer) != expected:
        return (f"{len(expected - set(answer))} row(s) missing, {len(set(answer) - expected)} too many: a row still "
                "needs a check when the script did not answer it with a 4xx (a 500, or a 200 it should have refused).")
    return None


@exercise("40.3", "start the endpoint on an empty model folder; answer the EndpointError you caught")
def _check_broken_init(answer: Any) -> str | None:
    if not isinstance(answer, BaseException):
        return "answer the exception itself: `except EndpointError as err: answer = err`."
    if type(answer).__name__ != "EndpointError":
        return f"that is a {type(answer).__name__}: start a LocalEndpoint and catch helpers.serve.EndpointError."
    if "No *.onnx file in the model folder" not in str(answer):
        return ("the error does not carry the scoring script's own message (init() found no model): start the "
                "endpoint on a folder without an .onnx file, and answer the EndpointError its start() raised.")
    folders = [Path(p) for p in re.findall(r"(/[^\s'\"),:]+)", str(answer))]
    empty = [p for p in folders if p.is_dir() and not any(p.rglob("*.onnx"))]
    if not empty:
        return "the error names no empty model folder: point model_dir at a folder with no .onnx file in it."
    return None
