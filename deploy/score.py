"""Scoring script for an ONNX model behind the Azure ML inference server (``azmlinfsrv``).

The same file runs locally (``azmlinfsrv --entry_script score.py --model_dir DIR --port N``, or
helpers.serve.LocalEndpoint) and in an Azure Machine Learning online deployment (the code folder is
this ``deploy/`` folder).

- ``init()`` runs once per worker: it finds the ``.onnx`` file under ``AZUREML_MODEL_DIR``, opens one ONNX
  Runtime session (the model is loaded once), and refuses a model it cannot serve honestly. The model's
  own input names, shapes, element types and class labels define what a request must look like.
- ``run(request)`` gets the raw HTTP request (``@rawhttp``), so every answer is this script's: POST only
  (405 with ``Allow: POST`` otherwise), ``Content-Type: application/json`` (415), the body size checked
  before it is parsed (413; a body over the limit is read and dropped, up to :data:`DRAIN_BYTES`, so the client
  gets the 413 instead of a reset connection), UTF-8 and JSON checked (400 naming the problem, where the server's own parser
  would answer 500), then the request checked against the model (400, or 413 over a limit) before
  anything is converted. A good request gets ``{"predictions", "probabilities", "labels",
  "inference_ms"}``; a request the model cannot score (its output holds NaN or infinity) gets 422; a failure
  inside the model gets 500 with a request id and no internals (the
  traceback goes to the log). Every error body is ``{"message": ...}``, like the server's own.
- The OpenAPI document at ``/swagger.json``: the server builds it after ``init()`` from the schema
  registered for ``run`` with inference-schema's decorators. ``@rawhttp`` and ``@input_schema`` cannot be
  stacked on ``run`` (the server refuses the pair when it imports the script), so ``init()`` registers the
  model's exact schema (array lengths, value ranges, limits) without wrapping ``run``, and adds this script's
  error statuses (400, 401, 405, 413, 415, 422, 500) to the document's answers for ``POST /score``.
- Keys. The document declares an ``Authorization: Bearer <key>`` header. On Azure the managed endpoint
  checks it (``auth_mode="key"``) before a request reaches this script. The local server checks no key
  by itself, so this script checks one when ``ENDPOINT_KEY`` is set (401 otherwise); LocalEndpoint sets
  it, so the local document is as true as Azure's. Leave it unset on Azure.

Settings (environment variables): ``MODEL_FILE`` (a file name, when the folder holds several .onnx files),
``MAX_BATCH`` (examples per request, default 64), ``MAX_ELEMENTS``, ``MAX_DIM``, ``MAX_STRING``,
``MAX_BODY_BYTES`` (default: sized for the model; see ``onnx_scoring.Limits``), ``ORT_THREADS`` (ONNX
Runtime threads per worker, 1), ``ENDPOINT_KEY`` (local key check, see above).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # onnx_scoring.py ships beside this file

import onnx_scoring  # noqa: E402
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType  # noqa: E402
from inference_schema.schema_decorators import input_schema, output_schema  # noqa: E402
from inference_schema.schema_util import get_input_schema, get_output_schema  # noqa: E402

try:  # the request/response helpers Azure's images provide (azureml-defaults) ...
    from azureml.contrib.services.aml_request import rawhttp
    from azureml.contrib.services.aml_response import AMLResponse
except ImportError:  # ... and the same in the inference server package itself
    from azureml_inference_server_http.api.aml_request import rawhttp
    from azureml_inference_server_http.api.aml_response import AMLResponse

logger = logging.getLogger("azmlinfsrv.score")
scorer: onnx_scoring.OnnxScorer | None = None
JSON_TYPES = ("application/json",)
#: Longest message this script writes to a log line.
LOG_CHARS = 300
#: A body over the limit is read and dropped up to this many bytes (then answered 413), so the client reads the
#: answer instead of a reset connection; a larger one is answered unread, and its connection may be reset.
DRAIN_BYTES = 32 * 2**20
#: ... and for at most this many seconds.
DRAIN_SECONDS = 10.0
#: The statuses this script answers on ``POST /score`` besides 200, as the OpenAPI document lists them.
ERROR_ANSWERS = {
    "400": "The request does not match the model's inputs, or the body is not UTF-8 JSON; the message says what "
           "was expected.",
    "401": "Missing or wrong key (Authorization: Bearer <key>).",
    "405": "Another method than POST.",
    "413": "Over a size limit: the body (MAX_BODY_BYTES), the batch (MAX_BATCH), the elements (MAX_ELEMENTS), an "
           "axis (MAX_DIM) or a string (MAX_STRING).",
    "415": "Another Content-Type than application/json.",
    "422": "A well-formed request the model cannot score: its output for these inputs holds NaN or infinity "
           "(values near the float32 limits overflow inside the model). Send values in the range the model was "
           "trained on.",
    "500": "The model failed while scoring; the message carries a request id for the server log.",
}


class _Schema(StandardPythonParameterType):
    """inference-schema's parameter type with a schema written here (exact lengths and ranges), not inferred."""

    def __init__(self, schema: dict):
        super().__init__(schema.get("example", {}))
        self._schema = schema

    def input_to_swagger(self) -> dict:
        return self._schema


