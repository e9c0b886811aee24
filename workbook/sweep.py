"""MiniLM over batch sizes, sequence lengths and thread counts: ONNX Runtime's variants against PyTorch, as plots.

Machinery of ``make benchmark``, not a notebook's library: :func:`sweep_minilm` times every runtime at
every grid point in turns (so they share the machine's load) and :func:`plot_sweep` draws the latency curves and
the speed-up maps into PNG files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BATCHES", "SEQ_LENS", "QUICK_GRID", "grid_points", "compiled_torch", "sweep_minilm", "plot_sweep",
           "speedup_grid"]

#: The full grid: batch x sequence length (points above ``max_tokens`` tokens per call are left out).
BATCHES, SEQ_LENS = (1, 8, 32, 64), (16, 64, 128, 256)
#: The quick grid (tests, ``--quick``).
QUICK_GRID = {"batches": (1, 4), "seq_lens": (16, 32), "threads": (1,)}


def grid_points(batches: Sequence[int], seq_lens: Sequence[int], max_tokens: int | None = 4096) -> list[tuple[int, int]]:
    """(batch, seq) pairs of the grid whose tokens per call (batch x seq) stay within ``max_tokens``.

    >>> grid_points((1, 64), (16, 256), max_tokens=4096)
    [(1, 16), (1, 256), (64, 16)]
    """
    return [(b, s) for b in batches for s in seq_lens if max_tokens is None or b * s <= max_tokens]


_PROBE = """
import os, sys, torch
from helpers import minilm
torch.set_num_threads(int(sys.argv[1]))
model, tok = minilm.load_minilm()
feeds = {k: torch.as_tensor(v) for k, v in minilm.tokenize(tok, ["A probe.", "Two."], max_length=16).items()}
with torch.no_grad():
    torch.compile(model, dynamic=True)(**feeds)
