"""Checks of the exercises of notebooks/32_quantization.ipynb; reference solutions in exercises/solutions/32_quantization.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from exercises import answer_file, exercise, load_onnx, onnx_session


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
    theirs = onnx_session(notebook_model)
    agree = float((logits.argmax(1) == theirs.run(None, {theirs.get_inputs()[0].name: X_test})[0].argmax(1)).mean())
    if agree < 0.8:
        return (f"this model's labels agree with the notebook's int8 CNN on only {agree:.0%} of the test set: quantize "
                "the digits CNN (cnn_prep), not another model.")
    accuracy = float((logits.argmax(1) == y_test).mean())
    if not isinstance(answer["accuracy"], (int, float, np.floating)) or abs(float(answer["accuracy"]) - accuracy) > 1e-6:
        return "the accuracy is not this model's on the whole test set: compare argmax of its logits with y_test."
    return None


def _session(model: Any) -> Any:
    return model if hasattr(model, "run") and hasattr(model, "get_inputs") else onnx_session(model)


def _run(session: Any, feeds: dict) -> np.ndarray:
    declared = {i.name for i in session.get_inputs()}
    return session.run(None, {k: v for k, v in feeds.items() if k in declared})[0]


@exercise("32.2", "time fp32 and int8 MiniLM at 32 tokens, interleaved; answer {'feeds': ..., 'times': ...}")
def _check_short_sentences(answer: Any, *, fp32: Any, int8: Any) -> str | None:
    from exercises.measured import implausible_time, own_timing_ms
    from helpers import minilm

    if not isinstance(answer, dict) or not {"feeds", "times"} <= set(answer):
        return "answer a dict {'feeds': the tokenized sentence you timed, 'times': what time_interleaved returned}."
    feeds = answer["feeds"]
    ids = np.asarray(feeds.get("input_ids")) if isinstance(feeds, dict) else None
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
    sessions = {"fp32": _session(fp32), "int8": _session(int8)}
    try:  # the answered feeds, through both models: they must be feeds the two encoders take
        hidden = {kind: _run(s, feeds) for kind, s in sessions.items()}
    except Exception as err:
        return f"the feeds do not run through MiniLM ({type(err).__name__}): answer the dict minilm.tokenize returned."
    mask = np.asarray(feeds.get("attention_mask", np.ones_like(ids)))
    cosine = float(minilm.cosine_rows(minilm.mean_pool(hidden["fp32"], mask), minilm.mean_pool(hidden["int8"], mask)).min())
    if cosine < 0.9:
        return f"the int8 model's embedding is far from fp32's on your feeds (cosine {cosine:.2f}): time the notebook's pair."
    for kind, s in sessions.items():
        own = own_timing_ms(lambda s=s: _run(s, feeds))
        for name, t in times.items():
            if kind in name:
                hint = implausible_time(t.median, own, name)
                if hint:
                    return hint
    return None


_QOPERATOR = ("QLinear", "Integer", "DynamicQuantize", "QGemm", "QAttention")


def _qdq_int8_hint(path: Any) -> str | None:
    """A hint when ``path`` is not an S8S8 QDQ model (signed int8 activations and weights), else None."""
    import onnx

    model = load_onnx(path)
    ops = {node.op_type for node in model.graph.node}
    if "MatMulInteger" in ops or "DynamicQuantizeLinear" in ops:
        return "this is a dynamic int8 model: use quantize_static with a CalibrationDataReader."
    integer_ops = sorted(op for op in ops if any(mark in op for mark in _QOPERATOR))
    if integer_ops:
        return (f"this is a QOperator model ({', '.join(integer_ops[:3])}): pass quant_format=QuantFormat.QDQ, "
                "so the float operators stay between QuantizeLinear/DequantizeLinear pairs.")
    if not {"QuantizeLinear", "DequantizeLinear"} <= ops:
        return "the model has no QuantizeLinear/DequantizeLinear pairs: pass quant_format=QuantFormat.QDQ."
    inits = {t.name: t for t in model.graph.initializer}
    unsigned = onnx.TensorProto.UINT8
    activations = [inits[n.input[2]].data_type for n in model.graph.node
                   if n.op_type == "QuantizeLinear" and len(n.input) > 2 and n.input[2] in inits]
    if not activations or any(t == unsigned for t in activations):
        return "the activations are quantized to uint8 (U8): S8S8 wants activation_type=QuantType.QInt8."
    weights = [inits[n.input[0]].data_type for n in model.graph.node
               if n.op_type == "DequantizeLinear" and n.input[0] in inits]
    if not weights or any(t != onnx.TensorProto.INT8 for t in weights):
        return "the weights are not stored as int8: S8S8 wants weight_type=QuantType.QInt8."
    return None


@exercise("32.3", "quantize the unfused fp32 MiniLM with quantize_static (S8S8 QDQ), cosine mean >= 0.99; answer its path")
def _check_static_minilm(answer: Any, *, feeds: dict, fp32_embeddings: np.ndarray, min_cosine: float = 0.99) -> str | None:
    from helpers import minilm

    if answer_file(answer):
        return "answer the path of the .onnx file quantize_static wrote."
    hint = _qdq_int8_hint(answer)
    if hint:
        return hint
    embeddings = minilm.mean_pool(_run(onnx_session(answer), feeds), feeds["attention_mask"])
    cosine = minilm.cosine_rows(np.asarray(fp32_embeddings), embeddings)
    if float(cosine.mean()) < min_cosine:
        return (f"the embeddings are far from fp32 (cosine mean {float(cosine.mean()):.3f} < {min_cosine}): calibrate on "
                "tokenized sentences with their attention masks, and find the MatMuls whose int8 inputs lose the most "
                "(the ones after GELU see outliers): leave those in float with nodes_to_exclude.")
    return None
