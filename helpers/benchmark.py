"""Honest latency benchmarks: ONNX Runtime against the framework that made the model, with spread.

One implementation for the notebooks (31 and 32) and the command ``make benchmark``
(``python -m helpers.benchmark``). Every measurement warms up first, then times repeated runs and
reports the median with the 10th-90th percentile and the interquartile range, never a single run.
Reports are labelled with the CPU, core count, thread settings and package versions, and written as
markdown, JSON and a PNG plot under ``build/reports/``. Introduced in notebooks/31_performance_tuning.ipynb.

>>> s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
>>> s.median, s.n
(3.0, 5)
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.paths import models_dir, reports_dir
from helpers.report import Table, write_json

__all__ = [
    "Stats", "summarize", "time_callable", "time_interleaved", "machine_label", "label_text", "result_row",
    "speedup", "rows_table", "targets_table", "plot_rows", "write_report", "summarize_profile", "matmul_peak_gflops",
    "count_flops", "matmul_cpu_rate", "memory_mb", "set_threads", "export_keras_onnx", "digits_torch_model", "bench_digits",
    "bench_keras", "MINILM_MODELS", "minilm_models", "bench_minilm", "bench_gflops", "evaluate_targets",
    "run_benchmark", "readme_markdown", "main", "VERSIONS",
]

#: Packages whose versions label every report.
VERSIONS = ("onnxruntime", "onnx", "torch", "tensorflow", "keras", "tf2onnx", "transformers", "numpy")


@dataclass
class Stats:
    """Summary of repeated timings, in milliseconds."""

    n: int
    median: float
    mean: float
    min: float
    max: float
    p10: float
    p90: float
    q1: float
    q3: float

    @property
    def iqr(self) -> float:
        """Interquartile range (q3 - q1): the spread of the middle half of the runs."""
        return self.q3 - self.q1

    def to_dict(self) -> dict[str, float]:
        return asdict(self) | {"iqr": self.iqr}

    def __str__(self) -> str:
        return f"median {self.median:.3g} ms (p10-p90 {self.p10:.3g}-{self.p90:.3g}, n={self.n})"


def summarize(times_ms: Iterable[float]) -> Stats:
    """Median, mean, extremes, 10th/90th percentiles and quartiles of timings (ms).

    >>> summarize([2.0, 4.0]).iqr
    1.0
    """
    t = np.asarray(list(times_ms), dtype=np.float64)
    if t.size == 0 or not np.all(np.isfinite(t)):
        raise ValueError(f"summarize needs at least one finite timing; got {t.tolist()[:5]}.")
    p10, q1, med, q3, p90 = np.percentile(t, [10, 25, 50, 75, 90])
    return Stats(int(t.size), float(med), float(t.mean()), float(t.min()), float(t.max()),
                 float(p10), float(p90), float(q1), float(q3))


def time_callable(fn: Callable[[], Any], *, warmup: int = 3, repeats: int = 20,
                  max_seconds: float | None = None) -> Stats:
    """Call ``fn`` ``warmup`` times untimed, then time ``repeats`` calls; returns :class:`Stats` in ms.

    max_seconds: stop early (after at least 3 timed runs) once this much time was spent timing.
    One callable timed by :func:`time_interleaved`, the one timing loop of this module.
    """
    return time_interleaved({"fn": fn}, warmup=warmup, repeats=repeats, max_seconds=max_seconds)["fn"]


def time_interleaved(fns: Mapping[str, Callable[[], Any]], *, warmup: int = 2, repeats: int = 20,
                     max_seconds: float | None = None, cpu: dict[str, Stats] | None = None) -> dict[str, Stats]:
    """Time several callables in turns (A, B, C, A, B, C, ...) so that they share the same background load.

    On a shared machine, timing A's runs and then B's compares A in one load with B in another;
    interleaving makes the ratio of medians fair. Returns ``{name: Stats}`` in ms.
    max_seconds: stop after the round in which this much time was spent (at least 3 rounds).
    cpu: a dict to fill with ``{name: Stats}`` of this process's CPU time per call (all threads, ms): the work
        done, which other processes barely change (wall time on a busy machine mostly measures the wait).
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0 (got repeats={repeats}, warmup={warmup}).")
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    cpu_times: dict[str, list[float]] = {name: [] for name in fns}
    start = time.perf_counter()
    for i in range(repeats):
        for name, fn in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1e3)
            cpu_times[name].append((time.process_time() - c0) * 1e3)
        if max_seconds is not None and i >= 2 and time.perf_counter() - start > max_seconds:
            break
    if cpu is not None:
        cpu.update({name: summarize(t) for name, t in cpu_times.items()})
    return {name: summarize(t) for name, t in times.items()}


