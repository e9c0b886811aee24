"""Honest latency: warm-up, repeats in turns (:func:`time_interleaved`, the workbook's one timing loop), the median
with its spread, the machine's label. Introduced in notebooks/31_performance_tuning.ipynb; used by 32, 33, 42, 45.

>>> s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
>>> s.median, s.n
(3.0, 5)
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpers.report import Table

#: CPU flags that decide float32 and int8 speed, named in every label.
SPEED_FLAGS = frozenset({"avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8",
                         "amx_bf16"})

#: Packages whose versions label every report.
VERSIONS = ("onnxruntime", "onnx", "torch", "tensorflow", "keras", "tf2onnx", "transformers", "numpy")


@dataclass
class Stats:
    """Summary of repeated timings, in milliseconds; ``times`` holds every timing in the order taken."""

    n: int
    median: float
    mean: float
    min: float
    max: float
    p10: float
    p90: float
    q1: float
    q3: float
    times: list[float] = field(default_factory=list, repr=False)

    @property
    def iqr(self) -> float:
        """Interquartile range (q3 - q1): the spread of the middle half of the runs."""
        return self.q3 - self.q1

    def __str__(self) -> str:
        return f"median {self.median:.3g} ms (p10-p90 {self.p10:.3g}-{self.p90:.3g}, n={self.n})"


def summarize(times_ms: Iterable[float]) -> Stats:
    """Median, mean, extremes, 10th/90th percentiles and quartiles of timings (ms)."""
    t = np.asarray(list(times_ms), dtype=np.float64)
    if t.size == 0 or not np.all(np.isfinite(t)):
        raise ValueError(f"summarize needs at least one finite timing; got {t.tolist()[:5]}.")
    p10, q1, med, q3, p90 = np.percentile(t, [10, 25, 50, 75, 90])
    return Stats(int(t.size), float(med), float(t.mean()), float(t.min()), float(t.max()),
                 float(p10), float(p90), float(q1), float(q3), t.tolist())


def time_interleaved(fns: Mapping[str, Callable[[], Any]], *, warmup: int = 2, repeats: int = 20,
                     max_seconds: float | None = None, cpu: dict[str, Stats] | None = None) -> dict[str, Stats]:
    """``{name: Stats}`` of wall time (ms) of callables timed in turns (A, B, A, B, ...), so they share the same load.

    max_seconds: stop after the round in which this much time was spent (at least 3 rounds).
    cpu: a dict to fill with ``{name: Stats}`` of this process's CPU time per call: the work done, which other
        processes barely change.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0 (got repeats={repeats}, warmup={warmup}).")
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu_times: dict[str, list[float]] = {name: [] for name in fns}
    start = time.perf_counter()
    for i in range(repeats):
        for name, fn in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            wall[name].append((time.perf_counter() - t0) * 1e3)
            cpu_times[name].append((time.process_time() - c0) * 1e3)
        if max_seconds is not None and i >= 2 and time.perf_counter() - start > max_seconds:
            break
    if cpu is not None:
        cpu.update({name: summarize(t) for name, t in cpu_times.items()})
    return {name: summarize(t) for name, t in wall.items()}


def time_callable(fn: Callable[[], Any], *, warmup: int = 3, repeats: int = 20,
                  max_seconds: float | None = None) -> Stats:
    """:func:`time_interleaved` for one callable; returns its :class:`Stats` in ms."""
    return time_interleaved({"fn": fn}, warmup=warmup, repeats=repeats, max_seconds=max_seconds)["fn"]


#: A timer: called with n, it runs a model n times and returns the n latencies in ms, as its runtime measured them.
Timer = Callable[[int], "list[float]"]


def python_timer(model: str | Path, feeds: Mapping[str, Any], threads: int) -> Timer:
    """A :data:`Timer` of ``session.run(None, feeds)`` in Python's ONNX Runtime with ``threads`` intra-op threads."""
    from helpers.runtime import make_session

    session = make_session(model, intra_op_threads=threads)
    return lambda n: time_callable(lambda: session.run(None, dict(feeds)), warmup=0, repeats=n).times


