"""workbook.ceiling (the two ceilings, the refusal of a share above 100%), workbook.int8's profile split, and the
sweep's grid and plots, on tiny or synthetic inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import benchmark
from workbook import benchmark as command
from workbook import benchmark_parts, ceiling, int8, sweep


def test_fma_peak_is_cores_lanes_fma_units_two_and_the_clock():
    assert ceiling.fma_peak_gflops(cores=2, lanes=16, fma_per_cycle=1, clock_ghz=3.0) == 192.0
    assert ceiling.fma_peak_gflops(cores=1, lanes=8, fma_per_cycle=2, clock_ghz=2.5) == 80.0
    with pytest.raises(ValueError, match="positive clock_ghz"):
        ceiling.fma_peak_gflops(2, 16, 1, 0.0)


@pytest.mark.parametrize(("flags", "lanes"), [({"avx512f", "avx2", "fma"}, 16), ({"avx2", "fma"}, 8), ({"sse4_2"}, 4)])
def test_vector_lanes_follow_the_cpu_flags(flags, lanes):
    assert ceiling.vector_lanes(flags) == lanes


def test_the_ceiling_is_the_higher_of_theory_and_the_best_gemm():
    c = ceiling.Ceiling(theoretical_gflops=200.0, achieved_gflops=150.0)
    assert (c.gflops, c.source) == (200.0, "theoretical FMA peak")
    assert c.share(100.0) == 0.5
    low = ceiling.Ceiling(theoretical_gflops=100.0, achieved_gflops=150.0)  # a theory below what was achieved
    assert (low.gflops, low.source) == (150.0, "best achieved GEMM")


@pytest.mark.parametrize("measured", [100.01, 120.0, 1e6])
def test_a_share_above_100_percent_is_refused(measured):
    c = ceiling.Ceiling(theoretical_gflops=100.0, achieved_gflops=80.0)
    with pytest.raises(ceiling.CeilingError, match=r"above 100% means the ceiling is wrong"):
        c.share(measured, "MiniLM")
    with pytest.raises(ceiling.CeilingError, match=rf"MiniLM reached {measured:.1f} GFLOP/s"):
        ceiling.check_share(measured, 100.0, "MiniLM")
    assert ceiling.check_share(100.0, 100.0) == 1.0  # exactly the ceiling is allowed


def test_a_missing_ceiling_is_refused():
    with pytest.raises(ceiling.CeilingError, match="measure it"):
        ceiling.check_share(1.0, 0.0)


def test_the_targets_refuse_to_print_a_share_above_the_ceiling():
    gflops = [{"model": "MiniLM seq 128 fp32 fused", "batch": 32, "achieved_gflops": 270.0,
               "best_run_gflops": 279.5, "ceiling_gflops": 222.0}]
    with pytest.raises(ceiling.CeilingError, match=r"126% of the ceiling of 222.0"):
        command.evaluate_targets([], gflops=gflops)
    gflops[0] |= {"best_run_gflops": 200.0, "achieved_gflops": 150.0, "gflop_per_cpu_s": 130.0,
                  "core_ceiling_gflops": 111.0}  # per CPU-second above one core's ceiling: refused too
    with pytest.raises(ceiling.CeilingError, match="per CPU-second"):
        command.evaluate_targets([], gflops=gflops)


def test_bench_gflops_refuses_a_share_above_a_wrong_ceiling():
    pytest.importorskip("torch", reason="the digits CNN is built with PyTorch (main kernel)")
    wrong = {1: ceiling.Ceiling(0.001, 0.001, 1), 2: ceiling.Ceiling(0.001, 0.001, 2)}
    with pytest.raises(ceiling.CeilingError, match="digits CNN .* the ceiling is wrong"):
        benchmark_parts.bench_gflops(threads=2, repeats=1, include_minilm=False, ceilings=wrong)


def test_measured_clock_and_fma_units_are_plausible_or_assumed_and_said_so():
    peak = ceiling.theoretical_peak(threads=1)
    assert peak["cores"] == 1 and peak["gflops"] > 0 and peak["lanes"] in (4, 8, 16)
    if peak["clock_method"].startswith("measured"):
        assert 0.5 < peak["clock_ghz"] < 7.0 and 1 <= peak["fma_per_cycle"] <= 4, peak
    assumed = ceiling.theoretical_peak(threads=1, measure=False)
    assert "NOT measured" in assumed["clock_method"] and "assumed" in assumed["fma_method"]


def test_gemm_rates_measure_every_library_size_and_thread_count():
    rows = ceiling.gemm_rates(sizes=(32, 64), threads=(1,), libraries=("onnxruntime", "numpy"), repeats=2)
    assert {(r["library"], r["n"]) for r in rows} == {(lib, n) for lib in ("onnxruntime MatMul", "numpy (BLAS)")
                                                     for n in (32, 64)}
    assert all(r["gflops"] > 0 and r["runs"] == 2 for r in rows)


def _event(op, dur_us, node="n"):
    return {"cat": "Node", "name": f"{node}_kernel_time", "dur": dur_us, "args": {"op_name": op}}


def test_profile_split_groups_quantized_matmuls_activation_quantization_and_float_ops(tmp_path):
    events = [_event("DynamicQuantizeMatMul", 600), _event("MatMulInteger", 200), _event("DynamicQuantizeLinear", 100),
              _event("Attention", 300), _event("SkipLayerNormalization", 500), _event("Softmax", 300),
              {"cat": "Session", "name": "model_run", "dur": 99999},  # not a node: ignored
              {"cat": "Node", "name": "x_fence_before", "dur": 7, "args": {"op_name": "MatMul"}}]  # not kernel time
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(events))
    table = int8.profile_split(path, runs=2)
    by = {r["group"]: r for r in table.rows}
    assert by["quantized MatMul"]["ms_per_run"] == pytest.approx(0.4)
    assert by["activation quantization"]["ms_per_run"] == pytest.approx(0.05)
    assert by["float MatMul / attention"]["ms_per_run"] == pytest.approx(0.15)
    assert by["other float ops"]["ms_per_run"] == pytest.approx(0.4)
    assert by["quantized MatMul"]["share"] == "40.0%" and by["quantized MatMul"]["calls_per_run"] == 1.0
    assert by["other float ops"]["operators (ms per run)"].startswith("SkipLayerNormalization 0.25")
    assert any("at most 1.67x faster" in n for n in table.notes)  # 1.0 ms total, 0.6 ms outside quantized MatMuls
    assert int8.op_group("QLinearMatMul") == "quantized MatMul" and int8.op_group("Gelu") == "other float ops"


def test_profile_split_refuses_an_empty_or_foreign_trace(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    with pytest.raises(ValueError, match="run the session at least once"):
        int8.profile_split(empty)
    foreign = tmp_path / "foreign.json"
    foreign.write_text("{}")
    with pytest.raises(ValueError, match="not an ONNX Runtime profile"):
        int8.profile_split(foreign)
    with pytest.raises(ValueError, match="runs must be at least 1"):
        int8.profile_split(empty, runs=0)


def _sweep_rows():
    rows = []
    for t in (1, 2):
        for b in (1, 8):
            for s in (16, 64):
                for rt, ms in (("PyTorch eager", 10.0), ("ONNX Runtime fp32", 5.0), ("ONNX Runtime int8", 2.5)):
                    rows.append({"runtime": rt, "threads": t, "batch": b, "seq": s, "median_ms": ms * b * s / 16 / t,
                                 "best_ms": ms, "runs": 3, "tokens_per_s": 1.0})
    return rows


def test_sweep_grid_speedups_and_plots(tmp_path):
    pytest.importorskip("matplotlib", reason="the plots are drawn in the main kernel")
    assert sweep.grid_points((1, 8, 32, 64), (16, 256), max_tokens=4096) == [(1, 16), (1, 256), (8, 16), (8, 256),
                                                                              (32, 16), (64, 16)]
    grid = sweep.speedup_grid(_sweep_rows(), "ONNX Runtime int8", "PyTorch eager", 1, (1, 8, 32), (16, 64))
    assert grid[:2].tolist() == [[4.0, 4.0], [4.0, 4.0]] and np.isnan(grid[2]).all()
    label = benchmark.machine_label(threads=2, versions=("numpy",))
    files = sweep.plot_sweep(_sweep_rows(), tmp_path, label=label)
    for path in files.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size < 100_000
