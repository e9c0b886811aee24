"""helpers.benchmark (statistics, timing, profiles), make benchmark's targets and FLOPs, and helpers.minilm, on
tiny inputs."""

from __future__ import annotations

import time

import numpy as np
import pytest

from helpers import benchmark, minilm, runtime
from tests.unit.models import linear_model
from workbook import benchmark as command
from workbook import benchmark_parts


def _mlp(width: int = 128):
    """A two-layer MLP with ``width`` x ``width`` weights: big enough for quantization to shrink it."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1, w2 = (rng.standard_normal((width, width)).astype(np.float32) / 10 for _ in range(2))
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("MatMul", ["r", "w2"], ["y"])],
        "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", width])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_summarize_gives_median_percentiles_and_iqr():
    s = benchmark.summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s.n, s.median, s.min, s.max, s.mean) == (5, 3.0, 1.0, 5.0, 3.0)
    assert (s.q1, s.q3, s.iqr) == (2.0, 4.0, 2.0)
    assert s.p10 == pytest.approx(1.4) and s.p90 == pytest.approx(4.6)
    assert benchmark.summarize([7.0]).iqr == 0.0
    assert s.times == [5.0, 1.0, 3.0, 2.0, 4.0]


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")]], ids=["empty", "nan"])
def test_summarize_refuses_no_or_broken_timings(bad):
    with pytest.raises(ValueError, match="at least one finite timing"):
        benchmark.summarize(bad)


def test_time_callable_warms_up_then_times_each_repeat():
    calls = []
    stats = benchmark.time_callable(lambda: calls.append(1), warmup=3, repeats=7)
    assert len(calls) == 10 and stats.n == 7 and stats.median >= 0
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        benchmark.time_callable(lambda: None, repeats=0)


def test_time_interleaved_takes_turns_and_times_each():
    order = []
    stats = benchmark.time_interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")},
                                       warmup=1, repeats=3)
    assert order == ["a", "b"] * 4 and stats["a"].n == stats["b"].n == 3
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        benchmark.time_interleaved({"a": lambda: None}, repeats=0)


def test_time_callable_stops_at_max_seconds_after_three_runs():
    import time

    stats = benchmark.time_callable(lambda: time.sleep(0.02), warmup=0, repeats=100, max_seconds=0.01)
    assert stats.n == 3


def _rows():
    s = benchmark.summarize
    return [benchmark.result_row("m", "slow", 1, s([9.0, 10.0, 11.0])),
            benchmark.result_row("m", "fast", 1, s([2.0, 2.0, 2.0]))]


def test_result_rows_speedup_and_throughput():
    rows = _rows()
    assert rows[1]["samples_per_s"] == pytest.approx(500.0)
    assert benchmark.speedup(rows, "m", "fast", "slow", 1) == pytest.approx(5.0)
    with pytest.raises(KeyError, match="No row for"):
        benchmark.speedup(rows, "m", "fast", "slow", 64)


def _minilm_rows(eager, fp32, fused, int8, int8_fused):
    s = benchmark.summarize
    case = "MiniLM seq 128"
    return [benchmark.result_row(case, "PyTorch eager", 1, s([eager])),
            benchmark.result_row(case, "ONNX Runtime fp32", 1, s([fp32])),
            benchmark.result_row(case, "ONNX Runtime fp32 fused", 1, s([fused])),
            benchmark.result_row(case, "ONNX Runtime int8", 1, s([int8])),
            benchmark.result_row(case, "ONNX Runtime int8 fused (optimize_model)", 1, s([int8_fused]))]


FIDELITY = {"sentences": 62, "scheme": "int8 fused (optimize_model)", "cosine_mean": 0.995, "cosine_min": 0.97,
            "size_ratio": 0.26}


def test_targets_report_measured_figure_and_reason_when_missed():
    s = benchmark.summarize
    rows = [benchmark.result_row("digits CNN", "PyTorch eager", 1, s([2.0])),
            benchmark.result_row("digits CNN", "ONNX Runtime", 1, s([1.0])),
            *_minilm_rows(eager=40.0, fp32=25.0, fused=20.0, int8=12.0, int8_fused=10.0)]
    gflops = [{"model": "MiniLM seq 128 fp32 fused", "batch": 32, "achieved_gflops": 70.0, "ceiling_gflops": 100.0,
               "ceiling_source": "theoretical FMA peak"}]
    targets = {t["target"]: t for t in command.evaluate_targets(rows, FIDELITY, gflops, vnni=True)}
    cnn = targets["digits CNN batch 1: ORT vs PyTorch eager"]
    assert (cnn["measured"], cnn["met"]) == ("2.00x", False) and cnn["note"]
    assert targets["MiniLM seq 128 batch 1: fused ORT fp32 vs PyTorch eager"]["met"] is True
    assert targets["MiniLM seq 128 batch 1: ORT fp32 (unfused) vs PyTorch eager"]["met"] is None
    int8 = targets["MiniLM seq 128 batch 1: int8 fused (optimize_model) vs fused fp32"]
    assert (int8["measured"], int8["met"]) == ("2.00x (best runs 2.00x)", True)
    assert targets["MiniLM int8 file size vs fp32"]["met"] is True
    peak = targets["MiniLM seq 128 fp32 fused batch 32: achieved GFLOP/s (best run; median run; per CPU-second)"]
    assert peak["met"] is False and peak["required"] == ">= 75% of the ceiling" and peak["note"]
    gflops[0]["best_run_gflops"] = 80.0  # the best run is judged, as the peak is a best run
    again = {t["target"]: t for t in command.evaluate_targets(rows, FIDELITY, gflops, vnni=True)}
    assert again["MiniLM seq 128 fp32 fused batch 32: achieved GFLOP/s (best run; median run; per CPU-second)"]["met"] is True
    gflops[0] |= {"gflop_per_cpu_s": 30.0, "core_ceiling_gflops": 50.0}  # the work rate decides when measured
    again = {t["target"]: t for t in command.evaluate_targets(rows, FIDELITY, gflops, vnni=True)}
    assert again["MiniLM seq 128 fp32 fused batch 32: achieved GFLOP/s (best run; median run; per CPU-second)"]["met"] is False
    table = command.targets_table(list(targets.values()))
    assert "4 of 6 targets met" in table.to_markdown()


def test_int8_target_fails_when_too_slow_or_unfaithful_and_is_only_reported_without_vnni():
    rows = _minilm_rows(eager=40.0, fp32=25.0, fused=30.0, int8=20.0, int8_fused=18.0)
    bad = dict(FIDELITY, cosine_mean=0.98, sentences=40)
    targets = {t["target"]: t for t in command.evaluate_targets(rows, bad, vnni=True)}
    assert targets["MiniLM seq 128 batch 1: fused ORT fp32 vs PyTorch eager"]["met"] is False
    int8 = targets["MiniLM seq 128 batch 1: int8 fused (optimize_model) vs fused fp32"]
    assert int8["met"] is False and int8["note"]
    assert targets["MiniLM int8 fused (optimize_model) vs fp32: masked mean-pooled cosine, mean over 40 sentences"][
        "met"] is False
    no_vnni = {t["target"]: t for t in command.evaluate_targets(rows, FIDELITY, vnni=False)}
    int8 = no_vnni["MiniLM seq 128 batch 1: int8 fused (optimize_model) vs fused fp32"]
    assert int8["met"] is None and "VNNI" in int8["note"] and "reduce_range" in int8["note"]


def test_profile_summary_ranks_operators(tmp_path):
    sess = runtime.make_session(_mlp(), profile_prefix=tmp_path / "prof")
    for _ in range(3):
        sess.run(None, {"x": np.ones((8, 128), np.float32)})
    table = benchmark.summarize_profile(sess.end_profiling(), top=5)
    ops = [r["operator"] for r in table.rows]
    assert "MatMul" in ops and table.rows[0]["total_us"] >= table.rows[-1]["total_us"]
    assert {r["operator"]: r["calls"] for r in table.rows}["MatMul"] == 6


def test_profile_summary_of_an_empty_trace_says_what_to_do(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("[]")
    with pytest.raises(ValueError, match="run the session at least once"):
        benchmark.summarize_profile(path)


def test_count_flops_of_matmul_and_gemm():
    assert benchmark_parts.count_flops(linear_model(), {"x": (5, 4)}) == 2 * 5 * 4 * 3
    assert benchmark_parts.count_flops(_mlp(16), {"x": (2, 16)}) == 2 * (2 * 2 * 16 * 16)
    with pytest.raises(ValueError, match="rank 2"):
        benchmark_parts.count_flops(linear_model(), {"x": (5,)})


def test_label_names_the_machine():
    label = benchmark.machine_label(threads=2, versions=("numpy", "onnxruntime"))
    text = benchmark.label_text(label)
    assert "cores" in text and "2 threads" in text and "numpy" in text


def test_mean_pool_ignores_padding_and_cosine_rows():
    h = np.array([[[1.0, 0.0], [3.0, 0.0], [100.0, -100.0]]])
    assert minilm.mean_pool(h, np.array([[1, 1, 0]]), normalize=False).tolist() == [[2.0, 0.0]]
    assert minilm.mean_pool(h, np.array([[1, 1, 0]])).tolist() == [[1.0, 0.0]]
    with pytest.raises(ValueError, match=r"\(batch, seq\) mask"):
        minilm.mean_pool(h, np.ones((1, 2)))
    assert minilm.cosine_rows(np.eye(2), np.eye(2)).tolist() == [1.0, 1.0]


def test_shipped_sentences_are_many_and_varied():
    sentences = minilm.load_sentences()
    assert len(sentences) >= 50 and len(set(sentences)) == len(sentences)
    assert minilm.load_sentences(limit=5) == sentences[:5]


def test_sha256_and_a_tampered_file_is_refused(tmp_path, monkeypatch):
    f = tmp_path / "config.json"
    f.write_text("{}")
    monkeypatch.setattr(minilm, "minilm_dir", lambda: tmp_path)
    with pytest.raises(minilm.MiniLMFileError, match=r"config\.json: sha256 .* reinstall"):
        minilm.verify_minilm_files({"config.json": "0" * 64})
    with pytest.raises(minilm.MiniLMFileError, match="missing"):
        minilm.verify_minilm_files({"model.safetensors": "0" * 64})


def test_interleaved_timing_reports_cpu_time():
    cpu = {}
    wall = benchmark.time_interleaved({"busy": lambda: sum(range(20000)), "sleep": lambda: time.sleep(0.005)},
                                      warmup=0, repeats=3, cpu=cpu)
    assert cpu["sleep"].median < 0.5 * wall["sleep"].median  # sleeping waits: wall time, almost no CPU time
    assert cpu["busy"].median > 0


def test_time_in_rounds_warms_up_then_takes_turns_and_keeps_every_time():
    calls = []

    def timer(name):
        return lambda n: calls.append((name, n)) or [1.0] * n

    kept = benchmark.time_in_rounds({"a": timer("a"), "b": timer("b")}, runs=6, warmup=2, rounds=3)
    assert calls == [("a", 2), ("b", 2)] + [("a", 2), ("b", 2)] * 3 and kept == {"a": [1.0] * 6, "b": [1.0] * 6}
    with pytest.raises(ValueError, match="runs and rounds must be >= 1"):
        benchmark.time_in_rounds({"a": timer("a")}, runs=0, warmup=0, rounds=1)
