"""int8 routes for MiniLM beyond dynamic quantization, and the profile split that says where an int8 model's time
goes; the ``int8`` part of ``make benchmark`` (workbook.benchmark_parts.bench_int8). The quantization calls are
taught in notebooks/32_quantization.ipynb.

>>> op_group("DynamicQuantizeLinear"), op_group("Softmax")
('activation quantization', 'other float ops')
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers.benchmark import summarize_profile, time_interleaved
from helpers.report import Table
from helpers.runtime import make_session

#: Operator types by the part of an int8 model's time they stand for. Fused int8 kernels
#: (``DynamicQuantizeMatMul``, ``QAttention``) quantize their input activations inside: their time is counted as
#: quantized MatMul; profile at ``optimization="basic"`` to see ``DynamicQuantizeLinear`` on its own.
OP_GROUPS: dict[str, tuple[str, ...]] = {
    "quantized MatMul": ("MatMulInteger", "QLinearMatMul", "DynamicQuantizeMatMul", "MatMulIntegerToFloat",
                         "MatMulNBits", "QAttention", "QGemm", "QLinearConv", "ConvInteger", "QOrderedMatMul"),
    "activation quantization": ("DynamicQuantizeLinear", "QuantizeLinear", "DequantizeLinear",
                                "DynamicQuantizeLSTM"),
    "float MatMul / attention": ("MatMul", "Gemm", "FusedMatMul", "FusedGemm", "Attention", "MultiHeadAttention",
                                 "Conv", "FusedConv"),
}


def op_group(op: str) -> str:
    """The :data:`OP_GROUPS` group of an operator type, or ``"other float ops"``."""
    return next((g for g, ops in OP_GROUPS.items() if op in ops), "other float ops")


def profile_ops(path: str | os.PathLike[str], runs: int = 1) -> dict[str, dict[str, float]]:
    """``{operator type: {"calls", "ms_per_run"}}`` of a profile holding ``runs`` runs."""
    return {r["operator"]: {"calls": r["calls"] / runs, "ms_per_run": r["total_us"] / 1e3 / runs}
            for r in summarize_profile(path, top=None).rows}


def profile_split(path: str | os.PathLike[str], runs: int = 1, title: str = "Where the time goes") -> Table:
    """The kernel time of a profile split by :data:`OP_GROUPS`: one row per group (ms per run, share, operators).

    runs: how many ``run`` calls the profile holds (times are per run). The notes give the gain int8 could reach
    at most if only the quantized MatMuls got faster (Amdahl's law).
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1; got {runs}.")
    ops = profile_ops(path, runs)
    total = sum(d["ms_per_run"] for d in ops.values())
    groups: dict[str, dict[str, Any]] = {g: {"group": g, "ms_per_run": 0.0, "calls_per_run": 0.0, "operators": []}
                                         for g in (*OP_GROUPS, "other float ops")}
    for op, d in sorted(ops.items(), key=lambda kv: -kv[1]["ms_per_run"]):
        g = groups[op_group(op)]
        g["ms_per_run"] += d["ms_per_run"]
        g["calls_per_run"] += d["calls"]
        g["operators"].append(f"{op} {d['ms_per_run']:.2f}")
    rows = []
    for g in groups.values():
        if g["calls_per_run"]:
            rows.append({"group": g["group"], "ms_per_run": g["ms_per_run"],
                         "share": f"{g['ms_per_run'] / total:.1%}" if total else "-",
                         "calls_per_run": round(g["calls_per_run"], 1), "operators (ms per run)": ", ".join(g["operators"])})
    rest = total - groups["quantized MatMul"]["ms_per_run"]
    notes = [f"{total:.2f} ms per run in kernels over {runs} run(s)."]
    if groups["quantized MatMul"]["calls_per_run"] and rest > 0:
        notes.append(f"Even infinitely fast quantized MatMuls would leave {rest:.2f} ms: this model's runs can get at "
                     f"most {total / rest:.2f}x faster by speeding them up alone.")
    return Table(rows, ("group", "ms_per_run", "share", "calls_per_run", "operators (ms per run)"), title=title,
                 notes=notes)


def profile_models(paths: Mapping[str, str | os.PathLike[str]], feeds: Mapping[str, np.ndarray],
                   folder: str | os.PathLike[str], threads: int = 2, runs: int = 20,
                   optimization: str = "all") -> dict[str, Path]:
    """Profile several models in turns (A, B, A, B, ...: the same machine load for each); ``{name: trace}``.

    Each session runs 3 warm-up runs and then ``runs`` more, all with the profiler on: divide by ``runs + 3``.
    optimization: ``"all"`` (fused int8 kernels such as ``DynamicQuantizeMatMul``) or ``"basic"`` (activation
    quantization as separate ``DynamicQuantizeLinear`` nodes).
    """
    Path(folder).mkdir(parents=True, exist_ok=True)
    sessions = {name: make_session(path, intra_op_threads=threads, spinning=False, optimization=optimization,
                                   profile_prefix=Path(folder) / f"profile_{Path(path).stem}_{optimization}")
                for name, path in paths.items()}
    time_interleaved({name: lambda s=sess: s.run(None, dict(feeds)) for name, sess in sessions.items()}, warmup=0,
                     repeats=runs + 3)
    return {name: Path(sess.end_profiling()) for name, sess in sessions.items()}


class SentenceReader:
    """A ``CalibrationDataReader`` of tokenized sentences (``get_next``/``rewind``), padded to ``max_length``."""

    def __init__(self, tokenizer: Any, sentences: Sequence[str], max_length: int = 128, batch_size: int = 8,
                 input_names: Sequence[str] | None = None) -> None:
        from helpers import minilm

        names = tuple(input_names or minilm.INPUT_NAMES)
        self.batches = []
        for i in range(0, len(sentences), batch_size):
            feeds = minilm.tokenize(tokenizer, sentences[i : i + batch_size], max_length=max_length)
            self.batches.append({k: v for k, v in feeds.items() if k in names})
        if not self.batches:
            raise ValueError("SentenceReader needs at least one sentence to calibrate on.")
        self.rewind()

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._iter, None)

    def rewind(self) -> None:
        self._iter = iter(self.batches)


