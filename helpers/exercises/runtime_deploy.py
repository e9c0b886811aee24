"""Checks of the exercises of notebooks 30-32 (ONNX Runtime, tuning, quantization) and 40-41 (deployment).

Timing exercises are checked for consistency (a table of the right shape, percentiles in order, a profile
whose costliest operator the check finds itself), never for speed: the machine may be shared.
Solutions: ``workshop/solutions/3*_*.py`` and ``4*_*.py``.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from helpers.exercises import exercise, onnx_session


def _is_file(answer: Any, suffix: str = ".onnx") -> bool:
    return isinstance(answer, (str, Path)) and Path(answer).suffix == suffix and Path(answer).is_file()


# --- 30: inference -----------------------------------------------------------------------------------------------

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
    if not _is_file(answer):
        return "answer the path of the .onnx file you saved with onnx.save (it must exist)."
    custom = dict(onnx_session(answer).get_modelmeta().custom_metadata_map)
    if custom.get("version") != "1.0":
        return f"get_modelmeta().custom_metadata_map has no 'version': '1.0' entry (it has {sorted(custom)})."
    if "labels" not in custom:
        return "the 'labels' entry is gone: set_model_props replaces every entry, so pass the existing ones too."
    if json.loads(custom["labels"]) != list(labels):
        return "the 'labels' entry changed: keep the value the model had."
    return None


# --- 31: performance tuning --------------------------------------------------------------------------------------

_ROW_KEYS = ("batch", "median_ms", "p10_ms", "p90_ms", "runs", "threads")


@exercise("31.1", "time the CNN with 1 and with 2 intra-op threads at batch 1 and 64; answer the rows (with `threads`)")
def _check_thread_rows(answer: Any) -> str | None:
    if not isinstance(answer, (list, tuple)) or not all(isinstance(r, dict) for r in answer):
        return "answer a list of rows made by benchmark.result_row(..., threads=n)."
    missing = [k for k in _ROW_KEYS if any(k not in r for r in answer)]
    if missing:
        return f"some rows lack {missing}: use benchmark.result_row, and pass threads=n as an extra column."
    grid = {(r["threads"], r["batch"]) for r in answer}
    threads = {t for t, _ in grid}
    if 1 not in threads or len(threads) < 2:
        return f"compare 1 thread with more: the rows have threads {sorted(threads)}."
    expected = {(t, b) for t in threads for b in (1, 64)}
    if grid != expected or len(answer) != len(expected):
        return f"expected one row per thread count and batch (1 and 64), {len(expected)} rows; got {sorted(grid)}."
    for r in answer:
        numbers = [r["p10_ms"], r["median_ms"], r["p90_ms"]]
        if not all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in numbers):
            return f"row {r['threads']} threads, batch {r['batch']}: the timings are not positive numbers."
        if not numbers[0] <= numbers[1] <= numbers[2]:
            return f"row {r['threads']} threads, batch {r['batch']}: p10 <= median <= p90 does not hold; time it again."
        if r["runs"] < 3:
            return "time each case at least 3 times (repeats=...), or the median means little."
    return None


def _profile_by_op(path: Any) -> tuple[dict[str, float], list[list[int]]]:
    """Kernel time per operator type (us), and every input shape seen, from an ONNX Runtime profile."""
    by_op: dict[str, float] = {}
    shapes: list[list[int]] = []
    for ev in json.loads(Path(path).read_text(encoding="utf-8")):
        if ev.get("cat") != "Node" or not str(ev.get("name", "")).endswith("_kernel_time"):
            continue
        args = ev.get("args", {})
        by_op[args.get("op_name", "?")] = by_op.get(args.get("op_name", "?"), 0.0) + float(ev.get("dur", 0))
        for entry in args.get("input_type_shape", []):
            shapes += [list(s) for s in entry.values()]
    return by_op, shapes


@exercise("31.2", "profile the session at batch 1; answer {'profile': the trace file, 'costliest': its top operator}")
def _check_profile(answer: Any) -> str | None:
    if not isinstance(answer, dict) or not {"profile", "costliest"} <= set(answer):
        return "answer a dict {'profile': the path end_profiling() returned, 'costliest': an operator type}."
    if not _is_file(answer["profile"], ".json"):
        return "'profile' is not a .json file that exists: answer what end_profiling() returned."
    by_op, shapes = _profile_by_op(answer["profile"])
    if not by_op:
        return "the profile has no operator timings: run the session before end_profiling()."
    images = [s for s in shapes if len(s) == 4 and s[1:] == [1, 8, 8]]
    if not images:
        return "the profile holds no (batch, 1, 8, 8) image input: profile the digits CNN."
    if any(s[0] != 1 for s in images):
        return f"the profile ran batches of {sorted({s[0] for s in images})}: run it with one image, shape (1, 1, 8, 8)."
    top = max(by_op, key=by_op.get)
    if answer["costliest"] != top:
        return (f"{answer['costliest']!r} is not the costliest operator of this profile: add up the kernel times "
                "(benchmark.summarize_profile does) and take the first row.")
    return None


# --- 32: quantization --------------------------------------------------------------------------------------------

def _op_types(path: Any) -> set[str]:
    import onnx

    return {node.op_type for node in onnx.load(str(path)).graph.node}


@exercise("32.1", "recalibrate the CNN's static int8 QDQ model; answer {'model': its path, 'accuracy': on the test set}")
def _check_recalibrated(answer: Any, *, notebook_model: Any, X_test: np.ndarray, y_test: np.ndarray) -> str | None:
    if not isinstance(answer, dict) or not {"model", "accuracy"} <= set(answer):
        return "answer a dict {'model': the path of your quantized model, 'accuracy': its test accuracy}."
    path = answer["model"]
    if not _is_file(path):
        return "'model' is not an .onnx file that exists."
    if Path(path).read_bytes() == Path(notebook_model).read_bytes():
        return "that is the notebook's own int8 model: quantize again with fewer images or another calibrate_method."
    if not {"QuantizeLinear", "DequantizeLinear"} <= _op_types(path):
        return "the model has no QuantizeLinear/DequantizeLinear pairs: use quantize_static with QuantFormat.QDQ."
    session = onnx_session(path)
    logits = session.run(None, {session.get_inputs()[0].name: X_test})[0]
    accuracy = float((logits.argmax(1) == y_test).mean())
    if not isinstance(answer["accuracy"], (int, float, np.floating)) or abs(float(answer["accuracy"]) - accuracy) > 1e-6:
        return "the accuracy is not this model's on the whole test set: compare argmax of its logits with y_test."
    return None


@exercise("32.2", "time fp32 and int8 MiniLM at 32 tokens, interleaved; answer {'feeds': ..., 'times': ...}")
def _check_short_sentences(answer: Any) -> str | None:
    if not isinstance(answer, dict) or not {"feeds", "times"} <= set(answer):
        return "answer a dict {'feeds': the tokenized sentence you timed, 'times': what time_interleaved returned}."
    ids = np.asarray(answer["feeds"].get("input_ids")) if isinstance(answer["feeds"], dict) else None
    if ids is None or ids.ndim != 2 or ids.shape[1] != 32:
        return "the feeds are not 32 tokens long: minilm.tokenize(tokenizer, sentences[:1], max_length=32)."
    times = answer["times"]
    if not isinstance(times, dict) or not any("fp32" in k for k in times) or not any("int8" in k for k in times):
        return f"time an fp32 and an int8 model (names containing 'fp32' and 'int8'); got {list(times)[:6]}."
    for name, t in times.items():
        if not all(hasattr(t, k) for k in ("min", "p10", "median", "p90", "n")):
            return f"{name!r}: answer the Stats that benchmark.time_interleaved returns."
        if not 0 < t.min <= t.median <= t.p90 or t.n < 3:
            return f"{name!r}: the timings are inconsistent (min <= median <= p90, at least 3 runs); time it again."
    return None


@exercise("32.3", "quantize the unfused fp32 MiniLM with quantize_static (S8S8 QDQ); answer the model's path")
def _check_static_minilm(answer: Any, *, tokenizer: Any, sentences: list[str], fp32_embeddings: np.ndarray,
                         min_cosine: float = 0.8) -> str | None:
    from helpers import minilm

    if not _is_file(answer):
        return "answer the path of the .onnx file quantize_static wrote."
    ops = _op_types(answer)
    if "MatMulInteger" in ops or "DynamicQuantizeLinear" in ops:
        return "this is a dynamic int8 model: use quantize_static with a CalibrationDataReader."
    if not {"QuantizeLinear", "DequantizeLinear"} <= ops:
        return "the model has no QuantizeLinear/DequantizeLinear pairs: pass quant_format=QuantFormat.QDQ."
    embeddings = minilm.embed_onnx(str(answer), sentences, tokenizer)
    cosine = minilm.cosine_rows(np.asarray(fp32_embeddings), embeddings)
    if float(cosine.mean()) < min_cosine:
        return (f"the embeddings are far from fp32 (cosine mean {float(cosine.mean()):.2f} < {min_cosine}): calibrate "
                "on tokenized sentences with their attention masks, and keep the activations signed (QInt8).")
    return None


# --- 40: the local endpoint --------------------------------------------------------------------------------------

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
    if "8" not in text or "9" not in text:
        return "the 413 is not about a batch of 9 over a limit of 8: check MAX_BATCH and the batch size."
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
    folders = [Path(p) for p in re.findall(r"(/[^\s'\"),:]+)", str(answer))]
    empty = [p for p in folders if p.is_dir() and not any(p.rglob("*.onnx"))]
    if not empty:
        return "the error names no empty model folder: point model_dir at a folder with no .onnx file in it."
    return None


# --- 41: Azure ML (offline) --------------------------------------------------------------------------------------

@exercise("41.1", "add a deployment 'green' (2 instances), split traffic 90/10; answer write_v2_yaml's paths")
def _check_blue_green(answer: Any) -> str | None:
    from azure.ai.ml import load_online_deployment, load_online_endpoint

    if not isinstance(answer, dict) or not {"endpoint", "deployment"} <= set(answer):
        return "answer the dict azure.write_v2_yaml returned for the green deployment (keys 'endpoint', 'deployment')."
    endpoint = load_online_endpoint(source=str(answer["endpoint"]))
    deployment = load_online_deployment(source=str(answer["deployment"]))
    if deployment.name != "green" or deployment.instance_count != 2:
        return (f"the deployment is {deployment.name!r} with {deployment.instance_count} instance(s): "
                "name it 'green', with instance_count=2.")
    if deployment.endpoint_name != endpoint.name:
        return "the green deployment belongs to another endpoint: use the same endpoint_name."
    traffic = dict(endpoint.traffic or {})
    if traffic != {"blue": 90, "green": 10}:
        return f"the endpoint's traffic is {traffic}: set endpoint.traffic = {{'blue': 90, 'green': 10}} before writing."
    return None


@exercise("41.2", "F2s_v2 and a 100 ms request timeout: answer {'deployment': the YAML path, 'hit_first': a setting}")
def _check_limits(answer: Any) -> str | None:
    from azure.ai.ml import load_online_deployment

    if not isinstance(answer, dict) or not {"deployment", "hit_first"} <= set(answer):
        return "answer a dict {'deployment': the deployment YAML you wrote, 'hit_first': the name of a setting}."
    d = load_online_deployment(source=str(answer["deployment"]))
    if d.instance_type != "Standard_F2s_v2":
        return f"the deployment runs on {d.instance_type}: set instance_type='Standard_F2s_v2'."
    if d.request_settings is None or d.request_settings.request_timeout_ms != 100:
        return "request_settings.request_timeout_ms is not 100 in the file you wrote."
    limits = {"request_timeout_ms": d.request_settings.request_timeout_ms,
              "max_queue_wait_ms": d.request_settings.max_queue_wait_ms}
    for probe in ("liveness_probe", "readiness_probe"):
        settings = getattr(d, probe)
        if settings is not None and settings.timeout is not None:
            limits[f"{probe}.timeout"] = settings.timeout * 1000
    first = min((v, k) for k, v in limits.items() if v is not None)[1]
    if not isinstance(answer["hit_first"], str) or not (answer["hit_first"] == first
                                                        or answer["hit_first"].endswith("." + first)):
        return ("not that one: compare every time limit of the deployment in milliseconds (request settings and "
                "probe timeouts, which are in seconds); a slow request meets the smallest first.")
    return None