def machine_label(threads: int | None = None, versions: Sequence[str] = VERSIONS) -> dict[str, Any]:
    """What a benchmark ran on: CPU, cores, AVX-512 VNNI, thread setting, load average, package versions."""
    from helpers.environment import machine_info, package_versions

    info = machine_info()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        load = None
    return {"cpu": info["cpu"], "cores": info["cores"], "avx512_vnni": info["avx512_vnni"], "avx2": info["avx2"],
            "threads": threads, "load_average": load, "python": info["python"],
            "versions": package_versions(versions, installed_only=True),
            "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def label_text(label: Mapping[str, Any]) -> str:
    """One line naming the machine and settings, for table captions and plot titles."""
    versions = ", ".join(f"{k} {v}" for k, v in label.get("versions", {}).items())
    load, start = label.get("load_average"), label.get("load_average_start")
    load_text = f", load average {start[0]} at start, {load[0]} at end" if load and start else (
        f", load average {load[0]}" if load else "")
    return (f"{label['cpu']}, {label['cores']} cores, {label.get('threads')} threads"
            f"{', AVX-512 VNNI' if label.get('avx512_vnni') else ', no AVX-512 VNNI'}"
            f"{load_text}; {versions}; {label.get('generated', '')}")


def result_row(case: str, runtime: str, batch: int, stats: Stats, **extra: Any) -> dict[str, Any]:
    """One benchmark row: case, runtime, batch, median, spread and best run (ms), throughput (samples/s).

    The best run is the one least disturbed by other processes: on a shared machine, compare it beside the median.
    """
    return {"case": case, "runtime": runtime, "batch": batch, "median_ms": stats.median, "p10_ms": stats.p10,
            "p90_ms": stats.p90, "best_ms": stats.min, "iqr_ms": stats.iqr, "runs": stats.n,
            "samples_per_s": batch / (stats.median / 1e3) if stats.median > 0 else float("inf"), **extra}


def _find(rows: Sequence[Mapping[str, Any]], case: str, runtime: str, batch: int) -> Mapping[str, Any]:
    for r in rows:
        if r["case"] == case and r["runtime"] == runtime and r["batch"] == batch:
            return r
    have = sorted({(r["case"], r["runtime"], r["batch"]) for r in rows})
    raise KeyError(f"No row for ({case!r}, {runtime!r}, batch {batch}); rows are {have}.")


def speedup(rows: Sequence[Mapping[str, Any]], case: str, fast: str, slow: str, batch: int) -> float:
    """How many times faster ``fast`` is than ``slow`` (ratio of medians) for one case and batch.

    >>> rows = [{"case": "m", "runtime": "a", "batch": 1, "median_ms": 1.0},
    ...         {"case": "m", "runtime": "b", "batch": 1, "median_ms": 3.0}]
    >>> speedup(rows, "m", "a", "b", 1)
    3.0
    """
    return float(_find(rows, case, slow, batch)["median_ms"] / _find(rows, case, fast, batch)["median_ms"])


_ROW_COLUMNS = ("case", "runtime", "batch", "median_ms", "p10_ms", "p90_ms", "best_ms", "cpu_ms", "iqr_ms", "runs",
                "samples_per_s")


def rows_table(rows: Sequence[Mapping[str, Any]], label: Mapping[str, Any] | None = None, title: str = "Latency") -> Table:
    """The timing rows as a table; the machine label goes in the notes."""
    notes = [f"Median and spread over repeated runs after warm-up. {label_text(label)}"] if label else []
    return Table(list(rows), _ROW_COLUMNS, title=title, notes=notes)


def targets_table(targets: Sequence[Mapping[str, Any]]) -> Table:
    """The targets: what was required, what was measured, met or not, and why."""
    met = sum(t["met"] is True for t in targets)
    judged = sum(t["met"] is not None for t in targets)
    return Table(list(targets), ("target", "required", "measured", "met", "note"), title="Targets",
                 notes=[f"{met} of {judged} targets met ({len(targets) - judged} rows only report a figure)."])


def plot_rows(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str] | None = None,
              title: str = "Latency (median, bars: p10-p90)", label: Mapping[str, Any] | None = None) -> Any:
    """A horizontal bar chart of median latency (log scale) with p10-p90 whiskers; saved if ``path``.

    Returns the matplotlib figure (shown by a notebook when it is the cell's last value).
    """
    import matplotlib

    if path is not None and "ipykernel" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f"{r['case']} · {r['runtime']} · batch {r['batch']}" for r in rows]
    med = np.array([r["median_ms"] for r in rows])
    lo = med - np.array([r["p10_ms"] for r in rows])
    hi = np.array([r["p90_ms"] for r in rows]) - med
    runtimes = sorted({r["runtime"] for r in rows})
    colors = {rt: plt.get_cmap("tab10")(i % 10) for i, rt in enumerate(runtimes)}
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(rows) + 1.4))
    y = np.arange(len(rows))
    ax.barh(y, med, xerr=[np.maximum(lo, 0), np.maximum(hi, 0)], color=[colors[r["runtime"]] for r in rows],
            capsize=2)
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds per call (log scale)")
    ax.set_title(title + (f"\n{label['cpu']}, {label['cores']} cores, {label.get('threads')} threads" if label else ""),
                 fontsize=10)
    for yi, m, h in zip(y, med, hi):
        ax.text((m + max(h, 0)) * 1.08, yi, f"{m:.3g}", va="center", fontsize=7)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