def quantize_static_qdq(src: str | os.PathLike[str], dst: str | os.PathLike[str], reader: Any,
                        per_channel: bool = True, method: str = "MinMax", activations: str = "QInt8",
                        op_types: Sequence[str] = ("MatMul",), extra_options: Mapping[str, Any] | None = None) -> Path:
    """Static QDQ: ``quantize_static`` with int8 weights (symmetric) and activations calibrated by ``reader``.

    activations: ``QInt8`` (S8S8, symmetric: ONNX Runtime's recommended default) or ``QUInt8`` (U8S8, asymmetric:
    what x86's VNNI instruction multiplies natively); method: ``MinMax``, ``Percentile`` or ``Entropy``;
    op_types: the operators to quantize (the MatMuls carry the weights; Add, Gather and fused float kernels stay).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    extra = {"ActivationSymmetric": activations == "QInt8", "WeightSymmetric": True} | dict(extra_options or {})
    quantize_static(str(src), str(dst), reader, quant_format=QuantFormat.QDQ,
                    activation_type=getattr(QuantType, activations),
                    weight_type=QuantType.QInt8, per_channel=per_channel, op_types_to_quantize=list(op_types),
                    calibrate_method=getattr(CalibrationMethod, method), extra_options=extra)
    return Path(dst)


def quantize_nbits(src: str | os.PathLike[str], dst: str | os.PathLike[str], bits: int = 4, block_size: int = 32,
                   accuracy_level: int | None = 4) -> Path:
    """Weight-only ``MatMulNBits``: block-wise symmetric ``bits``-bit weights of every constant-weight MatMul.

    accuracy_level: 4 computes with int8 activations (quantized per block at run time); ``None`` in float32.
    """
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    if bits not in (4, 8):
        raise ValueError(f"MatMulNBits here takes bits=4 or 8; got {bits}.")
    quant = MatMulNBitsQuantizer(onnx.load(str(src)), bits=bits, block_size=block_size, is_symmetric=True,
                                 accuracy_level=accuracy_level)
    quant.process()
    quant.model.save_model_to_file(str(dst), use_external_data_format=False)
    return Path(dst)


def fuse_mha(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> dict[str, int]:
    """onnxscript's ``optimize_for_ort`` without its last attention step: ``MultiHeadAttention`` with Q, K, V as
    separate ``MatMul`` nodes, which ``quantize_dynamic`` then makes int8 (a packed ``Attention`` node keeps its
    Q/K/V weights float32: ``QAttention`` has no input for the attention bias that carries the mask).

    Skips ``onnxscript.rewriter.ort_fusions._core.fuse_attention`` (a private name: the count check below says so
    if a newer onnxscript moves it). Returns the fusion counts.
    """
    from unittest import mock

    import onnx_ir as ir
    from onnxscript.rewriter.ort_fusions import _core, optimize_for_ort

    if not hasattr(_core, "fuse_attention"):
        raise RuntimeError("onnxscript.rewriter.ort_fusions._core.fuse_attention is gone in this onnxscript; "
                           "fuse_mha needs a new way to stop before the packed Attention fusion.")
    with mock.patch.object(_core, "fuse_attention", lambda model, debug=False: 0):
        model, counts = optimize_for_ort(ir.load(str(src)))
    mha = sum(node.op_type == "MultiHeadAttention" for node in model.graph)
    if not mha:
        raise RuntimeError(f"fuse_mha found no attention to fuse in {src} (fusions: {counts}).")
    ir.save(model, str(dst))
    return {k: v for k, v in counts.items() if v}


#: The int8 routes :func:`compare_int8_routes` builds from the MHA-fused graph: ``(kind, keyword arguments)``.
INT8_ROUTES: dict[str, tuple[str, dict[str, Any]]] = {
    "static QDQ S8S8 (MinMax, per-channel)": ("qdq", {"activations": "QInt8"}),
    "static QDQ U8S8 (MinMax, per-channel)": ("qdq", {"activations": "QUInt8"}),
    "MatMulNBits int8 (block 32, int8 compute)": ("nbits", {"bits": 8}),
    "MatMulNBits int4 (block 32, int8 compute)": ("nbits", {"bits": 4}),
}


def build_int8_routes(src: str | os.PathLike[str], folder: str | os.PathLike[str], tokenizer: Any,
                      sentences: Sequence[str], routes: Sequence[str] | None = None) -> dict[str, Path]:
    """Build (once; cached by file name) the :data:`INT8_ROUTES` of the float graph ``src``; ``{route: file}``.

    Static routes calibrate on ``sentences`` padded to 128 tokens (the shipped data/sentences.txt).
    """
    import onnx

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in routes or INT8_ROUTES:
        kind, kw = INT8_ROUTES[name]
        slug = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
        dst = folder / f"{Path(src).stem}_{slug}.onnx"
        if not dst.exists():
            tmp = dst.with_name(f"{dst.stem}.tmp{os.getpid()}.onnx")
            if kind == "qdq":
                quantize_static_qdq(src, tmp, SentenceReader(tokenizer, sentences, max_length=128, batch_size=2),
                                    extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT}, **kw)
            else:
                quantize_nbits(src, tmp, **kw)
            tmp.replace(dst)
        out[name] = dst
    return out


def compare_int8_routes(candidates: Mapping[str, str | os.PathLike[str]], baseline: str, tokenizer: Any,
                        sentences: Sequence[str], threads: int = 2, seq_len: int = 128, repeats: int = 40,
                        max_seconds: float = 40.0) -> list[dict[str, Any]]:
    """Fidelity (masked mean-pooled cosine to ``baseline`` over ``sentences``) and speed (batch 1, ``seq_len``
    tokens, all models timed in turns) of each candidate; the speed-ups are over ``baseline``."""
    from helpers import minilm
    from helpers.inspect import file_size_mb

    sessions = {name: make_session(path, intra_op_threads=threads, spinning=False) for name, path in candidates.items()}
    ref = minilm.embed_onnx(sessions[baseline], sentences, tokenizer)
    feeds = minilm.tokenize(tokenizer, sentences[:1], max_length=seq_len)
    cpu: dict[str, Any] = {}
    stats = time_interleaved({n: (lambda s=s: s.run(None, feeds)) for n, s in sessions.items()}, warmup=3,
                             repeats=repeats, max_seconds=max_seconds, cpu=cpu)
    rows = []
    for name, st in stats.items():
        cos = minilm.cosine_rows(ref, minilm.embed_onnx(sessions[name], sentences, tokenizer))
        rows.append({"model": name, "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
                     "meets_0.99": bool(cos.mean() >= 0.99), "MB": file_size_mb(candidates[name]),
                     "median_ms": st.median, "best_ms": st.min, "cpu_ms": cpu[name].median,
                     "speedup_best": stats[baseline].min / st.min, "speedup_cpu": cpu[baseline].median / cpu[name].median})
    return rows