def page_timer(page: Any, url: str, wire_feeds: Mapping[str, Any]) -> Timer:
    """A :data:`Timer` of a :class:`helpers.processes.Page`'s own ``session.run`` of the model at ``url``
    (web/app.js's ``time``: ``performance.now()`` around it); wire_feeds: from :func:`helpers.web.to_wire`."""
    return lambda n: page.call("time", url, dict(wire_feeds), n, 0)


def time_in_rounds(timers: Mapping[str, Timer], *, runs: int, warmup: int, rounds: int) -> dict[str, list[float]]:
    """``{name: every time in ms}``: each timer warmed up, then run ``runs // rounds`` times in each of ``rounds`` turns."""
    if runs < 1 or rounds < 1 or warmup < 0:
        raise ValueError(f"runs and rounds must be >= 1 and warmup >= 0 (got {runs}, {rounds}, {warmup}).")
    for timer in timers.values():
        if warmup:
            timer(warmup)
    kept: dict[str, list[float]] = {name: [] for name in timers}
    per_round = max(1, runs // rounds)
    time_interleaved({name: lambda name=name, timer=timer: kept[name].extend(timer(per_round))
                      for name, timer in timers.items()}, warmup=0, repeats=rounds)
    return kept


def machine_label(threads: int | None = None, versions: Sequence[str] = VERSIONS) -> dict[str, Any]:
    """What a measurement ran on: CPU, cores, its speed flags, the thread setting, load average, package versions."""
    from helpers.environment import cpu_flags, machine_info, package_versions

    info = machine_info()
    return {"cpu": info["cpu"], "cores": info["cores"], "flags": sorted(cpu_flags() & SPEED_FLAGS),
            "avx512_vnni": info["avx512_vnni"], "avx2": info["avx2"], "threads": threads,
            "load_average": [round(x, 2) for x in os.getloadavg()], "python": info["python"],
            "versions": package_versions(versions, installed_only=True),
            "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def label_text(label: Mapping[str, Any]) -> str:
    """One line naming the machine and settings, for table captions and plot titles."""
    versions = ", ".join(f"{k} {v}" for k, v in label.get("versions", {}).items())
    load, start = label.get("load_average"), label.get("load_average_start")
    if load and start:
        load_text = f", load average {start[0]} at start, {load[0]} at end"
    else:
        load_text = f", load average {load[0]}" if load else ""
    flags = f" ({' '.join(label['flags'])})" if label.get("flags") else ""
    vnni = ", AVX-512 VNNI" if label.get("avx512_vnni") else ", no AVX-512 VNNI"
    return (f"{label['cpu']}, {label['cores']} cores, {label.get('threads')} threads{vnni}{flags}{load_text}; "
            f"{versions}; {label.get('generated', '')}")


def result_row(case: str, runtime: str, batch: int, stats: Stats, **extra: Any) -> dict[str, Any]:
    """One benchmark row: median, spread and best run (ms: the least disturbed, on a shared machine), samples/s."""
    return {"case": case, "runtime": runtime, "batch": batch, "median_ms": stats.median, "p10_ms": stats.p10,
            "p90_ms": stats.p90, "best_ms": stats.min, "iqr_ms": stats.iqr, "runs": stats.n,
            "samples_per_s": batch / (stats.median / 1e3) if stats.median > 0 else float("inf"), **extra}


def find_row(rows: Sequence[Mapping[str, Any]], case: str, runtime: str, batch: int) -> Mapping[str, Any]:
    """The row of ``case``, ``runtime`` and ``batch``; a ``KeyError`` lists the rows there are."""
    for r in rows:
        if (r["case"], r["runtime"], r["batch"]) == (case, runtime, batch):
            return r
    have = sorted({(r["case"], r["runtime"], r["batch"]) for r in rows})
    raise KeyError(f"No row for ({case!r}, {runtime!r}, batch {batch}); rows are {have}.")


def speedup(rows: Sequence[Mapping[str, Any]], case: str, fast: str, slow: str, batch: int) -> float:
    """How many times faster ``fast`` is than ``slow`` (ratio of medians) for one case and batch."""
    return float(find_row(rows, case, slow, batch)["median_ms"] / find_row(rows, case, fast, batch)["median_ms"])


def rows_table(rows: Sequence[Mapping[str, Any]], label: Mapping[str, Any] | None = None, title: str = "Latency") -> Table:
    """The timing rows as a table; the machine label goes in the notes."""
    notes = [f"Median and spread over repeated runs after warm-up. {label_text(label)}"] if label else []
    columns = ("case", "runtime", "batch", "median_ms", "p10_ms", "p90_ms", "best_ms", "cpu_ms", "iqr_ms", "runs",
               "samples_per_s")
    return Table(list(rows), columns, title=title, notes=notes)


def plot_rows(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str] | None = None,
              title: str = "Latency (median, bars: p10-p90)", label: Mapping[str, Any] | None = None) -> Any:
    """A bar chart of median latency (log scale), p10-p90 whiskers, a colour per runtime; saved to ``path`` if given."""
    import matplotlib

    if path is not None and "ipykernel" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    med = np.array([r["median_ms"] for r in rows])
    lo = np.maximum(med - [r["p10_ms"] for r in rows], 0)
    hi = np.maximum(np.array([r["p90_ms"] for r in rows]) - med, 0)
    colors = {rt: plt.get_cmap("tab10")(i % 10) for i, rt in enumerate(sorted({r["runtime"] for r in rows}))}
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(rows) + 1.4))
    y = np.arange(len(rows))
    ax.barh(y, med, xerr=[lo, hi], color=[colors[r["runtime"]] for r in rows], capsize=2)
    ax.set_yticks(y, [f"{r['case']} · {r['runtime']} · batch {r['batch']}" for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds per call (log scale)")
    if label:
        title += f"\n{label['cpu']}, {label['cores']} cores, {label.get('threads')} threads"
    ax.set_title(title, fontsize=10)
    for yi, m, h in zip(y, med, hi):
        ax.text((m + h) * 1.08, yi, f"{m:.3g}", va="center", fontsize=7)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


def summarize_profile(path: str | os.PathLike[str], top: int | None = 10) -> Table:
    """The costliest operator types of an ONNX Runtime profile (``enable_profiling``): calls, total, mean, share."""
    events = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(events, list):
        raise ValueError(f"{path} is not an ONNX Runtime profile (a JSON list of trace events).")
    by_op: dict[str, list[float]] = {}
    for ev in events:
        if ev.get("cat") == "Node" and str(ev.get("name", "")).endswith("_kernel_time"):
            by_op.setdefault(ev.get("args", {}).get("op_name", "?"), []).append(float(ev.get("dur", 0)))
    if not by_op:
        raise ValueError(f"{path} holds no operator timings; run the session at least once before end_profiling().")
    total = sum(map(sum, by_op.values()))
    rows = sorted(({"operator": op, "calls": len(v), "total_us": sum(v), "mean_us": sum(v) / len(v),
                    "share": f"{sum(v) / total:.1%}"} for op, v in by_op.items()), key=lambda r: -r["total_us"])
    return Table(rows[:top], title=f"Costliest operators ({len(by_op)} types, {total / 1e3:.3g} ms in kernels)")


def memory_mb(peak: bool = False) -> float:
    """This process's resident memory in MB from /proc (0.0 off Linux); peak: its high-water mark (VmHWM, not
    ``ru_maxrss``, which counts a child's parent's from before ``exec``)."""
    status = Path("/proc/self/status")
    lines = status.read_text().splitlines() if status.exists() else []
    key = "VmHWM:" if peak else "VmRSS:"
    return next((int(line.split()[1]) / 1024 for line in lines if line.startswith(key)), 0.0)


def set_threads(threads: int) -> None:
    """Use ``threads`` threads in PyTorch (intra-op) and, when possible, TensorFlow (before it starts)."""
    with contextlib.suppress(ImportError):
        import torch

        torch.set_num_threads(threads)
    tf = sys.modules.get("tensorflow")
    with contextlib.suppress(RuntimeError):  # a TensorFlow that already ran something keeps its thread pools
        if tf is not None:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
