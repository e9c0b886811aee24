"""Two parts of ``make benchmark`` (machinery, not the notebooks' library): the int8 routes with their profile, and
the MiniLM sweep with its plots; plus the README update. Issue 24.

``workbook.benchmark.run_benchmark`` calls :func:`bench_int8` and :func:`bench_sweep`; ``--update-readme`` calls
:func:`update_readme`. The measuring code they use is library: :mod:`helpers.ceiling`, :mod:`helpers.int8`,
:mod:`workbook.sweep`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["bench_int8", "bench_sweep", "readme_block", "update_readme", "LOADED", "PLOT_MAX_BYTES"]

#: A load average above this during the run labels the numbers "measured on a shared/loaded machine".
LOADED = 0.5
#: Plots larger than this are not copied next to the README.
PLOT_MAX_BYTES = 100_000


def bench_int8(threads: int = 2, quick: bool = False, seq_len: int = 128) -> dict[str, Any]:
    """The int8 routes of MiniLM against fused fp32 (fidelity, speed) and the profile split of fp32 and the best int8.

    Returns ``{"rows", "best", "split", "tables"}``; ``best`` is the fastest route (best runs) whose mean cosine
    reaches 0.99. quick: one cheap route (``MatMulNBits`` int8), 16 sentences, few runs.
    """
    from helpers import int8, minilm
    from helpers.benchmark import minilm_models
    from helpers.paths import models_dir, reports_dir

    files = minilm_models()
    tok = minilm.load_tokenizer()
    sentences = minilm.load_sentences()
    mha = models_dir("benchmark") / "minilm_fused_mha.onnx"  # built by minilm_models
    routes = int8.build_int8_routes(mha, models_dir("benchmark", "int8_routes"), tok, sentences,
                                    routes=["MatMulNBits int8 (block 32, int8 compute)"] if quick else None)
    candidates = {"fp32 fused": files["fp32 fused"],
                  "dynamic int8 fused (optimize_model)": files["int8 fused (optimize_model)"],
                  "dynamic int8 fused (MHA)": files["int8 fused (MHA)"]} | routes
    rows = int8.compare_int8_routes(candidates, "fp32 fused", tok, sentences[:16] if quick else sentences,
                                    threads=threads, seq_len=seq_len, repeats=5 if quick else 40,
                                    max_seconds=10 if quick else 60)
    good = [r for r in rows if r["model"] != "fp32 fused" and r["meets_0.99"]]
    best = max(good, key=lambda r: r["speedup_best"])["model"] if good else None
    feeds = minilm.tokenize(tok, sentences[:1], max_length=seq_len)
    runs = 3 if quick else 20
    tables = [{"title": f"MiniLM int8 routes, seq {seq_len}, batch 1, {threads} threads: fidelity to fused fp32 "
                        f"and speed-up over it (all timed in turns)", "rows": rows,
               "notes": [f"Best route with mean cosine >= 0.99: {best}."]}]
    split = {}
    if best:
        traces = int8.profile_models({"fp32 fused": candidates["fp32 fused"], best: candidates[best]}, feeds,
                                     reports_dir() / "profiles", threads=threads, runs=runs)
        basic = int8.profile_models({best: candidates[best]}, feeds, reports_dir() / "profiles", threads=threads,
                                    runs=runs, optimization="basic")
        for name, trace, level in ((n, t, "all") for n, t in traces.items()):
            split[f"{name} ({level})"] = int8.profile_split(trace, runs + 3, title=f"Profile: {name}, optimization {level}")
        split[f"{best} (basic)"] = int8.profile_split(basic[best], runs + 3,
                                                       title=f"Profile: {best}, optimization basic "
                                                             "(activation quantization as separate nodes)")
        fp32_ms = split["fp32 fused (all)"].rows
        fp32_total = sum(r["ms_per_run"] for r in fp32_ms)
        int8_rows = split[f"{best} (all)"].rows
        rest = sum(r["ms_per_run"] for r in int8_rows if r["group"] != "quantized MatMul")
        bound = fp32_total / rest if rest else float("inf")
        for key, table in split.items():
            notes = list(table.notes)
            if key == f"{best} (all)":
                notes.append(f"Against fused fp32's {fp32_total:.2f} ms in kernels (same load, profiled in turns), "
                             f"the {rest:.2f} ms outside the quantized MatMuls bound int8's speed-up to {bound:.2f}x "
                             "even if its MatMuls took no time.")
            tables.append({"title": table.title, "rows": table.rows, "notes": notes})
        split = {k: {"rows": t.rows} for k, t in split.items()} | {"bound_vs_fp32_fused": bound}
    return {"rows": rows, "best": best, "split": split, "tables": tables}


def bench_sweep(quick: bool = False, threads: Sequence[int] = (1, 2), int8: str | None = None,
                folder: str | os.PathLike[str] | None = None, torch_compile: bool | None = None) -> dict[str, Any]:
    """MiniLM over the batch x sequence grid (quick: :data:`workbook.sweep.QUICK_GRID`), plots under ``folder``.

    int8: the int8 model of :data:`helpers.benchmark.MINILM_MODELS` to sweep (default the MHA-fused one).
    torch_compile: include ``torch.compile`` (default: in full mode only; its first call compiles for minutes).
    """
    from helpers.benchmark import machine_label, minilm_models
    from helpers.paths import reports_dir
    from workbook import sweep

    files = minilm_models()
    int8 = int8 or "int8 fused (MHA)"
    models = {"fp32": files["fp32"], "fp32 fused": files["fp32 fused"], int8: files[int8]}
    grid = dict(sweep.QUICK_GRID, threads=tuple(threads)[:1]) if quick else {
        "batches": sweep.BATCHES, "seq_lens": sweep.SEQ_LENS, "threads": tuple(threads)}
    out = sweep.sweep_minilm(models, threads=grid["threads"], batches=grid["batches"], seq_lens=grid["seq_lens"],
                             torch_compile=(not quick) if torch_compile is None else torch_compile,
                             repeats=3, max_seconds=1.0 if quick else 2.0)
    out["plots"] = sweep.plot_sweep(out["rows"], Path(folder) if folder else reports_dir(), label=machine_label())
    return out


def readme_block(results: Mapping[str, Any], plots: Mapping[str, str] | None = None) -> str:
    """The README's benchmark section: a load warning when the machine was busy, the tables, the plots."""
    from helpers.report import Table
    from workbook.benchmark import readme_markdown

    label = results["label"]
    loads = [x[0] for x in (label.get("load_average_start"), label.get("load_average")) if x]
    parts = []
    if loads and max(loads) > LOADED:
        parts.append(f"**Measured on a shared/loaded machine** (load average {max(loads):.2f} during the run, above "
                     f"{LOADED}): medians include waiting for a core; compare best runs and CPU time.")
    parts.append(readme_markdown(results))
    wanted = ("Ceiling", "Achieved GFLOP/s", "MiniLM int8 routes", "Profile:")
    for extra in results.get("extra_tables", []):
        if extra["title"].startswith(wanted):
            rows = [{k: (f"{v:.3g}" if isinstance(v, float) else v) for k, v in r.items()} for r in extra["rows"]]
            parts.append(Table(rows, title=extra["title"], notes=extra.get("notes", [])).to_markdown())
    for name, path in (plots or {}).items():
        parts.append(f"![{name}]({path})")
    return "\n\n".join(parts)


