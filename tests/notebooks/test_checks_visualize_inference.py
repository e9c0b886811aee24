"""The checks of notebooks 20, 21, 30 and 31 can fail: each is fed a good record (it passes) and, one
at a time, the failing cases it exists to catch (issue: checks that cannot fail are defects).
"""

from __future__ import annotations

import copy
import json

import pytest

from tests.notebooks.expectations import load_all

CHECKS = load_all()
LABELS = [f"digit {i}" for i in range(10)]
CHOSEN = ["inception_v1", "inception_v2", "shufflenet", "squeezenet"]


def _records(verdicts: dict[str, str]) -> list[dict[str, str]]:
    return [{"model": m, "verdict": v, "framework": "onnx model zoo (light)" if m.endswith("(light)") else "torch"}
            for m, v in verdicts.items()]


def good_20(tmp_path):
    results = {
        "plain_server_stopped": True, "reused_server": True, "two_ports": [True], "servers_left": 0,
        "opset_shared": 18, "opset_dynamo": 18, "conv_attributes": ["dilations", "kernel_shape", "pads", "strides"],
        "qdq_pairs": [7, 15], "qdq_label_agreement": 0.99, "view_fallback": "png",
        "pictures": [{"png": f"{n}.png", "reason": ""} for n in ("cnn", "qdq", "ts", "dynamo")],
    }
    records = _records({"digits CNN (torchscript exporter)": "pass", "digits CNN (dynamo exporter)": "pass",
                        "digits CNN int8 QDQ": "pass"})
    return results, records


def good_21(tmp_path):
    similarity = {"Someone is strumming an acoustic guitar.": 0.8, "A woman is playing the violin.": 0.3,
                  "The stock market fell sharply today.": 0.0, "A chef is cooking pasta in the kitchen.": 0.05}
    timing = {"session_s": 50.0, "first_run_s": 9.0}
    results = {
        "onnx_hub_present": False, "dummy_inputs_match_runner": True, "fetch_cached_and_mismatch_refused": True,
        "zoo_chosen": list(CHOSEN), "zoo_passed": sorted(CHOSEN),
        "zoo_timings_ms": {n: {**timing, "median_run_s": 2.0 if n == "squeezenet" else 8.0} for n in CHOSEN},
        "reference_evaluator_softmax_opset9_disagrees": True, "ort_follows_softmax_spec": True,
        "intermediates": {"side": 64, "compared": 105, "outside": ["softmaxout_1"]},
        "similarity": similarity, "similarity_torch": dict(similarity),
    }
    records = _records({**{f"{n} (light)": "pass" for n in CHOSEN}, "all-MiniLM-L6-v2 (pretrained)": "pass"})
    return results, records


def good_30(tmp_path):
    results = {
        "labels": LABELS, "top": ["digit 3", "digit 5", "digit 9"], "run_variants_agree": True, "two_io_ok": True,
        "metadata": {"description": "Handwritten digit classifier", "custom": {"labels": json.dumps(LABELS),
                                                                              "author": "onnx-workbook"}},
        "batch_max_err": 1e-7, "accuracy": 0.95,
        "raw_errors": {
            "wrong dtype (float64)": "InvalidArgument: Unexpected input data type. Actual: (tensor(double))",
            "wrong rank (no batch axis)": "InvalidArgument: Invalid rank for input: image Got: 3 Expected: 4",
            "missing input": "ValueError: Required inputs (['weights']) are missing from input feed (['features']).",
            "misspelled input": "ValueError: Required inputs (['features']) are missing from input feed",
        },
        "helpful_errors": {
            "wrong dtype (float64)": "InputError: Input 'weights' expects tensor(float) (numpy float32)",
            "wrong rank (no batch axis)": "InputError: Input 'image' expects rank 4 [batch, 1, 8, 8]",
            "missing input": "InputError: Missing input(s) ['weights']. The model expects features: ...",
            "misspelled input": "InputError: Missing input(s) ['features'] and unknown input(s) ['feature'].",
        },
    }
    return results, _records({"digits CNN with metadata": "pass"})


def good_31(tmp_path):
    files = {}
    for kind, suffix in (("markdown", ".md"), ("json", ".json"), ("png", ".png")):
        files[kind] = str(tmp_path / f"benchmark{suffix}")
        (tmp_path / f"benchmark{suffix}").write_text("x", encoding="utf-8")
    results = {
        "io_binding_same": True, "threads": 2, "session_threads": 2, "optimized_saved": True,
        "optimized_nodes": {"disable": 9, "basic": 9, "extended": 7, "all": 7}, "top_operator": "FusedConv",
        "speedups": {"digits_b1_vs_torch": 5.0, "keras_b1_vs_predict": 50.0}, "report_files": files,
        "machine": "some CPU, 2 cores, 2 threads, no AVX-512 VNNI",
        "timing_methods": {"timeit_median_ms": 0.05, "timeit_magic_best_ms": 0.045, "interleaved_median_ms": 0.06,
                           "interleaved_cpu_median_ms": 0.07},
    }
    records = _records({"digits CNN optimized (basic, saved)": "pass", "digits CNN optimized (all, saved)": "pass",
                        "digits CNN (PyTorch vs ORT)": "pass", "Keras digits (tf2onnx)": "pass"})
    return results, records


