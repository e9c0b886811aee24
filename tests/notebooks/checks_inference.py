"""Checks for the inference and performance notebooks (30-39)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.notebooks.expectations import expect, verdicts

MISTAKES = {"wrong dtype (float64)", "wrong rank (no batch axis)", "missing input", "misspelled input"}


@expect("30_inference_onnxruntime")
def _inference(results, records):
    labels = [f"digit {i}" for i in range(10)]
    assert results["labels"] == labels
    assert results["metadata"]["description"].startswith("Handwritten digit")
    assert json.loads(results["metadata"]["custom"]["labels"]) == labels and results["metadata"]["custom"]["author"]
    assert 1 <= len(results["top"]) <= 10 and set(results["top"]) <= set(labels), results["top"]
    assert results["run_variants_agree"] is True and results["two_io_ok"] is True
    assert results["batch_max_err"] < 1e-4 and results["accuracy"] > 0.85
    raw, helpful = results["raw_errors"], results["helpful_errors"]
    assert set(raw) == set(helpful) == MISTAKES
    assert not any(msg.startswith("InputError") for msg in raw.values())  # ONNX Runtime's own errors
    assert "weights" not in raw["wrong dtype (float64)"], "ONNX Runtime's dtype error does not name the input"
    for mistake, msg in helpful.items():
        assert msg.startswith("InputError"), (mistake, msg)
    assert "'weights'" in helpful["wrong dtype (float64)"] and "float32" in helpful["wrong dtype (float64)"]
    assert "rank 4" in helpful["wrong rank (no batch axis)"]
    assert "['weights']" in helpful["missing input"]
    assert "['features']" in helpful["misspelled input"] and "['feature']" in helpful["misspelled input"]
    assert verdicts(records) == {"digits CNN with metadata": "pass"}


@expect("31_performance_tuning")
def _performance(results, records):
    assert verdicts(records) == {
        "digits CNN optimized (basic, saved)": "pass",
        "digits CNN optimized (all, saved)": "pass",
        "digits CNN (PyTorch vs ORT)": "pass",
        "Keras digits (tf2onnx)": "pass",
    }
    assert results["io_binding_same"] is True
    assert results["session_threads"] == results["threads"] >= 1  # the hand-built SessionOptions took effect
    assert results["optimized_saved"] is True
    nodes = results["optimized_nodes"]
    assert nodes["extended"] < nodes["disable"], nodes  # fusions shrink the graph
    # the convolution path: the convolutions and matrix products, or the NCHWc layout reorders ORT puts around them
    assert results["top_operator"] in {"Conv", "FusedConv", "Gemm", "FusedGemm", "ReorderInput", "ReorderOutput"}
    speed = results["speedups"]
    # Generous ratios only: the machine may be busy (the targets themselves are measured by `make benchmark`).
    assert speed["digits_b1_vs_torch"] > 1.2 and speed["keras_b1_vs_predict"] > 2, speed  # generous: about 5x when idle
    assert sorted(Path(p).suffix for p in results["report_files"].values()) == [".json", ".md", ".png"]
    assert all(Path(p).is_file() and Path(p).stat().st_size > 0 for p in results["report_files"].values())
    assert f"{results['threads']} thread" in results["machine"] and "cores" in results["machine"], results["machine"]
    # timeit, %timeit -o and the interleaved loop timed the same batch-1 call: all ran, within a generous factor
    timing = results["timing_methods"]
    assert all(v > 0 for v in timing.values()), timing  # NaN fails too
    wall = [timing["timeit_median_ms"], timing["timeit_magic_best_ms"], timing["interleaved_median_ms"]]
    assert max(wall) < 20 * min(wall), timing  # the same call: only the machine's load separates them


@expect("32_quantization")
def _quantization(results, records):
    assert results["sha256_ok"] is True
    assert results["arithmetic_max_error"] < 0.01  # five numbers, each back within half a step
    found = verdicts(records)
    assert found["MiniLM (dynamo exporter)"] == "pass"
    assert results["dynamo_cosine_min"] > 0.9999
    assert found["MiniLM (attention mask ignored)"] == "fail"  # the parity check catches a lost mask
    assert results["mask_ignored_cosine_min"] < 0.99
    if results["torchscript"] is not None:  # full mode only; its verdict is whatever the check measured
        assert found["MiniLM (TorchScript exporter)"] == results["torchscript"]["verdict"]
    # Fusion: optimize_model fuses LayerNorm and GELU on the dynamo export, onnxscript also the attention.
    assert results["ort_fused"].get("SkipLayerNormalization") == 12 and results["ort_fused"].get("BiasGelu") == 6
    fused, unfused = results["onnxscript_fused"], results["unfused_ops"]
    assert (fused.get("Attention"), fused.get("SkipLayerNormalization"), fused.get("BiasGelu")) == (6, 12, 6), fused
    assert sum(fused.values()) < sum(unfused.values()) / 2 and results["fused_cosine_min"] > 0.9999
    # int8 on a fused graph: the headline claims, on all (>= 50) sentences, speed by generous ratios.
    assert results["sentences"] >= 50
    assert found["MiniLM int8 dynamic vs fp32"] == "pass"
    minilm = {r["model"]: r for r in results["minilm"]}
    best, fp32, fused_fp32 = minilm[results["int8_best"]], minilm["fp32"], minilm["fp32 fused (optimize_for_ort)"]
    assert results["int8_best"].startswith("int8 fused")
    assert best["cosine mean"] >= 0.99 and best["cosine min"] >= 0.95, best
    assert minilm["int8 fused (optimize_model)"]["MB"] <= 0.30 * fp32["MB"]
    assert best["best ms"] * 1.1 < fused_fp32["best ms"], (best, fused_fp32)  # best runs: least disturbed by load
    assert results["reduce_range"] is (not results["avx512_vnni"])
    cnn = {r["model"]: r for r in results["cnn"]}
    for name in ("int8 static QDQ (calibrated)", "int8 static QOperator (U8S8)", "int8 dynamic", "float16"):
        assert found[f"digits CNN {name} vs fp32"] == "pass"
        assert cnn[name]["KB"] < cnn["fp32"]["KB"], name
        assert cnn[name]["labels = fp32"] >= 0.97 and cnn[name]["accuracy"] >= cnn["fp32"]["accuracy"] - 0.03
    # A bad calibration misses the tolerance, and qdq_loss_debug blames the input's Q/DQ pair.
    assert results["bad_calibration"] == "fail" and found["digits CNN int8 static QDQ (bad calibration) vs fp32"] == "fail"
    assert results["worst_tensor"] == "image"
