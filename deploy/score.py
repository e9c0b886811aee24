"""Scoring script for an ONNX model behind the Azure ML inference server (``azmlinfsrv``).

The same file runs locally (helpers.serve starts ``azmlinfsrv --entry_script score.py --model_dir DIR``)
and in an Azure Machine Learning online deployment (the code folder is this ``deploy/`` folder).

- ``init()`` runs once per worker: it finds the ``.onnx`` file under ``AZUREML_MODEL_DIR`` and opens one
  ONNX Runtime session; the model's own input names, shapes, element types and class labels define
  what a request must look like.
- ``run(inputs)`` checks the request and answers ``{"predictions", "probabilities", "labels",
  "inference_ms"}``. A bad request gets HTTP 400 with a message naming what was expected; a failure
  inside the model gets HTTP 500 with a request id and no internals (the traceback goes to the log).
- The ``inference-schema`` decorators make the server publish an OpenAPI document at ``/swagger.json``.

Settings (environment variables): ``MODEL_FILE`` (which .onnx file when the folder holds several),
``MAX_BATCH`` (examples per request, default 64), ``ORT_THREADS`` (ONNX Runtime threads per worker, 1).
"""

from __future__ import annotations

import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # onnx_scoring.py ships beside this file

import onnx_scoring  # noqa: E402
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType  # noqa: E402
from inference_schema.schema_decorators import input_schema, output_schema  # noqa: E402

try:  # the response type Azure's images provide (azureml-defaults) ...
    from azureml.contrib.services.aml_response import AMLResponse
except ImportError:  # ... and the same class in the inference server package itself
    from azureml_inference_server_http.api.aml_response import AMLResponse

logger = logging.getLogger("azmlinfsrv.score")
scorer: onnx_scoring.OnnxScorer | None = None


def _schema_example() -> dict:
    """A request example for the OpenAPI document, read from the model when it can be found at import."""
    try:
        path = onnx_scoring.find_model(os.environ.get("AZUREML_MODEL_DIR"), os.environ.get("MODEL_FILE"))
        return onnx_scoring.sample_inputs(onnx_scoring.OnnxScorer(path).inputs)
    except Exception:  # init() reports a missing model properly; the schema then shows a generic example
        return {"input": [[0.0, 0.0]]}


def init() -> None:
    """Load the model once per worker process."""
    global scorer
    path = onnx_scoring.find_model(os.environ.get("AZUREML_MODEL_DIR"), os.environ.get("MODEL_FILE"))
    scorer = onnx_scoring.OnnxScorer(path, max_batch=int(os.environ.get("MAX_BATCH", onnx_scoring.DEFAULT_MAX_BATCH)),
                                     threads=int(os.environ.get("ORT_THREADS", "1")))
    logger.info("Loaded %s: %s", path, scorer.describe())


@input_schema("inputs", StandardPythonParameterType(_schema_example()), convert_to_provided_type=False)
@output_schema(StandardPythonParameterType(
    {"predictions": [0], "labels": ["0"], "probabilities": [[1.0]], "inference_ms": 0.1}))
def run(inputs):
    """Score one request: ``{"inputs": {"<input name>": [[...]], ...}}``."""
    try:
        return scorer.score(inputs)
    except onnx_scoring.RequestError as err:
        logger.info("400 for request %s: %s", _request_id(), err)
        return AMLResponse({"error": str(err), "expected": scorer.describe()["inputs"]}, 400, json_str=True)
    except Exception:
        request_id = _request_id()
        logger.exception("Scoring failed for request %s", request_id)
        return AMLResponse({"error": f"Internal error while scoring; the server log has the details (request id "
                                     f"{request_id})."}, 500, json_str=True)


def _request_id() -> str:
    """The id the server gives each request (also in the ``x-request-id`` response header)."""
    try:
        from flask import g

        return str(g.request_id)
    except Exception:  # outside a request (tests calling run() directly)
        return "unknown"