def write_report(results: Mapping[str, Any], folder: str | os.PathLike[str] | None = None,
                 stem: str = "benchmark") -> dict[str, Path]:
    """Write ``<stem>.md``, ``<stem>.json`` and ``<stem>.png`` (default under ``build/reports``).

    results: ``{"label": machine_label(...), "rows": [...], "targets": [...], "extra_tables": [...]}``;
    only ``rows`` and ``label`` are required.
    """
    import matplotlib.pyplot as plt

    if "rows" not in results or "label" not in results:
        raise ValueError("write_report needs results with 'rows' and 'label' (see run_benchmark).")
    folder = Path(folder) if folder else reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    label = results["label"]
    parts = [f"# Benchmark\n\nMachine: {label_text(label)}\n", rows_table(results["rows"], label).to_markdown()]
    if results.get("targets"):
        parts.append(targets_table(results["targets"]).to_markdown())
    for extra in results.get("extra_tables", []):
        parts.append(Table(extra["rows"], title=extra["title"], notes=extra.get("notes", [])).to_markdown())
    md = folder / f"{stem}.md"
    md.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    js = write_json(folder / f"{stem}.json", dict(results))
    png = folder / f"{stem}.png"
    fig = plot_rows(results["rows"], png, label=label)
    plt.close(fig)
    return {"markdown": md, "json": js, "png": png}


def summarize_profile(path: str | os.PathLike[str], top: int = 10) -> Table:
    """The costliest operators of an ONNX Runtime profile (``enable_profiling`` JSON trace).

    Sums the ``dur`` (microseconds) of node events by operator type; shows calls, total, mean and share.
    """
    import json

    events = json.loads(Path(path).read_text(encoding="utf-8"))
    by_op: dict[str, list[float]] = {}
    for ev in events:
        if ev.get("cat") != "Node" or not str(ev.get("name", "")).endswith("_kernel_time"):
            continue
        op = ev.get("args", {}).get("op_name", "?")
        by_op.setdefault(op, []).append(float(ev.get("dur", 0)))
    if not by_op:
        raise ValueError(f"{path} holds no operator timings; run the session at least once before end_profiling().")
    total = sum(sum(v) for v in by_op.values())
    rows = sorted(({"operator": op, "calls": len(v), "total_us": sum(v), "mean_us": sum(v) / len(v),
                    "share": f"{sum(v) / total:.1%}"} for op, v in by_op.items()), key=lambda r: -r["total_us"])
    return Table(rows[:top], title=f"Costliest operators ({len(by_op)} types, {total / 1e3:.3g} ms in kernels)")


def matmul_peak_gflops(sizes: Sequence[int] = (512, 1024), repeats: int = 15, use_torch: bool = True) -> float:
    """The machine's float32 matrix-multiply rate: the best n x n product over ``sizes`` and ``repeats``, GFLOP/s.

    Measures numpy (its BLAS) and, when installed and ``use_torch``, PyTorch; returns the fastest. Many short
    runs, best taken, so that other processes on a shared machine lower the figure as little as possible.
    """
    best_rate = 0.0
    for n in ([sizes] if isinstance(sizes, int) else sizes):
        a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
        b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
        candidates = [lambda a=a, b=b: a @ b]
        if use_torch and ("torch" in sys.modules or _importable("torch")):
            import torch

            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            candidates.append(lambda ta=ta, tb=tb: torch.mm(ta, tb))
        for fn in candidates:
            fn()  # warm up
            best = min(_timed(fn) for _ in range(repeats))
            best_rate = max(best_rate, 2 * n**3 / best / 1e9)
    return best_rate


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def count_flops(model: Any, input_shapes: Mapping[str, Sequence[int]]) -> float:
    """Floating-point operations of one run (2 per multiply-add) in MatMul, Gemm and Conv nodes.

    model: path or ``ModelProto``; input_shapes: concrete shapes for the inputs (symbolic dims fixed).
    Other operators (activations, softmax, norms) are ignored: they are a small share for these models.
    """
    import onnx

    proto = onnx.load(str(model)) if not hasattr(model, "graph") else model
    proto = onnx.ModelProto.FromString(proto.SerializeToString())
    for inp in proto.graph.input:
        if inp.name in input_shapes:
            dims = inp.type.tensor_type.shape.dim
            shape = list(input_shapes[inp.name])
            if len(dims) != len(shape):
                raise ValueError(f"Input {inp.name!r} has rank {len(dims)}, but shape {shape} was given.")
            for d, v in zip(dims, shape):
                d.Clear()
                d.dim_value = int(v)
    inferred = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    shapes: dict[str, list[int]] = {}
    for vi in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = [d.dim_value for d in dims]
    for init in inferred.graph.initializer:
        shapes[init.name] = list(init.dims)
    flops = 0.0
    for node in inferred.graph.node:
        out = shapes.get(node.output[0])
        if out is None:
            continue
        if node.op_type == "MatMul" and node.input[0] in shapes:
            flops += 2.0 * float(np.prod(out)) * shapes[node.input[0]][-1]
        elif node.op_type == "Gemm" and node.input[0] in shapes:
            trans_a = next((a.i for a in node.attribute if a.name == "transA"), 0)
            a = shapes[node.input[0]]
            flops += 2.0 * float(np.prod(out)) * (a[0] if trans_a else a[-1])
        elif node.op_type == "Conv" and node.input[1] in shapes:
            w = shapes[node.input[1]]  # (out_ch, in_ch / group, k...)
            flops += 2.0 * float(np.prod(out)) * float(np.prod(w[1:]))
    return flops


