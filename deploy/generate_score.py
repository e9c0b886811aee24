"""Scoring script for a generative model (ONNX Runtime GenAI) behind the Azure ML inference server.

The pattern of ``score.py``, changed for generation (notebooks/33_generative_llm.ipynb, step 8):

- ``init()`` runs once per worker: it finds the folder holding ``genai_config.json`` under
  ``AZUREML_MODEL_DIR`` (the model builder's output folder, as registered) and loads ``og.Model`` and
  ``og.Tokenizer`` once. Loading a language model is the slow part; a request never does it.
- ``run(request)`` takes ``POST {"prompt": "...", "max_new_tokens": N}`` (``max_new_tokens`` optional, default
  ``DEFAULT_NEW_TOKENS``) and answers ``{"text", "prompt_tokens", "generated_tokens", "finish_reason",
  "time_ms", "tokens_per_s"}``: greedy decoding, so the same prompt gives the same text. Every bad request gets
  a 4xx with ``{"message": ...}`` before the model runs: wrong method (405), wrong content type (415), a body
  over ``MAX_BODY_BYTES`` (413), not UTF-8 or not JSON (400), not an object, unknown keys, a prompt that is
  not a non-empty string or is longer than ``MAX_PROMPT_CHARS``, ``max_new_tokens`` not a whole number in
  1..``MAX_NEW_TOKENS``, or a prompt whose tokens plus ``max_new_tokens`` exceed the model's context (400).
  A failure inside the model gets a 500 with a request id; the traceback goes to the log.
- Keys: like ``score.py``, the script checks ``Authorization: Bearer <ENDPOINT_KEY>`` when ``ENDPOINT_KEY`` is
  set (the local server checks none; Azure's managed endpoint checks its own keys: leave it unset there).

One request generates at a time per worker; a generation holds its worker for its whole length, so size
``MAX_NEW_TOKENS`` and the worker count for the latency you promise.

Settings (environment variables): ``MAX_NEW_TOKENS`` (256), ``DEFAULT_NEW_TOKENS`` (32), ``MAX_PROMPT_CHARS``
(4000), ``MAX_BODY_BYTES`` (65536), ``ORT_THREADS`` (ONNX Runtime threads per worker, 1), ``ENDPOINT_KEY``.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from pathlib import Path

try:  # the request/response helpers Azure's images provide (azureml-defaults) ...
    from azureml.contrib.services.aml_request import rawhttp
    from azureml.contrib.services.aml_response import AMLResponse
except ImportError:  # ... and the same in the inference server package itself
    from azureml_inference_server_http.api.aml_request import rawhttp
    from azureml_inference_server_http.api.aml_response import AMLResponse

logger = logging.getLogger("azmlinfsrv.generate_score")
MAX_NEW_TOKENS = int(os.environ.get("MAX_NEW_TOKENS", "256"))
DEFAULT_NEW_TOKENS = int(os.environ.get("DEFAULT_NEW_TOKENS", "32"))
MAX_PROMPT_CHARS = int(os.environ.get("MAX_PROMPT_CHARS", "4000"))
MAX_BODY_BYTES = int(os.environ.get("MAX_BODY_BYTES", "65536"))
KEYS = {"prompt", "max_new_tokens"}

model = None
tokenizer = None
context_length = 0


class RequestError(ValueError):
    """A request this endpoint refuses, with the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def find_model_folder(root: str | os.PathLike[str] | None) -> Path:
    """The one folder under ``root`` holding a ``genai_config.json`` (the model builder's output)."""
    if not root:
        raise FileNotFoundError("AZUREML_MODEL_DIR is not set: start the server with --model_dir <folder>.")
    found = sorted(Path(root).rglob("genai_config.json"))
    if len(found) != 1:
        raise FileNotFoundError(f"Expected one genai_config.json under {root} (the model builder's output folder), "
                                f"found {len(found)}: {[str(p) for p in found[:5]]}.")
    return found[0].parent


def init() -> None:
    """Load the model and its tokenizer once per worker process."""
    global model, tokenizer, context_length
    import onnxruntime_genai as og

    folder = find_model_folder(os.environ.get("AZUREML_MODEL_DIR"))
    config = og.Config(str(folder))
    threads = int(os.environ.get("ORT_THREADS", "1"))
    config.overlay(json.dumps({"model": {"decoder": {"session_options": {"intra_op_num_threads": threads}}}}))
    model = og.Model(config)
    tokenizer = og.Tokenizer(model)
    context_length = int(json.loads((folder / "genai_config.json").read_text())["model"]["context_length"])
    logger.info("Loaded %s (context %d tokens, %d threads)", folder, context_length, threads)