def init() -> None:
    """Load the model once per worker process, and publish its schema for the OpenAPI document."""
    global scorer
    path = onnx_scoring.find_model(os.environ.get("AZUREML_MODEL_DIR"), os.environ.get("MODEL_FILE") or None)
    scorer = onnx_scoring.OnnxScorer(path, threads=int(os.environ.get("ORT_THREADS", "1")),
                                     limits=onnx_scoring.Limits.from_env())
    _publish_schema(scorer)
    _document_error_answers()
    logger.info("Loaded %s: %s", path, scorer.describe())


def _publish_schema(model: onnx_scoring.OnnxScorer) -> None:
    """Register the model's request and answer schemas under ``run`` for the server's OpenAPI document.

    inference-schema's decorators record a schema per function name; ``run`` is not wrapped (it stays the
    raw-request function). The registered input schema is then made exact: ``inputs`` required, nothing
    else allowed, and not the ``request`` argument the decorator lists by default.
    """
    input_schema("inputs", _Schema(model.input_schema()), convert_to_provided_type=False)(run)
    registered_in = get_input_schema(run)
    for part in ("properties", "example"):
        registered_in[part].pop("request", None)
    registered_in.update(required=["inputs"], additionalProperties=False)
    if registered_in["example"].get("inputs") is None:  # too large to show: no example rather than a wrong one
        registered_in.pop("example")
    answer = _Schema(model.output_schema())
    registered_out = get_output_schema(run)
    if "properties" in registered_out or "items" in registered_out:  # init() ran before in this process
        registered_out.clear()
        registered_out.update(answer.input_to_swagger())
    else:
        output_schema(answer)(run)


def _document_error_answers() -> None:
    """Add :data:`ERROR_ANSWERS` to the OpenAPI documents the server builds after ``init()`` (Swagger 2, OpenAPI 3
    and 3.1, from its own templates, which list only 200 and a catch-all ``default``). The server offers no hook
    for this, so its document builders are wrapped once per process; without them (another server version) the
    document keeps its ``default`` answer, which covers these statuses too."""
    try:
        from azureml_inference_server_http.server import swagger as server_swagger
    except ImportError:
        return
    for name, content in (("Swagger2Builder", False), ("Swagger3Builder", True)):
        builder = getattr(server_swagger, name, None)
        original = getattr(builder, "_update_definitions", None)
        if original is None or getattr(original, "documents_errors", False):
            continue

        def update(self, spec, input_schema, output_schema, _original=original, _content=content):
            _original(self, spec, input_schema, output_schema)
            for path, item in spec.get("paths", {}).items():
                if path.endswith("/score") and "post" in item:
                    _add_error_answers(item["post"].setdefault("responses", {}), _content)

        update.documents_errors = True
        builder._update_definitions = update


def _add_error_answers(responses: dict, openapi3: bool) -> None:
    ref = "#/components/schemas/ErrorResponse" if openapi3 else "#/definitions/ErrorResponse"
    for status, text in ERROR_ANSWERS.items():
        answer = {"description": text}
        if openapi3:
            answer["content"] = {"application/json": {"schema": {"$ref": ref}}}
        else:
            answer["schema"] = {"$ref": ref}
        responses.setdefault(status, answer)


