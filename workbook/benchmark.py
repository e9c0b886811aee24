"""``make benchmark``: ONNX Runtime against the frameworks, MiniLM fp32/int8, the ceiling and the sweep.

The command measures with the library notebooks 31 and 32 use (helpers.benchmark: warm-up, repeats,
interleaving, spread, labels, profiles), adds the parts only the command runs (workbook.benchmark_parts,
workbook.sweep), checks the targets and writes build/reports/benchmark.* (and README's section with
``--update-readme``).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from helpers.benchmark import (  # the measurement library notebooks 31 and 32 use
    bench_digits,
    bench_gflops,
    bench_keras,
    bench_minilm,
    ceiling_tables,
    evaluate_targets,
    label_text,
    machine_label,
    rows_table,
    targets_table,
    write_report,
)
from helpers.report import Table

#: The parts of ``make benchmark``, in the order they run.
PARTS = ("digits", "keras", "minilm", "gflops", "int8", "sweep", "genai")


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
            from helpers.ceiling import measure_ceiling

            ceilings = measure_ceiling(threads=sorted({1, threads}), repeats=3 if quick else 5,
                                       sizes=(256, 512) if quick else (256, 512, 1024, 2048))
            return ceilings, bench_gflops(threads, repeats=2 if quick else 5, quick=quick, ceilings=ceilings,
                                          include_minilm=not quick or "minilm" in parts)

        plan.append(("gflops", gflops_step))
    if "int8" in parts:
        from workbook.benchmark_parts import bench_int8

        plan.append(("int8", lambda: bench_int8(threads, quick=quick)))
    if "sweep" in parts:
        from workbook.benchmark_parts import bench_sweep

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
    """``python -m helpers.benchmark [--quick] [--threads N] [--parts digits,keras,...] [--update-readme]``."""
    parser = argparse.ArgumentParser(prog="python -m helpers.benchmark", description=__doc__.split("\n\n")[0])
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