def update_readme(results: Mapping[str, Any], readme: str | os.PathLike[str] | None = None,
                  docs: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Replace README's ``<!-- benchmark:start -->`` section and copy the sweep plots (under 100 KB) to ``docs``.

    Returns ``{"updated": bool, "plots": {name: relative path}, "skipped": [...]}``.
    """
    from helpers.paths import repo_root
    from workbook.reports import replace_section

    readme = Path(readme) if readme else repo_root() / "README.md"
    docs = Path(docs) if docs else readme.parent / "docs" / "benchmark"
    plots, skipped = {}, []
    for key in ("latency_png", "speedup_png"):
        src = results.get("files", {}).get(key)
        if not src:
            continue
        size = Path(src).stat().st_size
        if size > PLOT_MAX_BYTES:
            skipped.append(f"{Path(src).name}: {size / 1e3:.0f} KB > {PLOT_MAX_BYTES / 1e3:.0f} KB")
            continue
        docs.mkdir(parents=True, exist_ok=True)
        dst = docs / Path(src).name
        shutil.copyfile(src, dst)
        plots[f"MiniLM sweep: {key.split('_')[0]}"] = dst.relative_to(readme.parent).as_posix()
    updated = replace_section(readme, "benchmark", readme_block(results, plots))
    return {"updated": updated, "plots": plots, "skipped": skipped}
