"""Checks of the exercises of notebooks/32_quantization.ipynb; reference solutions in exercises/solutions/32_quantization.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from exercises import answer_file, exercise, onnx_session


def _op_types(path: Any) -> set[str]:
    import onnx

    return {node.op_type for node in onnx.load(str(path)).graph.node}


@exercise("32.1", "recalibrate the CNN's static int8 QDQ model; answer {'model': its path, 'accuracy': on the test set}")
def _check_recalibrated(answer: Any, *, notebook_model: Any, X_test: np.ndarray, y_test: np.ndarray) -> str | None:
    if not isinstance(answer, dict) or not {"model", "accuracy"} <= set(answer):
        return "answer a dict {'model': the path of your quantized model, 'accuracy': its test accuracy}."
    path = answer["model"]
    if answer_file(path):
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

    if answer_file(answer):
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
