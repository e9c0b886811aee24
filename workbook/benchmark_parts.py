"""The MiniLM parts of ``make benchmark``: fp32 and int8 against PyTorch, GFLOP/s against the ceiling, the int8
routes with their profile, the sweep with its plots; and the README update.

``workbook.benchmark.run_benchmark`` calls the ``bench_*`` functions; ``--update-readme`` calls :func:`update_readme`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers.benchmark import result_row, set_threads, time_interleaved
from helpers.environment import machine_info
from helpers.paths import models_dir
from helpers.runtime import make_session
from workbook.ceiling import measure_ceiling
from workbook.int8 import fuse_mha

#: A load average above this during the run labels the numbers "measured on a shared/loaded machine".
LOADED = 0.5
#: Plots larger than this are not copied next to the README.
PLOT_MAX_BYTES = 100_000


#: The MiniLM models compared: fp32 as exported, fused (onnxscript's ORT rewriter), and dynamic int8 of the
#: unfused graph and of three fused graphs (``optimize_model``'s, onnxscript's, and onnxscript's with
#: ``MultiHeadAttention`` and separate, quantizable Q/K/V MatMuls: :func:`workbook.int8.fuse_mha`).
MINILM_MODELS = ("fp32", "fp32 fused", "int8", "int8 fused (optimize_model)", "int8 fused (optimize_for_ort)",
                 "int8 fused (MHA)")


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

    rr = (not machine_info()["avx512_vnni"]) if reduce_range is None else reduce_range
    folder = models_dir("benchmark")
    files = {"fp32": minilm.export_minilm_onnx(model=model, tokenizer=tokenizer),
             "fp32 fused (optimize_model)": folder / "minilm_fused_optimize_model.onnx",
             "fp32 fused": folder / "minilm_fused.onnx"}
    if not files["fp32 fused (optimize_model)"].exists():
        optimize_model(str(files["fp32"]), model_type="bert", num_heads=12, hidden_size=384).save_model_to_file(
            str(files["fp32 fused (optimize_model)"]))
    if not files["fp32 fused"].exists():
        ir.save(optimize_for_ort(ir.load(str(files["fp32"])))[0], str(files["fp32 fused"]))
    files["fp32 fused (MHA)"] = folder / "minilm_fused_mha.onnx"
    if not files["fp32 fused (MHA)"].exists():
        fuse_mha(files["fp32"], files["fp32 fused (MHA)"])
    for name, src in (("int8", "fp32"), ("int8 fused (optimize_model)", "fp32 fused (optimize_model)"),
                      ("int8 fused (optimize_for_ort)", "fp32 fused"), ("int8 fused (MHA)", "fp32 fused (MHA)")):
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
    from helpers.inspect import file_size_mb

    set_threads(threads)
    model, tok = minilm.load_minilm()
    files = minilm_models(model=model, tokenizer=tok)
    sessions = {name: make_session(path, intra_op_threads=threads, spinning=False) for name, path in files.items()}
    sentences = list(sentences or minilm.load_sentences())
    feeds = minilm.tokenize(tok, (sentences * batch)[:batch], max_length=seq_len)
    tfeeds = {k: torch.as_tensor(v) for k, v in feeds.items()}

    def eager():
        with torch.no_grad():
            return model(**tfeeds).last_hidden_state

    fns = {"PyTorch eager": eager} | {f"ONNX Runtime {n}": (lambda s=s: s.run(None, feeds)) for n, s in sessions.items()}
    cpu: dict[str, Any] = {}
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
                 include_minilm: bool = True, ceilings: Mapping[int, Any] | None = None,
                 quick: bool = False) -> list[dict[str, Any]]:
    """Achieved GFLOP/s of ONNX Runtime at ``batch`` (digits CNN; MiniLM fp32 unfused and fused) against the ceiling.

    The ceiling (:mod:`workbook.ceiling`) is the higher of the theoretical FMA peak and the best GEMM of ONNX
    Runtime, PyTorch and numpy; every share is computed by :meth:`~workbook.ceiling.Ceiling.share`, which raises
    rather than print a share above 100%. ceilings: ``{threads: Ceiling}`` from
    :func:`~workbook.ceiling.measure_ceiling` (default: measured here for 1 and ``threads`` threads).
    The median and best run are shares of the ``threads`` ceiling; the work rate (GFLOP per CPU-second of all
    threads, which other processes barely change) is a share of the one-thread ceiling: one CPU-second is one core's.

    FLOPs are counted on the unfused graph (fused ``Attention`` hides its MatMuls), so both MiniLM rows do the
    same work and differ only in time.
    """
    from helpers.models import DIGITS_INPUT, digits_cnn_onnx

    if ceilings is None:
        ceilings = measure_ceiling(threads=sorted({1, threads}), sizes=(256, 512) if quick else (256, 512, 1024, 2048),
                                   repeats=3 if quick else 5)
    wall, core = ceilings[threads], ceilings[1]
    out = []
    cases = [("digits CNN", digits_cnn_onnx(), digits_cnn_onnx(), {DIGITS_INPUT: (batch, 1, 8, 8)})]
    if include_minilm:
        from helpers import minilm

        files = minilm_models()
        shapes = {n: (batch, seq_len) for n in minilm.INPUT_NAMES}
        cases += [(f"MiniLM seq {seq_len} fp32", files["fp32"], files["fp32"], shapes),
                  (f"MiniLM seq {seq_len} fp32 fused", files["fp32 fused"], files["fp32"], shapes)]
    for name, path, counted, shapes in cases:
        sess = make_session(path, intra_op_threads=threads, spinning=False)
        feeds = {k: (np.ones(v, dtype=np.int64) if len(v) == 2 else
                     np.random.default_rng(0).random(v, dtype=np.float32)) for k, v in shapes.items()}
        cpu: dict[str, Any] = {}
        stats = time_interleaved({name: lambda s=sess, f=feeds: s.run(None, f)}, warmup=warmup, repeats=repeats,
                                 max_seconds=20, cpu=cpu)[name]
        flops = count_flops(counted, shapes)
        achieved, best = flops / (stats.median / 1e3) / 1e9, flops / (stats.min / 1e3) / 1e9
        per_cpu_s = flops / (cpu[name].median / 1e3) / 1e9
        out.append({"model": name, "batch": batch, "threads": threads, "gflop_per_run": flops / 1e9,
                    "median_ms": stats.median, "best_ms": stats.min, "achieved_gflops": achieved,
                    "best_run_gflops": best, "ceiling_gflops": wall.gflops, "ceiling_source": wall.source,
                    "share_of_ceiling": f"{wall.share(achieved, f'{name} (median run)'):.0%}",
                    "best_run_share": f"{wall.share(best, f'{name} (best run)'):.0%}",
                    "gflop_per_cpu_s": per_cpu_s, "core_ceiling_gflops": core.gflops,
                    "cpu_share": f"{core.share(per_cpu_s, f'{name} (per CPU-second)'):.0%}"})
    return out


def ceiling_tables(ceilings: Mapping[int, Any]) -> list[dict[str, Any]]:
    """Extra tables for the report: the two ceilings per thread count, and every GEMM measured."""
    summary, gemm = [], []
    for t, c in sorted(ceilings.items()):
        best = max(c.gemm, key=lambda r: r["gflops"])
        summary.append({"threads": t, "theoretical FMA peak": f"{c.theoretical_gflops:.1f}",
                        "how": c.theoretical.get("formula", ""),
                        "best achieved GEMM": f"{c.achieved_gflops:.1f}", "by": f"{best['library']}, n={best['n']}",
                        "ceiling (the higher)": f"{c.gflops:.1f}", "source": c.source})
        gemm += c.gemm
    theory = next(iter(ceilings.values())).theoretical
    notes = [f"Clock: {theory.get('clock_ghz', 0):.2f} GHz ({theory.get('clock_method', '')}). FMA: "
             f"{theory.get('fma_method', '')}; measured per width {theory.get('fma_per_cycle_measured', 'n/a')}."]
    return [{"title": "Ceiling: theoretical FMA peak and best achieved GEMM (GFLOP/s, float32)", "rows": summary,
             "notes": notes},
            {"title": "GEMM rates measured (best run, n x n float32)", "rows": gemm}]


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



def bench_int8(threads: int = 2, quick: bool = False, seq_len: int = 128) -> dict[str, Any]:
    """The int8 routes of MiniLM against fused fp32 (fidelity, speed) and the profile split of fp32 and the best int8.

    Returns ``{"rows", "best", "split", "tables"}``; ``best`` is the fastest route (best runs) whose mean cosine
    reaches 0.99. quick: one cheap route (``MatMulNBits`` int8), 16 sentences, few runs.
    """
    from helpers import minilm
    from helpers.paths import reports_dir
    from workbook import int8

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

    int8: the int8 model of :data:`MINILM_MODELS` to sweep (default the MHA-fused one).
    torch_compile: include ``torch.compile`` (default: in full mode only; its first call compiles for minutes).
    """
    from helpers.benchmark import machine_label
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
