"""``make benchmark``: ONNX Runtime against the frameworks, MiniLM fp32/int8, the ceiling and the sweep.

Measures with helpers.benchmark (the timing loop notebooks 31 and 32 use), adds the parts only the command runs
(workbook.benchmark_parts, workbook.ceiling, workbook.int8, workbook.sweep), checks the targets and writes
build/reports/benchmark.* (and README's section with ``--update-readme``).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers import report
from helpers.benchmark import (
    find_row,
    label_text,
    machine_label,
    plot_rows,
    result_row,
    rows_table,
    set_threads,
    speedup,
    time_callable,
)
from helpers.report import Table
from helpers.runtime import make_session
from workbook.benchmark_parts import bench_gflops, bench_int8, bench_minilm, bench_sweep, ceiling_tables
from workbook.ceiling import check_share, measure_ceiling

#: The parts of ``make benchmark``, in the order they run.
PARTS = ("digits", "keras", "minilm", "gflops", "int8", "sweep", "genai")


def digits_torch_model(path: str | os.PathLike[str] | None = None) -> Any:
    """The digits CNN in PyTorch with the trained weights of its ONNX file (default the shared one); the exporter
    kept the parameter names, so the initializers load as a state dict."""
    import onnx
    import torch
    from onnx import numpy_helper

    from helpers.models import digits_cnn_onnx, make_digits_cnn

    weights = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path or digits_cnn_onnx())).graph.initializer}
    model = make_digits_cnn()
    model.load_state_dict({name: torch.from_numpy(weights[name].copy()) for name in model.state_dict()})
    return model.eval()


def bench_digits(threads: int = 2, batches: Sequence[int] = (1, 64), repeats: int = 50, warmup: int = 5,
                 max_seconds: float = 5.0) -> list[dict[str, Any]]:
    """The digits CNN: ONNX Runtime against PyTorch eager (``torch.no_grad``) at each batch size."""
    import torch

    from helpers.models import DIGITS_INPUT, digits_cnn_onnx

    set_threads(threads)
    path = digits_cnn_onnx()
    model = digits_torch_model(path)
    sess = make_session(path, intra_op_threads=threads, spinning=False)
    inputs = {b: np.random.default_rng(b).random((b, 1, 8, 8), dtype=np.float32) for b in batches}

    def eager(xt: Any) -> Any:
        with torch.no_grad():
            return model(xt)

    # all PyTorch runs first, then ONNX Runtime: neither's idle threads disturb the other
    tensors = {b: torch.from_numpy(x) for b, x in inputs.items()}
    calls = [("PyTorch eager", b, lambda xt=xt: eager(xt)) for b, xt in tensors.items()]
    calls += [("ONNX Runtime", b, lambda x=x: sess.run(None, {DIGITS_INPUT: x})) for b, x in inputs.items()]
    return [result_row("digits CNN", runtime, b, time_callable(fn, warmup=warmup, repeats=repeats,
                                                               max_seconds=max_seconds))
            for runtime, b, fn in calls]


def bench_keras(threads: int = 2, batches: Sequence[int] = (1, 64), repeats: int = 30, warmup: int = 3,
                max_seconds: float = 5.0) -> list[dict[str, Any]]:
    """The Keras digits model (untrained: speed does not depend on the weights): ONNX Runtime (via tf2onnx) against
    ``model(x)`` and ``model.predict(x)``."""
    import tensorflow as tf
    import tf2onnx

    from helpers.models import make_keras_digits_model
    from helpers.paths import models_dir

    set_threads(threads)
    model = make_keras_digits_model()
    path = models_dir("benchmark") / "keras_digits.onnx"
    spec = (tf.TensorSpec((None, 8, 8, 1), tf.float32, name="image"),)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=str(path))
    sess = make_session(path, intra_op_threads=threads, spinning=False)
    rows = []
    for b in batches:
        x = np.random.default_rng(b).random((b, 8, 8, 1), dtype=np.float32)
        xt = tf.constant(x)
        for runtime, fn, reps in (
            ("Keras model.predict", lambda x=x: model.predict(x, verbose=0), max(3, repeats // 3)),
            ("Keras model(x)", lambda xt=xt: model(xt, training=False), repeats),
            ("ONNX Runtime", lambda x=x: sess.run(None, {"image": x}), repeats),
        ):
            rows.append(result_row("Keras digits", runtime, b,
                                   time_callable(fn, warmup=warmup, repeats=reps, max_seconds=max_seconds)))
    return rows


def run_benchmark(quick: bool = False, threads: int = 2, parts: Sequence[str] = PARTS,
                  progress: bool = True, folder: str | os.PathLike[str] | None = None,
                  stem: str = "benchmark", sweep_threads: Sequence[int] = (1, 2)) -> dict[str, Any]:
    """Run the selected comparisons with a progress bar, evaluate the targets, write the report.

    quick: few repeats and a small sweep grid (a smoke run; the numbers are noisier). Returns the results dict,
    with the written files under ``"files"``.
    """
    from tqdm.auto import tqdm

    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ValueError(f"Unknown benchmark part(s) {unknown}; choose from {', '.join(PARTS)}.")
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
        def gflops_step() -> tuple[dict[int, Any], list[dict[str, Any]]]:
            ceilings = measure_ceiling(threads=sorted({1, threads}), repeats=3 if quick else 5,
                                       sizes=(256, 512) if quick else (256, 512, 1024, 2048))
            return ceilings, bench_gflops(threads, repeats=2 if quick else 5, quick=quick, ceilings=ceilings,
                                          include_minilm=not quick or "minilm" in parts)

        plan.append(("gflops", gflops_step))
    if "int8" in parts:
        plan.append(("int8", lambda: bench_int8(threads, quick=quick)))
    if "sweep" in parts:
        plan.append(("sweep", lambda: bench_sweep(quick=quick, threads=sweep_threads,
                                                  int8=(fidelity or {}).get("scheme"), folder=folder)))
    if "genai" in parts:  # a small LLM: transformers eager vs ONNX Runtime GenAI fp32/int4 over widths
        from workbook.genai_bench import bench_rows

        plan.append(("genai", lambda: bench_rows(threads, quick=quick, progress=progress)))
    rows: list[dict[str, Any]] = []
    genai_targets: list[dict[str, Any]] = []
    fidelity, gflops, int8, sweep, ceilings = None, None, None, None, None
    load_start = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    bar = tqdm(plan, desc="benchmark", disable=not progress)
    for name, step in bar:
        bar.set_postfix_str(name)
        out = step()
        if name == "minilm":
            rows += out["rows"]
            fidelity = out["fidelity"]
        elif name == "gflops":
            ceilings, gflops = out
        elif name == "int8":
            int8 = out
        elif name == "sweep":
            sweep = out
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
        extra.append({"title": "Achieved GFLOP/s (MatMul, Gemm, Conv only) against the ceiling", "rows": gflops})
        extra += ceiling_tables(ceilings)
        results["ceilings"] = {t: c.to_dict() for t, c in ceilings.items()}
    if int8:
        results["int8"] = {k: v for k, v in int8.items() if k != "tables"}
        extra += int8["tables"]
    if sweep:
        results["sweep"] = sweep
        extra.append({"title": "MiniLM sweep (median and best run, ms; tokens per second)", "rows": sweep["rows"],
                      "notes": sweep["notes"]})
    results["extra_tables"] = extra
    results["files"] = {k: str(v) for k, v in write_report(results, folder, stem).items()}
    if sweep:
        results["files"] |= {k: str(v) for k, v in sweep["plots"].items()}
    readme = Path(results["files"]["markdown"]).with_name(f"{stem}_readme.md")
    readme.write_text(readme_markdown(results) + "\n", encoding="utf-8")
    results["files"]["readme"] = str(readme)
    return results


def targets_table(targets: Sequence[Mapping[str, Any]]) -> Table:
    """The targets: what was required, what was measured, met or not, and why."""
    met = sum(t["met"] is True for t in targets)
    judged = sum(t["met"] is not None for t in targets)
    return Table(list(targets), ("target", "required", "measured", "met", "note"), title="Targets",
                 notes=[f"{met} of {judged} targets met ({len(targets) - judged} rows only report a figure)."])


def write_report(results: Mapping[str, Any], folder: str | os.PathLike[str] | None = None,
                 stem: str = "benchmark") -> dict[str, Path]:
    """``<stem>.md`` and ``.json`` through :func:`helpers.report.write_report`, and the latency plot ``<stem>.png``.

    results: ``{"label": machine_label(...), "rows": [...], "targets": [...], "extra_tables": [...]}``;
    only ``rows`` and ``label`` are required.
    """
    import matplotlib.pyplot as plt

    if "rows" not in results or "label" not in results:
        raise ValueError("write_report needs results with 'rows' and 'label' (see run_benchmark).")
    label = results["label"]
    parts = [f"# Benchmark\n\nMachine: {label_text(label)}\n", rows_table(results["rows"], label).to_markdown()]
    if results.get("targets"):
        parts.append(targets_table(results["targets"]).to_markdown())
    for extra in results.get("extra_tables", []):
        parts.append(Table(extra["rows"], title=extra["title"], notes=extra.get("notes", [])).to_markdown())
    md, js = report.write_report(stem, "\n\n".join(parts), dict(results), folder)
    if not results["rows"]:  # e.g. only the ceiling or the sweep ran: no latency rows to chart
        return {"markdown": md, "json": js}
    plt.close(plot_rows(results["rows"], md.with_suffix(".png"), label=label))
    return {"markdown": md, "json": js, "png": md.with_suffix(".png")}


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
            f, sl = find_row(rows, case, fast, b), find_row(rows, case, slow, b)
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
        what = f"{g['model']} batch {g['batch']}"
        share = check_share(best, g["ceiling_gflops"], f"{what} (best run)")
        check_share(g["achieved_gflops"], g["ceiling_gflops"], f"{what} (median run)")
        cpu_text = ""
        if g.get("core_ceiling_gflops") and g.get("gflop_per_cpu_s"):  # the work rate, judged when measured
            share = check_share(g["gflop_per_cpu_s"], g["core_ceiling_gflops"], f"{what} (per CPU-second)")
            cpu_text = (f"; per CPU-second {g['gflop_per_cpu_s']:.1f} of one core's ceiling "
                        f"{g['core_ceiling_gflops']:.1f} ({share:.0%})")
        judged = g["model"].startswith("MiniLM") and g["model"].endswith("fused") and g["batch"] == 32
        add(f"{what}: achieved GFLOP/s (best run; median run; per CPU-second)",
            ">= 75% of the ceiling" if judged else "report beside the ceiling",
            f"{best:.1f} of {g['ceiling_gflops']:.0f} ({best / g['ceiling_gflops']:.0%}, "
            f"{g.get('ceiling_source', 'ceiling')}); median run {g['achieved_gflops']:.1f}{cpu_text}",
            share >= 0.75 if judged else None,
            "" if not judged or share >= 0.75 else "attention's batched products, softmax, LayerNorm and GELU run below "
            "the GEMM rate, and on a shared machine other processes take cycles from every run")
    return targets


def _vnni() -> bool:
    from helpers.environment import machine_info

    return bool(machine_info()["avx512_vnni"])


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
    """``python -m workbook.benchmark [--quick] [--threads N] [--parts digits,keras,...] [--update-readme]``."""
    parser = argparse.ArgumentParser(prog="python -m workbook.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: a fast smoke run")
    parser.add_argument("--threads", type=int, default=2, help="threads for ONNX Runtime, PyTorch, TensorFlow")
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated comparisons")
    parser.add_argument("--out", default=None, help="report folder (default build/reports)")
    parser.add_argument("--sweep-threads", default="1,2", help="thread counts of the MiniLM sweep")
    parser.add_argument("--update-readme", action="store_true",
                        help="replace README's benchmark section and copy the sweep plots to docs/benchmark/")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # PyTorch's OpenMP threads sleep when idle, as ORT's do
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.update_readme and args.quick:
        parser.error("--update-readme takes a full run's numbers; drop --quick (quick numbers are a smoke test)")
    results = run_benchmark(quick=args.quick, threads=args.threads, parts=[p for p in args.parts.split(",") if p],
                            folder=args.out, sweep_threads=[int(t) for t in args.sweep_threads.split(",") if t])
    print(label_text(results["label"]))
    print(rows_table(results["rows"]).to_text())
    print(targets_table(results["targets"]).to_text())
    for extra in results["extra_tables"]:
        print(Table(extra["rows"], title=extra["title"]).to_text())
    print("wrote", ", ".join(results["files"].values()))
    if args.update_readme:
        from workbook.benchmark_parts import update_readme

        done = update_readme(results)
        print("README benchmark section", "updated" if done["updated"] else "NOT updated (no markers)",
              "| plots:", ", ".join(done["plots"].values()) or "none", *(["| skipped:", *done["skipped"]]
                                                                       if done["skipped"] else []))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