GOOD = {"20_visualize_netron": good_20, "21_pretrained_models": good_21, "30_inference_onnxruntime": good_30,
        "31_performance_tuning": good_31}


def _set(path, value):
    def mutate(results, records):
        *parents, last = path
        target = results
        for key in parents:
            target = target[key]
        target[last] = value
    return mutate


def _delete(path, key):
    def mutate(results, records):
        target = results
        for part in path:
            target = target[part]
        del target[key]
    return mutate


def _verdict(model, verdict):
    def mutate(results, records):
        next(r for r in records if r["model"] == model)["verdict"] = verdict
    return mutate


def _delete_file(kind):
    def mutate(results, records):
        from pathlib import Path

        Path(results["report_files"][kind]).unlink()
    return mutate


FAILING = [
    ("20_visualize_netron", "netron.stop left the plain server up", _set(["plain_server_stopped"], False)),
    ("20_visualize_netron", "a server left running", _set(["servers_left"], 1)),
    ("20_visualize_netron", "the dynamo export ignored the pinned opset", _set(["opset_dynamo"], 20)),
    ("20_visualize_netron", "a picture with neither PNG nor reason", _set(["pictures", 1], {"png": None, "reason": ""})),
    ("20_visualize_netron", "the live view fell back to text though a PNG exists", _set(["view_fallback"], "text")),
    ("20_visualize_netron", "the QDQ model failed its parity check", _verdict("digits CNN int8 QDQ", "fail")),
    ("21_pretrained_models", "a chosen model did not pass", _set(["zoo_passed"], sorted(CHOSEN)[1:])),
    ("21_pretrained_models", "a chosen model was not timed", _delete(["zoo_timings_ms"], "shufflenet")),
    ("21_pretrained_models", "a timing is zero", _set(["zoo_timings_ms", "inception_v1", "median_run_s"], 0.0)),
    ("21_pretrained_models", "a model timed at an impossible minute per run",
     _set(["zoo_timings_ms", "squeezenet", "median_run_s"], 90_000.0)),
    ("21_pretrained_models", "an intermediate tensor differs", _set(["intermediates", "outside"], ["conv1_1", "softmaxout_1"])),
    ("21_pretrained_models", "the intermediates were not compared", _set(["intermediates", "compared"], 1)),
    ("21_pretrained_models", "the MiniLM export drifted", _verdict("all-MiniLM-L6-v2 (pretrained)", "fail")),
    ("21_pretrained_models", "PyTorch ranks an unrelated sentence high",
     _set(["similarity_torch", "The stock market fell sharply today."], 0.7)),
    ("30_inference_onnxruntime", "the labels were not stored in the metadata", _set(["metadata", "custom", "labels"], "[]")),
    ("30_inference_onnxruntime", "top-k returned a label the model lacks", _set(["top"], ["cat"])),
    ("30_inference_onnxruntime", "ONNX Runtime now names the input of a dtype error (update the notebook's text)",
     _set(["raw_errors", "wrong dtype (float64)"], "InvalidArgument: input 'weights' has type double")),
    ("30_inference_onnxruntime", "the misspelled name is not reported",
     _set(["helpful_errors", "misspelled input"], "InputError: Missing input(s) ['features'].")),
    ("30_inference_onnxruntime", "batching changed the answers", _set(["batch_max_err"], 0.1)),
    ("31_performance_tuning", "the hand-built options were not applied", _set(["session_threads"], 4)),
    ("31_performance_tuning", "the optimized graph was not saved", _set(["optimized_saved"], False)),
    ("31_performance_tuning", "the costliest operator is off the convolution path", _set(["top_operator"], "Identity")),
    ("31_performance_tuning", "a report file is missing", _delete_file("png")),
    ("31_performance_tuning", "ONNX Runtime lost its batch-1 lead", _set(["speedups", "digits_b1_vs_torch"], 1.1)),
    ("31_performance_tuning", "the machine label lacks the threads", _set(["machine"], "some CPU, 2 cores")),
    ("31_performance_tuning", "timeit was not run", _set(["timing_methods", "timeit_median_ms"], 0.0)),
    ("31_performance_tuning", "no CPU time was recorded", _set(["timing_methods", "interleaved_cpu_median_ms"], float("nan"))),
    ("31_performance_tuning", "timeit and the interleaved loop disagree 50x",
     _set(["timing_methods", "interleaved_median_ms"], 2.5)),
]


@pytest.mark.parametrize("stem", sorted(GOOD))
def test_the_check_passes_a_good_record(stem, tmp_path):
    CHECKS[stem](*GOOD[stem](tmp_path))


@pytest.mark.parametrize(("stem", "case", "mutate"), FAILING, ids=[f"{s[:2]}: {c}" for s, c, _ in FAILING])
def test_the_check_fails_when(stem, case, mutate, tmp_path):
    results, records = copy.deepcopy(GOOD[stem](tmp_path))
    mutate(results, records)
    with pytest.raises(AssertionError):
        CHECKS[stem](results, records)