def _drain(stream, most: int) -> bool:
    """Read and drop up to ``most`` bytes of the body within :data:`DRAIN_SECONDS`; True when it ended."""
    import time

    deadline = time.monotonic() + DRAIN_SECONDS
    while most > 0 and time.monotonic() < deadline:
        chunk = stream.read(min(most, 1 << 16))
        if not chunk:
            return True
        most -= len(chunk)
    return False


def _error(status: int, message: str, headers: dict | None = None, **extra) -> AMLResponse:
    if status < 500:
        logger.info("%d for request %s: %s", status, _request_id(), message[:LOG_CHARS])
    return AMLResponse({"message": message, **extra}, status, headers or {}, json_str=True)


@rawhttp
def run(request):
    """Score one request: ``POST {"inputs": {"<input name>": [[...]], ...}}``."""
    if request.method != "POST":
        if request.method == "OPTIONS":
            return AMLResponse("", 204, {"Allow": "POST"})
        return _error(405, f"Method {request.method[:10]} is not allowed on /score: POST a JSON body.",
                      {"Allow": "POST"})
    key = os.environ.get("ENDPOINT_KEY")
    if key and not hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {key}".encode()):
        return _error(401, "Missing or wrong key: send the header 'Authorization: Bearer <key>'.",
                      {"WWW-Authenticate": "Bearer"})
    if request.mimetype not in JSON_TYPES:
        return _error(415, f"Expects Content-Type application/json, got {request.mimetype[:40]!r}.")
    limit = scorer.limits.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        if request.content_length <= DRAIN_BYTES:
            _drain(request.stream, request.content_length)
        return _error(413, f"The body is {request.content_length:,} bytes, over the limit of {limit:,} (MAX_BODY_BYTES).")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        _drain(request.stream, DRAIN_BYTES)
        return _error(413, f"The body is over the limit of {limit:,} bytes (MAX_BODY_BYTES).")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        return _error(400, f"The body is not UTF-8 text: byte 0x{body[err.start]:02x} at position {err.start}. "
                           "Send JSON encoded as UTF-8.")
    if not text.strip():
        return _error(400, "The body is empty: send a JSON object {\"inputs\": {...}}.")
    try:
        document = json.loads(text)
    except ValueError as err:
        return _error(400, f"The body is not valid JSON: {str(err)[:120]}.")
    except RecursionError:
        return _error(400, "The body's JSON is nested too deeply to read; an input has at most a few axes.")
    if not isinstance(document, dict) or "inputs" not in document:
        return _error(400, "The body must be a JSON object with an 'inputs' key: {\"inputs\": {\"<input name>\": "
                           "[...]}}.", expected=scorer.describe()["inputs"])
    extra = [k for k in document if k != "inputs"]
    if extra:
        return _error(400, f"Unknown key(s) {onnx_scoring.bounded_names(extra)} beside 'inputs'.")
    try:
        answer = scorer.score(document["inputs"])
    except onnx_scoring.RequestError as err:
        return _error(err.status, str(err), expected=scorer.describe()["inputs"])
    except Exception:
        request_id = _request_id()
        logger.exception("Scoring failed for request %s", request_id)
        return _error(500, f"Internal error while scoring; the server log has the details (request id "
                           f"{request_id}).")
    try:
        payload = json.dumps(answer, allow_nan=False)
    except ValueError:  # check_outputs() lets no NaN through; a derived value (a probability) might overflow
        return _error(422, "The model cannot score this request: the answer holds NaN or infinity, which JSON "
                           "cannot carry. Send values in the range the model was trained on.")
    return AMLResponse(payload, 200, {"Content-Type": "application/json"})


def _request_id() -> str:
    """The id the server gives each request (also in the ``x-request-id`` response header)."""
    try:
        from flask import g

        return str(g.request_id)[:100]
    except Exception:  # outside a request (tests calling run() directly)
        return "unknown"