"""


def compiled_torch(model: Any, feeds: Mapping[str, Any], budget_s: float = 300.0,
                   threads: int = 2) -> tuple[Callable | None, str]:
    """``torch.compile(model, dynamic=True)`` after its first call; ``(None, why)`` when it fails or takes too long.

    The first call compiles (inductor generates C++ and runs the compiler), which cannot be interrupted; so a child
    process tries it first with a ``budget_s`` timeout. When the child succeeds, inductor's on-disk cache makes the
    compile here quick; when it fails or times out, the child is stopped and torch.compile is left out, with why.
    """
    import subprocess
    import sys

    import torch

    t0 = time.perf_counter()
    try:
        probe = subprocess.run([sys.executable, "-c", _PROBE, str(threads)], capture_output=True, text=True,
                               timeout=budget_s, env=dict(os.environ))
    except subprocess.TimeoutExpired:
        return None, (f"torch.compile left out: its first compile took more than {budget_s:.0f} s here "
                      "(inductor compiles C++ on a shared 2-core machine)")
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no message"])[-1][:200]
        return None, f"torch.compile left out: it failed here ({last})"
    probe_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    try:
        compiled = torch.compile(model, dynamic=True)
        with torch.no_grad():
            compiled(**feeds)
    except Exception as err:  # noqa: BLE001 - any failure means: not available here, say why
        return None, f"torch.compile left out: {type(err).__name__}: {str(err).splitlines()[0][:200]}"
    return compiled, (f"torch.compile (inductor, dynamic shapes): first compile {probe_s:.0f} s in a child process, "
                      f"{time.perf_counter() - t1:.0f} s here from its cache")


def sweep_minilm(files: Mapping[str, str | os.PathLike[str]], threads: Sequence[int] = (1, 2),
                 batches: Sequence[int] = BATCHES, seq_lens: Sequence[int] = SEQ_LENS, max_tokens: int | None = 4096,
                 torch_compile: bool = True, repeats: int = 3, max_seconds: float = 2.0,
                 progress: bool = True) -> dict[str, Any]:
    """Time MiniLM at every grid point, every thread count: PyTorch eager (and torch.compile) and ONNX Runtime.

    files: ``{runtime label: ONNX file}`` (e.g. fp32, fused fp32, int8). Returns ``{"rows": [...], "notes": [...]}``,
    one row per runtime, thread count and grid point with the median and best run (ms) and tokens per second.
    """
    import torch
    from tqdm.auto import tqdm

    from helpers import minilm
    from helpers.benchmark import set_threads, time_interleaved
    from helpers.runtime import make_session

    model, tok = minilm.load_minilm()
    sentences = minilm.load_sentences()
    points = grid_points(batches, seq_lens, max_tokens)
    notes = [f"Grid: batch {list(batches)} x seq {list(seq_lens)}"
             + (f", points above {max_tokens} tokens per call left out" if max_tokens else "") + "."]
    compiled, why = (None, "torch.compile not requested")
    if torch_compile:
        set_threads(max(threads))
        first = minilm.tokenize(tok, sentences[:2], max_length=points[0][1])
        compiled, why = compiled_torch(model, {k: torch.as_tensor(v) for k, v in first.items()}, threads=max(threads))
    notes.append(why)
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(points) * len(threads), desc="sweep", disable=not progress)
    for t in threads:
        set_threads(t)
        sessions = {name: make_session(path, intra_op_threads=t, spinning=False) for name, path in files.items()}
        for b, s in points:
            bar.set_postfix_str(f"threads {t}, batch {b}, seq {s}")
            feeds = minilm.tokenize(tok, (sentences * (b // len(sentences) + 1))[:b], max_length=s)
            tfeeds = {k: torch.as_tensor(v) for k, v in feeds.items()}

            def call(m: Any, tf: Mapping[str, Any] = tfeeds) -> Callable[[], Any]:
                def run() -> Any:
                    with torch.no_grad():
                        return m(**tf)
                return run

            fns = {"PyTorch eager": call(model)}
            if compiled is not None:
                fns["torch.compile"] = call(compiled)
            fns |= {f"ONNX Runtime {n}": (lambda sess=sess, f=feeds: sess.run(None, f)) for n, sess in sessions.items()}
            stats = time_interleaved(fns, warmup=1, repeats=repeats, max_seconds=max_seconds)
            for runtime, st in stats.items():
                rows.append({"runtime": runtime, "threads": t, "batch": b, "seq": s, "median_ms": st.median,
                             "best_ms": st.min, "runs": st.n, "tokens_per_s": b * s / (st.median / 1e3)})
            bar.update()
    bar.close()
    return {"rows": rows, "notes": notes}


def speedup_grid(rows: Sequence[Mapping[str, Any]], fast: str, slow: str, threads: int, batches: Sequence[int],
                 seq_lens: Sequence[int]) -> np.ndarray:
    """``slow``'s median over ``fast``'s at each (batch, seq) of the grid (NaN where not measured).

    >>> r = [{"runtime": "a", "threads": 1, "batch": 1, "seq": 16, "median_ms": 1.0},
    ...      {"runtime": "b", "threads": 1, "batch": 1, "seq": 16, "median_ms": 3.0}]
    >>> speedup_grid(r, "a", "b", 1, (1,), (16, 32)).tolist()
    [[3.0, nan]]
    """
    by = {(r["runtime"], r["threads"], r["batch"], r["seq"]): r["median_ms"] for r in rows}
    out = np.full((len(batches), len(seq_lens)), np.nan)
    for i, b in enumerate(batches):
        for j, s in enumerate(seq_lens):
            f, sl = by.get((fast, threads, b, s)), by.get((slow, threads, b, s))
            if f and sl:
                out[i, j] = sl / f
    return out


def plot_sweep(rows: Sequence[Mapping[str, Any]], folder: str | os.PathLike[str], label: Mapping[str, Any] | None = None,
               stem: str = "sweep") -> dict[str, Path]:
    """Two PNGs: ``<stem>_latency.png`` (ms per call against sequence length at batch 1 and against batch at the
    shortest sequence that every batch reached, per thread count) and ``<stem>_speedup.png`` (each ONNX Runtime
    model's speed-up over PyTorch eager on the grid, per thread count)."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    threads = sorted({r["threads"] for r in rows})
    batches = sorted({r["batch"] for r in rows})
    seqs = sorted({r["seq"] for r in rows})
    runtimes = list(dict.fromkeys(r["runtime"] for r in rows))
    colors = {rt: plt.get_cmap("tab10")(i % 10) for i, rt in enumerate(runtimes)}
    caption = (f"{label['cpu']}, {label.get('cores')} cores; {label.get('generated', '')}"
               f"{'; load average ' + str(label['load_average'][0]) if label.get('load_average') else ''}") if label else ""
    full_seq = max((s for s in seqs if all(any(r["batch"] == b and r["seq"] == s for r in rows) for b in batches)),
                   default=seqs[0])
    fig, axes = plt.subplots(len(threads), 2, figsize=(10, 3.2 * len(threads)), squeeze=False)
    for i, t in enumerate(threads):
        for j, (axis, fixed, value) in enumerate((("seq", "batch", batches[0]), ("batch", "seq", full_seq))):
            ax = axes[i, j]
            for rt in runtimes:
                pts = sorted((r[axis], r["median_ms"]) for r in rows
                             if r["runtime"] == rt and r["threads"] == t and r[fixed] == value)
                if pts:
                    ax.plot(*zip(*pts), marker="o", ms=3, color=colors[rt], label=rt)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ticks = seqs if axis == "seq" else batches
            ax.set_xticks(ticks, [str(v) for v in ticks])
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xlabel("sequence length (tokens)" if axis == "seq" else "batch size")
            ax.set_ylabel("ms per call (median)")
            ax.set_title(f"{t} thread{'s' if t > 1 else ''}, {fixed} {value}", fontsize=9)
            ax.grid(True, which="both", alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"MiniLM latency (lower is better)\n{caption}", fontsize=9)
    fig.tight_layout()
    latency = folder / f"{stem}_latency.png"
    fig.savefig(latency, dpi=72)
    plt.close(fig)

    ort = [rt for rt in runtimes if rt.startswith("ONNX Runtime")] + [rt for rt in runtimes if rt == "torch.compile"]
    fig, axes = plt.subplots(len(threads), len(ort), figsize=(3.1 * len(ort) + 0.6, 2.9 * len(threads)), squeeze=False)
    for i, t in enumerate(threads):
        for j, rt in enumerate(ort):
            ax = axes[i, j]
            grid = speedup_grid(rows, rt, "PyTorch eager", t, batches, seqs)
            ax.imshow(np.log2(grid), cmap="RdYlGn", vmin=-2, vmax=2, aspect="auto")
            for (bi, si), v in np.ndenumerate(grid):
                if np.isfinite(v):
                    ax.text(si, bi, f"{v:.2f}x", ha="center", va="center", fontsize=7)
            ax.set_xticks(range(len(seqs)), seqs, fontsize=7)
            ax.set_yticks(range(len(batches)), batches, fontsize=7)
            ax.set_xlabel("sequence length", fontsize=7)
            ax.set_ylabel("batch", fontsize=7)
            ax.set_title(f"{rt.replace('ONNX Runtime ', 'ORT ')}\n{t} thread{'s' if t > 1 else ''}", fontsize=8)
    fig.suptitle(f"Speed-up over PyTorch eager (green: faster, red: slower)\n{caption}", fontsize=9)
    fig.tight_layout()
    speed = folder / f"{stem}_speedup.png"
    fig.savefig(speed, dpi=72)
    plt.close(fig)
    return {"latency_png": latency, "speedup_png": speed}