def memory_mb() -> float:
    """This process's resident memory (RSS) in MB, from /proc (Linux); 0.0 where unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover
        pass
    return 0.0


def set_threads(threads: int) -> None:
    """Use ``threads`` threads in PyTorch (intra-op) and, when possible, TensorFlow (before it starts)."""
    if "torch" in sys.modules or _importable("torch"):
        import torch

        torch.set_num_threads(threads)
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TensorFlow already ran something; it keeps its thread pools
            pass


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _ort(path: Any, threads: int) -> Any:
    """A session whose idle threads do not spin, so they do not steal cores from the next thing timed."""
    from helpers.runtime import make_session

    return make_session(path, intra_op_threads=threads, spinning=False)


def export_keras_onnx(model: Any, path: str | os.PathLike[str], opset: int = 17) -> Path:
    """Export a Keras 3 functional model with ``tf2onnx.convert.from_keras`` (dynamic batch); returns the path."""
    import tensorflow as tf
    import tf2onnx

    shape = (None, *model.inputs[0].shape[1:])
    spec = (tf.TensorSpec(shape, tf.float32, name=model.inputs[0].name.split(":")[0]),)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=opset, output_path=str(path))
    return Path(path)


def bench_digits(threads: int = 2, batches: Sequence[int] = (1, 64), repeats: int = 50, warmup: int = 5,
                 max_seconds: float = 5.0) -> list[dict[str, Any]]:
    """The digits CNN: ONNX Runtime against PyTorch eager (``torch.no_grad``) at each batch size."""
    import torch

    from helpers.models import DIGITS_INPUT, digits_cnn_onnx

    set_threads(threads)
    path = digits_cnn_onnx()
    model = digits_torch_model(path)
    sess = _ort(path, threads)
    inputs = {b: np.random.default_rng(b).random((b, 1, 8, 8), dtype=np.float32) for b in batches}
    rows = []
    for b, x in inputs.items():  # all PyTorch runs first, then ONNX Runtime: neither's idle threads disturb the other
        xt = torch.from_numpy(x)

        def eager(xt=xt):
            with torch.no_grad():
                return model(xt)

        rows.append(result_row("digits CNN", "PyTorch eager", b,
                               time_callable(eager, warmup=warmup, repeats=repeats, max_seconds=max_seconds)))
    for b, x in inputs.items():
        rows.append(result_row("digits CNN", "ONNX Runtime", b,
                               time_callable(lambda x=x: sess.run(None, {DIGITS_INPUT: x}), warmup=warmup,
                                             repeats=repeats, max_seconds=max_seconds)))
    return rows


def digits_torch_model(path: str | os.PathLike[str] | None = None) -> Any:
    """The digits CNN in PyTorch with the trained weights of its ONNX file (default the shared one).

    Both sides of a comparison then compute the same function; weights are matched by shape
    (every parameter of this CNN has a distinct shape).
    """
    import onnx
    import torch
    from onnx import numpy_helper

    from helpers.models import digits_cnn_onnx, make_digits_cnn

    path = path or digits_cnn_onnx()
    model = make_digits_cnn()

    weights = [numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer]
    params = list(model.parameters())
    by_shape = {}
    for w in weights:
        by_shape.setdefault(tuple(w.shape), []).append(w)
    with torch.no_grad():
        for p in params:
            candidates = by_shape.get(tuple(p.shape))
            if not candidates:
                raise ValueError(f"{path} has no weight of shape {tuple(p.shape)}; is it the digits CNN?")
            p.copy_(torch.from_numpy(candidates.pop(0).copy()))
    return model.eval()


def bench_keras(threads: int = 2, batches: Sequence[int] = (1, 64), repeats: int = 30, warmup: int = 3,
                max_seconds: float = 5.0, model: Any = None,
                path: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """The Keras digits model: ONNX Runtime (via tf2onnx) against ``model(x)`` and ``model.predict(x)``.

    model, path: a Keras model and its exported ONNX file (default: build and export
    ``helpers.models.make_keras_digits_model()``; speed does not depend on the weights' values).
    """
    import tensorflow as tf

    from helpers.models import make_keras_digits_model

    set_threads(threads)
    if model is None or path is None:
        model = model or make_keras_digits_model()
        path = export_keras_onnx(model, path or models_dir("benchmark") / "keras_digits.onnx")
    sess = _ort(path, threads)
    name = sess.get_inputs()[0].name
    rows = []
    for b in batches:
        x = np.random.default_rng(b).random((b, 8, 8, 1), dtype=np.float32)
        xt = tf.constant(x)
        for runtime, fn, reps in (
            ("Keras model.predict", lambda x=x: model.predict(x, verbose=0), max(3, repeats // 3)),
            ("Keras model(x)", lambda xt=xt: model(xt, training=False), repeats),
            ("ONNX Runtime", lambda x=x: sess.run(None, {name: x}), repeats),
        ):
            rows.append(result_row("Keras digits", runtime, b,
                                   time_callable(fn, warmup=warmup, repeats=reps, max_seconds=max_seconds)))
    return rows


#: The MiniLM models compared: fp32 as exported, fused (onnxscript's ORT rewriter), and dynamic int8 of the
#: unfused graph and of two fused graphs (``optimize_model``'s and onnxscript's).
MINILM_MODELS = ("fp32", "fp32 fused", "int8", "int8 fused (optimize_model)", "int8 fused (optimize_for_ort)")


def minilm_models(reduce_range: bool | None = None, model: Any = None, tokenizer: Any = None) -> dict[str, Path]:
    """The MiniLM files of :data:`MINILM_MODELS`, built once under ``build/models/benchmark`` (for the command).

    The calls are the ones notebooks/32_quantization.ipynb shows: ``optimize_model``, ``optimize_for_ort``,
    ``quantize_dynamic`` (per-channel; ``DefaultTensorType`` on fused graphs, whose contrib operators shape
    inference cannot type). reduce_range: 7-bit weights; default on CPUs without AVX-512 VNNI only.
    """
    import onnx
    import onnx_ir as ir
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from onnxscript.rewriter.ort_fusions import optimize_for_ort

    from helpers import minilm

    rr = (not _vnni()) if reduce_range is None else reduce_range
    folder = models_dir("benchmark")
    files = {"fp32": minilm.export_minilm_onnx(model=model, tokenizer=tokenizer),
             "fp32 fused (optimize_model)": folder / "minilm_fused_optimize_model.onnx",
             "fp32 fused": folder / "minilm_fused.onnx"}
    if not files["fp32 fused (optimize_model)"].exists():
        optimize_model(str(files["fp32"]), model_type="bert", num_heads=12, hidden_size=384).save_model_to_file(
            str(files["fp32 fused (optimize_model)"]))
    if not files["fp32 fused"].exists():
        ir.save(optimize_for_ort(ir.load(str(files["fp32"])))[0], str(files["fp32 fused"]))
    for name, src in (("int8", "fp32"), ("int8 fused (optimize_model)", "fp32 fused (optimize_model)"),
                      ("int8 fused (optimize_for_ort)", "fp32 fused")):
        files[name] = folder / f"{files[src].stem}_int8{'_rr' if rr else ''}.onnx"
        if not files[name].exists():
            extra = {"DefaultTensorType": onnx.TensorProto.FLOAT} if "fused" in src else {}
            quantize_dynamic(str(files[src]), str(files[name]), weight_type=QuantType.QInt8, per_channel=True,
                             reduce_range=rr, extra_options=extra)
    return {name: files[name] for name in MINILM_MODELS}


def bench_minilm(threads: int = 2, seq_len: int = 128, batch: int = 1, repeats: int = 20, warmup: int = 3,
                 max_seconds: float = 8.0, sentences: Sequence[str] | None = None) -> dict[str, Any]:
    """MiniLM at ``seq_len`` tokens: PyTorch eager and the ONNX Runtime models of :func:`minilm_models`, interleaved.

    Returns ``{"rows": [...], "fidelity": {...}}``. Fidelity is the masked mean-pooled cosine of each int8 model
    to fp32 over ``sentences`` (default: all of data/sentences.txt); ``scheme`` names the fused int8 model that
    wins (the fastest best run among those whose mean cosine reaches 0.99), the one the int8 target is judged on.
    Rows carry ``cpu_ms``, the median CPU time per call (all threads), beside wall time.
    """
    import torch

    from helpers import minilm
    from helpers.quantization import file_size_mb

    set_threads(threads)
    model, tok = minilm.load_minilm()
    files = minilm_models(model=model, tokenizer=tok)
    sessions = {name: _ort(path, threads) for name, path in files.items()}
    sentences = list(sentences or minilm.load_sentences())
    feeds = minilm.tokenize(tok, (sentences * batch)[:batch], max_length=seq_len)
    tfeeds = {k: torch.as_tensor(v) for k, v in feeds.items()}

    def eager():
        with torch.no_grad():
            return model(**tfeeds).last_hidden_state

    fns = {"PyTorch eager": eager} | {f"ONNX Runtime {n}": (lambda s=s: s.run(None, feeds)) for n, s in sessions.items()}
    cpu: dict[str, Stats] = {}
    stats = time_interleaved(fns, warmup=warmup, repeats=repeats, max_seconds=max_seconds, cpu=cpu)  # same load for all
    case = f"MiniLM seq {seq_len}"
    rows = [result_row(case, runtime, batch, st, cpu_ms=cpu[runtime].median) for runtime, st in stats.items()]
    e32 = minilm.embed_onnx(sessions["fp32"], sentences, tok)
    candidates = {}
    for name in (n for n in files if n.startswith("int8")):
        cos = minilm.cosine_rows(e32, minilm.embed_onnx(sessions[name], sentences, tok))
        candidates[name] = {"cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
                            "int8_mb": file_size_mb(files[name]), "median_ms": stats[f"ONNX Runtime {name}"].median,
                            "best_ms": stats[f"ONNX Runtime {name}"].min, "cpu_ms": cpu[f"ONNX Runtime {name}"].median}
    good = [n for n, c in candidates.items() if "fused" in n and c["cosine_mean"] >= 0.99] or list(candidates)
    scheme = min(good, key=lambda n: candidates[n]["best_ms"])  # best runs: least disturbed by other processes
    fidelity = {"sentences": len(sentences), "scheme": scheme, **candidates[scheme], "fp32_mb": file_size_mb(files["fp32"]),
                "reduce_range": "_rr" in files[scheme].stem}
    fidelity["size_ratio"] = fidelity["int8_mb"] / fidelity["fp32_mb"]
    fidelity["candidates"] = candidates
    return {"rows": rows, "fidelity": fidelity}


def bench_gflops(threads: int = 2, batch: int = 32, seq_len: int = 128, repeats: int = 5, warmup: int = 1,
                 include_minilm: bool = True) -> list[dict[str, Any]]:
    """Achieved GFLOP/s of ONNX Runtime at ``batch`` (digits CNN; MiniLM fp32 unfused and fused) beside the matmul peak.

    Both the median run and the best run are given against the peak (a best run). On a busy machine both mostly
    measure the wait, so the work rate is given too: GFLOP per CPU-second (all threads) of the model against the
    same for ``torch.mm`` (:func:`matmul_cpu_rate`), which other processes barely change.

    FLOPs are counted on the unfused graph (fused ``Attention`` hides its MatMuls), so both MiniLM rows do the
    same work and differ only in time.
    """
    from helpers.models import DIGITS_INPUT, digits_cnn_onnx

    out = []
    peak, cpu_peak = matmul_peak_gflops(), matmul_cpu_rate()
    cases = [("digits CNN", digits_cnn_onnx(), digits_cnn_onnx(), {DIGITS_INPUT: (batch, 1, 8, 8)})]
    if include_minilm:
        from helpers import minilm

        files = minilm_models()
        shapes = {n: (batch, seq_len) for n in minilm.INPUT_NAMES}
        cases += [(f"MiniLM seq {seq_len} fp32", files["fp32"], files["fp32"], shapes),
                  (f"MiniLM seq {seq_len} fp32 fused", files["fp32 fused"], files["fp32"], shapes)]
    for name, path, counted, shapes in cases:
        sess = _ort(path, threads)
        feeds = {k: (np.ones(v, dtype=np.int64) if len(v) == 2 else
                     np.random.default_rng(0).random(v, dtype=np.float32)) for k, v in shapes.items()}
        cpu: dict[str, Stats] = {}
        stats = time_interleaved({name: lambda s=sess, f=feeds: s.run(None, f)}, warmup=warmup, repeats=repeats,
                                 max_seconds=20, cpu=cpu)[name]
        flops = count_flops(counted, shapes)
        achieved, best = flops / (stats.median / 1e3) / 1e9, flops / (stats.min / 1e3) / 1e9
        per_cpu_s = flops / (cpu[name].median / 1e3) / 1e9
        out.append({"model": name, "batch": batch, "gflop_per_run": flops / 1e9, "median_ms": stats.median,
                    "best_ms": stats.min, "achieved_gflops": achieved, "best_run_gflops": best, "matmul_peak_gflops": peak,
                    "share_of_peak": f"{achieved / peak:.0%}", "best_run_share": f"{best / peak:.0%}",
                    "gflop_per_cpu_s": per_cpu_s, "matmul_gflop_per_cpu_s": cpu_peak,
                    "cpu_share": f"{per_cpu_s / cpu_peak:.0%}"})
    return out


def matmul_cpu_rate(sizes: Sequence[int] = (512, 1024), repeats: int = 10) -> float:
    """``torch.mm``'s float32 work rate, GFLOP per CPU-second of all its threads (best over ``sizes``; 0.0 without torch).

    CPU time counts the work, not the wait, so a busy machine changes it little (with ``OMP_WAIT_POLICY=PASSIVE``
    idle threads do not spin and add nothing).
    """
    if not ("torch" in sys.modules or _importable("torch")):
        return 0.0
    import torch

    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n), torch.randn(n, n)
        cpu: dict[str, Stats] = {}
        time_interleaved({"mm": lambda a=a, b=b: torch.mm(a, b)}, warmup=1, repeats=repeats, cpu=cpu)
        best = max(best, 2 * n**3 / (cpu["mm"].median / 1e3) / 1e9)
    return best


def evaluate_targets(rows: Sequence[Mapping[str, Any]], fidelity: Mapping[str, Any] | None = None,
                     gflops: Sequence[Mapping[str, Any]] | None = None, vnni: bool | None = None) -> list[dict[str, Any]]:
    """Check the issues' targets against measured rows; each target says required, measured, met, why.

    vnni: whether the CPU has AVX-512 VNNI (default: this machine's); the int8 speed target is judged only there.
    """
    targets: list[dict[str, Any]] = []

    def add(target: str, required: str, measured: Any, met: bool | None, note: str = "") -> None:
        targets.append({"target": target, "required": required, "measured": measured, "met": met, "note": note})

    def ratio(case, fast, slow, b):
        try:
            return speedup(rows, case, fast, slow, b)
        except KeyError:
            return None

    def best(case, fast, slow, b):  # the ratios of best runs and of CPU time, least disturbed by other processes
        try:
            f, sl = _find(rows, case, fast, b), _find(rows, case, slow, b)
        except KeyError:
            return ""
        cpu = f", CPU time {sl['cpu_ms'] / f['cpu_ms']:.2f}x" if f.get("cpu_ms") and sl.get("cpu_ms") else ""
        return f" (best runs {sl['best_ms'] / f['best_ms']:.2f}x{cpu})"

    for b in (1, 64):
        r = ratio("digits CNN", "ONNX Runtime", "PyTorch eager", b)
        if r is not None:
            add(f"digits CNN batch {b}: ORT vs PyTorch eager", ">= 3x", f"{r:.2f}x", r >= 3,
                "" if r >= 3 else "PyTorch's per-call overhead is small at this batch; the arithmetic dominates")
    r = ratio("Keras digits", "ONNX Runtime", "Keras model.predict", 1)
    if r is not None:
        add("Keras batch 1: ORT vs model.predict", ">= 10x", f"{r:.1f}x", r >= 10)
    r = ratio("Keras digits", "ONNX Runtime", "Keras model(x)", 1)
    if r is not None:
        add("Keras batch 1: ORT vs model(x)", "report", f"{r:.1f}x", None)
    case = next((row["case"] for row in rows if row["case"].startswith("MiniLM")), None)
    if case:
        b = next(row["batch"] for row in rows if row["case"] == case)
        r = ratio(case, "ONNX Runtime fp32", "PyTorch eager", b)
        if r is not None:
            add(f"{case} batch {b}: ORT fp32 (unfused) vs PyTorch eager", "report", f"{r:.2f}x", None)
        r = ratio(case, "ONNX Runtime fp32 fused", "PyTorch eager", b)
        if r is not None:
            add(f"{case} batch {b}: fused ORT fp32 vs PyTorch eager", ">= 2x",
                f"{r:.2f}x{best(case, 'ONNX Runtime fp32 fused', 'PyTorch eager', b)}", r >= 2,
                "" if r >= 2 else "PyTorch runs BERT's MatMuls in the same kind of BLAS; ORT saves per-op overhead and "
                "fuses attention, LayerNorm and GELU, a gain that moves with machine load (see the spread)")
        r = ratio(case, "ONNX Runtime int8", "ONNX Runtime fp32", b)
        if r is not None:
            add(f"{case} batch {b}: int8 vs fp32, both unfused", "report", f"{r:.2f}x", None)
        scheme = (fidelity or {}).get("scheme")
        r = ratio(case, f"ONNX Runtime {scheme}", "ONNX Runtime fp32 fused", b) if scheme else None
        if r is not None:
            vnni = _vnni() if vnni is None else vnni
            why = ("int8 MatMul needs run-time activation quantization, and the fp32 parts (attention softmax, "
                   "LayerNorm, GELU) remain; on a shared machine the ratio also moves with load")
            if not vnni:
                why = ("no AVX-512 VNNI: int8 MatMul runs on AVX2's u8 x s8 vpmaddubsw (16-bit sums, 7-bit weights "
                       "via reduce_range), a smaller gain over fp32 FMA than VNNI's vpdpbusd; about 1.3-1.6x is typical")
            add(f"{case} batch {b}: {scheme} vs fused fp32", ">= 2x with AVX-512 VNNI",
                f"{r:.2f}x{best(case, f'ONNX Runtime {scheme}', 'ONNX Runtime fp32 fused', b)}",
                (r >= 2) if vnni else None, "" if vnni and r >= 2 else why)
    if fidelity:
        c, n = fidelity["cosine_mean"], fidelity["sentences"]
        add(f"MiniLM {fidelity.get('scheme', 'int8')} vs fp32: masked mean-pooled cosine, mean over {n} sentences",
            ">= 0.99, >= 50 sentences", f"{c:.4f} (min {fidelity['cosine_min']:.4f})", c >= 0.99 and n >= 50)
        s = fidelity["size_ratio"]
        add("MiniLM int8 file size vs fp32", "<= 30%", f"{s:.0%}", s <= 0.30,
            "" if s <= 0.30 else "the fused Attention's weights stay float32 (QAttention has no attention-bias input)")
    for g in gflops or []:
        best = g.get("best_run_gflops", g["achieved_gflops"])
        share = best / g["matmul_peak_gflops"]
        cpu_text = ""
        if g.get("matmul_gflop_per_cpu_s"):  # the work rate: what a busy machine changes least, judged when measured
            share = g["gflop_per_cpu_s"] / g["matmul_gflop_per_cpu_s"]
            cpu_text = f"; per CPU-second {g['gflop_per_cpu_s']:.1f} of torch.mm's {g['matmul_gflop_per_cpu_s']:.1f} ({share:.0%})"
        judged = g["model"].startswith("MiniLM") and g["model"].endswith("fused") and g["batch"] == 32
        add(f"{g['model']} batch {g['batch']}: achieved GFLOP/s (best run; median run; per CPU-second)",
            ">= 75% of matmul peak" if judged else "report beside matmul peak",
            f"{best:.1f} of {g['matmul_peak_gflops']:.0f} ({best / g['matmul_peak_gflops']:.0%}); median run "
            f"{g['achieved_gflops']:.1f}{cpu_text}", share >= 0.75 if judged else None,
            "" if not judged or share >= 0.75 else "attention's batched products, softmax, LayerNorm and GELU run below "
            "the BLAS rate, and on a shared machine other processes take cycles from every run")
    return targets


def _vnni() -> bool:
    from helpers.environment import machine_info

    return bool(machine_info()["avx512_vnni"])


def run_benchmark(quick: bool = False, threads: int = 2, parts: Sequence[str] = ("digits", "keras", "minilm", "gflops"),
                  progress: bool = True, folder: str | os.PathLike[str] | None = None,
                  stem: str = "benchmark") -> dict[str, Any]:
    """Run the selected comparisons with a progress bar, evaluate the targets, write the report.

    quick: few repeats (a smoke run; the numbers are noisier). Returns the results dict, with the
    written files under ``"files"``.
    """
    from tqdm.auto import tqdm

    unknown = sorted(set(parts) - {"digits", "keras", "minilm", "gflops", "genai"})
    if unknown:
        raise ValueError(f"Unknown benchmark part(s) {unknown}; choose from digits, keras, minilm, gflops, genai.")
    reps = 5 if quick else 1
    plan: list[tuple[str, Callable[[], Any]]] = []
    if "digits" in parts:
        plan.append(("digits", lambda: bench_digits(threads, repeats=200 // reps // (4 if quick else 1), max_seconds=4 if quick else 15)))
    if "keras" in parts:
        plan.append(("keras", lambda: bench_keras(threads, repeats=60 // reps, max_seconds=4 if quick else 15)))
    if "minilm" in parts:
        plan.append(("minilm", lambda: bench_minilm(threads, repeats=100 // reps // (2 if quick else 1),
                                                    max_seconds=8 if quick else 60)))
    if "gflops" in parts:
        plan.append(("gflops", lambda: bench_gflops(threads, repeats=2 if quick else 5, include_minilm=not quick or "minilm" in parts)))
    if "genai" in parts:  # a small LLM: transformers eager vs ONNX Runtime GenAI fp32/int4 over widths (helpers.genai)
        from helpers import genai

        plan.append(("genai", lambda: genai.bench_rows(threads, quick=quick, progress=progress)))
    rows: list[dict[str, Any]] = []
    genai_targets: list[dict[str, Any]] = []
    fidelity, gflops = None, None
    load_start = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    bar = tqdm(plan, desc="benchmark", disable=not progress)
    for name, step in bar:
        bar.set_postfix_str(name)
        out = step()
        if name == "minilm":
            rows += out["rows"]
            fidelity = out["fidelity"]
        elif name == "gflops":
            gflops = out
        elif name == "genai":
            rows += out["rows"]
            genai_targets = out["targets"]
        else:
            rows += out
    results: dict[str, Any] = {"label": machine_label(threads) | {"load_average_start": load_start}, "quick": quick, "rows": rows, "fidelity": fidelity,
                               "gflops": gflops, "targets": evaluate_targets(rows, fidelity, gflops) + genai_targets}
    extra = []
    if fidelity:
        extra.append({"title": f"MiniLM int8 against fp32 over {fidelity['sentences']} sentences (masked mean-pooled cosine)",
                      "rows": [{"model": n, **c} for n, c in fidelity["candidates"].items()],
                      "notes": [f"Chosen for the int8 target: {fidelity['scheme']} (the fused int8 model with the fastest "
                                "best run among those whose mean cosine reaches 0.99)."]})
    if gflops:
        extra.append({"title": "Achieved GFLOP/s (MatMul, Gemm, Conv only)", "rows": gflops})
    results["extra_tables"] = extra
    results["files"] = {k: str(v) for k, v in write_report(results, folder, stem).items()}
    readme = Path(results["files"]["markdown"]).with_name(f"{stem}_readme.md")
    readme.write_text(readme_markdown(results) + "\n", encoding="utf-8")
    results["files"]["readme"] = str(readme)
    return results


def readme_markdown(results: Mapping[str, Any]) -> str:
    """A compact markdown block for README: the machine label, latency (median, p10-p90, best run, CPU time where
    measured: the work per call, all threads) and the targets."""
    lines = [f"Measured by `make benchmark` on: {label_text(results['label'])}.", "",
             "| case | runtime | batch | median ms | p10-p90 ms | best ms | CPU ms |", "|---|---|---|---|---|---|---|"]
    for r in results["rows"]:
        best, cpu = (f"{r[k]:.3g}" if r.get(k) else "–" for k in ("best_ms", "cpu_ms"))
        lines.append(f"| {r['case']} | {r['runtime']} | {r['batch']} | {r['median_ms']:.3g} | "
                     f"{r['p10_ms']:.3g}-{r['p90_ms']:.3g} | {best} | {cpu} |")
    lines += ["", targets_table(results.get("targets", [])).to_markdown()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.benchmark [--quick] [--threads N] [--parts digits,keras,minilm,gflops,genai]``."""
    parser = argparse.ArgumentParser(prog="python -m helpers.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: a fast smoke run")
    parser.add_argument("--threads", type=int, default=2, help="threads for ONNX Runtime, PyTorch, TensorFlow")
    parser.add_argument("--parts", default="digits,keras,minilm,gflops", help="comma-separated comparisons (also: genai)")
    parser.add_argument("--out", default=None, help="report folder (default build/reports)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # PyTorch's OpenMP threads sleep when idle, as ORT's do
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    results = run_benchmark(quick=args.quick, threads=args.threads, parts=[p for p in args.parts.split(",") if p],
                            folder=args.out)
    print(label_text(results["label"]))
    print(rows_table(results["rows"]).to_text())
    print(targets_table(results["targets"]).to_text())
    for extra in results["extra_tables"]:
        print(Table(extra["rows"], title=extra["title"]).to_text())
    print("wrote", ", ".join(results["files"].values()))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