def parse_request(document: object) -> tuple[str, int]:
    """Check a decoded JSON request; returns ``(prompt, max_new_tokens)`` or raises :class:`RequestError`."""
    if not isinstance(document, dict):
        raise RequestError("The body must be a JSON object: {\"prompt\": \"...\", \"max_new_tokens\": 32}.")
    unknown = sorted(str(k)[:40] for k in document if k not in KEYS)
    if unknown:
        raise RequestError(f"Unknown key(s) {unknown[:5]}; this endpoint takes 'prompt' and 'max_new_tokens'.")
    prompt = document.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise RequestError("'prompt' must be a non-empty string.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise RequestError(f"'prompt' has {len(prompt):,} characters, over the limit of {MAX_PROMPT_CHARS:,} "
                           "(MAX_PROMPT_CHARS).", 413)
    new = document.get("max_new_tokens", DEFAULT_NEW_TOKENS)
    if isinstance(new, bool) or not isinstance(new, int) or not 1 <= new <= MAX_NEW_TOKENS:
        raise RequestError(f"'max_new_tokens' must be a whole number from 1 to {MAX_NEW_TOKENS} (MAX_NEW_TOKENS), "
                           f"got {json.dumps(new)[:40]}.")
    return prompt, new


def generate(prompt: str, max_new_tokens: int) -> dict:
    """Greedy generation with ONNX Runtime GenAI; raises :class:`RequestError` when the context is too short."""
    import onnxruntime_genai as og

    ids = tokenizer.encode(prompt)
    if len(ids) + max_new_tokens > context_length:
        raise RequestError(f"The prompt is {len(ids)} tokens; with max_new_tokens={max_new_tokens} that exceeds the "
                           f"model's context of {context_length} tokens. Shorten the prompt or ask for fewer tokens.")
    params = og.GeneratorParams(model)
    params.set_search_options(do_sample=False, max_length=len(ids) + max_new_tokens)
    generator = og.Generator(model, params)
    start = time.perf_counter()
    generator.append_tokens(ids)
    new: list[int] = []
    while not generator.is_done():
        generator.generate_next_token()
        new.append(int(generator.get_next_tokens()[0]))
    seconds = time.perf_counter() - start
    finished = "eos" if new and new[-1] in set(tokenizer.eos_token_ids) else "length"
    return {"text": tokenizer.decode(new), "prompt_tokens": len(ids), "generated_tokens": len(new),
            "finish_reason": finished, "time_ms": round(seconds * 1e3, 2),
            "tokens_per_s": round(len(new) / seconds, 1) if seconds > 0 else None}


def _error(status: int, message: str, headers: dict | None = None) -> AMLResponse:
    if status < 500:
        logger.info("%d: %s", status, message[:300])
    return AMLResponse({"message": message}, status, headers or {}, json_str=True)


@rawhttp
def run(request):
    """Generate for one request: ``POST {"prompt": "...", "max_new_tokens": 32}``."""
    if request.method != "POST":
        return _error(405, f"Method {request.method[:10]} is not allowed on /score: POST a JSON body.", {"Allow": "POST"})
    key = os.environ.get("ENDPOINT_KEY")
    if key and not hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {key}".encode()):
        return _error(401, "Missing or wrong key: send the header 'Authorization: Bearer <key>'.",
                      {"WWW-Authenticate": "Bearer"})
    if request.mimetype != "application/json":
        return _error(415, f"Expects Content-Type application/json, got {request.mimetype[:40]!r}.")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _error(413, f"The body is {request.content_length:,} bytes, over the limit of {MAX_BODY_BYTES:,}.")
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _error(413, f"The body is over the limit of {MAX_BODY_BYTES:,} bytes (MAX_BODY_BYTES).")
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return _error(400, "The body is not UTF-8 text: send JSON encoded as UTF-8.")
    except (ValueError, RecursionError) as err:
        return _error(400, f"The body is not valid JSON: {str(err)[:120]}.")
    try:
        prompt, new = parse_request(document)
        answer = generate(prompt, new)
    except RequestError as err:
        return _error(err.status, str(err))
    except Exception:
        logger.exception("Generation failed")
        return _error(500, "Internal error while generating; the server log has the details.")
    return AMLResponse(json.dumps(answer), 200, {"Content-Type": "application/json"})
