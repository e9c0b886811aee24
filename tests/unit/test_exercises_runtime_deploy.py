"""The checks of notebooks 30-32 and 40-41's exercises (exercises/) say right and wrong."""

from __future__ import annotations

import json

import numpy as np
import pytest

import exercises


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny digits-shaped classifier (image [N, 1, 8, 8] -> logits [N, 10]) with labels in its metadata."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).normal(size=(64, 10)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["logits"])],
        "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])], [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    labels = [f"digit {i}" for i in range(10)]
    helper.set_model_props(model, {"labels": json.dumps(labels)})
    path = tmp_path_factory.mktemp("tiny") / "tiny.onnx"
    onnx.save(model, path)
    return path, model, labels


def _with_props(tmp_path, model, props, name):
    import copy

    import onnx

    m = copy.deepcopy(model)
    onnx.helper.set_model_props(m, props)
    path = tmp_path / name
    onnx.save(m, path)
    return path


# --- 32 ---------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def quantized(tiny, tmp_path_factory):
    """The tiny model in static QDQ int8 (two calibrations) and in dynamic int8."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self, images):
            self.it = iter([{"image": images}])

        def get_next(self):
            return next(self.it, None)

    folder = tmp_path_factory.mktemp("quantized")
    images = np.random.default_rng(1).random((32, 1, 8, 8), dtype=np.float32)
    paths = {name: folder / f"{name}.onnx" for name in ("qdq", "qdq_small", "dynamic")}
    for name, scale in (("qdq", 1.0), ("qdq_small", 0.5)):
        quantize_static(str(tiny[0]), str(paths[name]), Reader(images * scale), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    quantize_dynamic(str(tiny[0]), str(paths["dynamic"]), weight_type=QuantType.QInt8)
    return paths, images


def test_32_1_computes_the_accuracy_itself(tiny, quantized):
    import onnxruntime as ort

    paths, images = quantized
    y = np.arange(len(images)) % 10
    logits = ort.InferenceSession(str(paths["qdq_small"]), providers=["CPUExecutionProvider"]).run(None, {"image": images})[0]
    accuracy = float((logits.argmax(1) == y).mean())
    context = {"notebook_model": paths["qdq"], "X_test": images, "y_test": y}
    assert exercises.check("32.1", {"model": paths["qdq_small"], "accuracy": accuracy}, **context)
    for answer, hint in (({"model": paths["qdq_small"], "accuracy": accuracy + 0.5}, "not this model's"),
                         ({"model": paths["qdq"], "accuracy": accuracy}, "notebook's own"),
                         ({"model": tiny[0], "accuracy": accuracy}, "no QuantizeLinear"), (accuracy, "answer a dict")):
        feedback = exercises.check("32.1", answer, **context)
        assert not feedback and hint in feedback.message, feedback.message


def test_32_2_wants_32_tokens_and_consistent_timings():
    from helpers import benchmark

    times = benchmark.time_interleaved({"fp32": lambda: None, "int8": lambda: None}, repeats=5)
    feeds = {"input_ids": np.zeros((1, 32), np.int64), "attention_mask": np.ones((1, 32), np.int64)}
    assert exercises.check("32.2", {"feeds": feeds, "times": times})
    long = {k: np.zeros((1, 128), np.int64) for k in feeds}
    for answer, hint in (({"feeds": long, "times": times}, "32 tokens"),
                         ({"feeds": feeds, "times": {"fp32": times["fp32"]}}, "an int8 model"),
                         ({"feeds": feeds, "times": {"fp32": 1.0, "int8": 0.5}}, "Stats"), (times, "a dict")):
        feedback = exercises.check("32.2", answer)
        assert not feedback and hint in feedback.message, feedback.message


def test_32_3_refuses_dynamic_and_float_models(tiny, quantized):
    paths, _ = quantized
    context = {"tokenizer": None, "sentences": [], "fp32_embeddings": np.zeros((0, 384))}
    for answer, hint in ((paths["dynamic"], "dynamic int8"), (tiny[0], "no QuantizeLinear"), ("none.onnx", "quantize_static wrote")):
        feedback = exercises.check("32.3", answer, **context)
        assert not feedback and hint in feedback.message, feedback.message


# --- 40 ---------------------------------------------------------------------------------------------------------

def test_40_1_wants_the_413_about_9_over_8():
    from helpers.serve import Reply

    right = Reply(413, {"message": "batch of 9 examples is over the limit of 8 (MAX_BATCH)"}, {}, 1.0)
    assert exercises.check("40.1", right)
    for answer, hint in ((Reply(200, {"predictions": [1] * 9}, {}, 1.0), "answered 200"),
                         (Reply(400, {"message": "bad"}, {}, 1.0), "not 413"),
                         (Reply(413, {"message": "body over 1000 bytes"}, {}, 1.0), "not about a batch of 9"),
                         ("413", "the reply")):
        feedback = exercises.check("40.1", answer)
        assert not feedback and hint in feedback.message, feedback.message


NAIVE = {"a good request": (200, ""), "GET instead of POST": (500, ""), "not JSON": (500, ""), "a NaN pixel": (200, ""),
         "a batch over max_batch": (200, ""), "wrong input name": (500, ""), "already refused": (405, "")}


def test_40_2_computes_the_rows_left_from_the_table():
    left = {"GET instead of POST", "not JSON", "a batch over max_batch", "wrong input name"}
    assert exercises.check("40.2", left, naive_answers=NAIVE)
    for answer, hint in ((left - {"not JSON"}, "1 row(s) missing"), (left | {"already refused"}, "1 too many"),
                         (left | {"a NaN pixel"}, "already refuses NaN"), ({"no such row"}, "not rows of the table"),
                         ("not JSON", "a set of request names")):
        feedback = exercises.check("40.2", answer, naive_answers=NAIVE)
        assert not feedback and hint in feedback.message, feedback.message


def test_40_3_wants_an_endpoint_error_naming_an_empty_folder(tmp_path, tiny):
    from helpers.serve import EndpointError

    empty = tmp_path / "empty"
    empty.mkdir()
    assert exercises.check("40.3", EndpointError(f"exited. Log:\nNo .onnx file under {empty}: pass ..."))
    for answer, hint in ((EndpointError(f"exited. Log:\nbad model in {tiny[0].parent}"), "no empty model folder"),
                         (FileNotFoundError(str(empty)), "that is a FileNotFoundError"), ("error", "exception itself")):
        feedback = exercises.check("40.3", answer)
        assert not feedback and hint in feedback.message, feedback.message


# --- 41 ---------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    """The notebook's four SDK v2 objects (built offline) for a dummy model folder."""
    import warnings

    from helpers import azure
    from helpers.paths import repo_root

    warnings.filterwarnings("ignore")
    folder = tmp_path_factory.mktemp("azure")
    (folder / "model" / "digits" / "1").mkdir(parents=True)
    (folder / "model" / "digits" / "1" / "model.onnx").write_bytes(b"")
    return azure.build_v2_specs(folder / "model", repo_root() / "deploy", folder), folder


def test_41_1_reads_the_traffic_split_and_the_green_deployment(specs):
    import copy

    from helpers import azure

    s, folder = specs
    green = copy.deepcopy(s.deployment)
    green.name, green.instance_count = "green", 2
    split = copy.deepcopy(s.endpoint)
    split.traffic = {"blue": 90, "green": 10}
    right = azure.write_v2_yaml(azure.V2Specs(s.model, s.environment, split, green, s.conda_file), folder / "green")
    assert exercises.check("41.1", right)
    no_split = azure.write_v2_yaml(azure.V2Specs(s.model, s.environment, s.endpoint, green, s.conda_file), folder / "n")
    blue = azure.write_v2_yaml(azure.V2Specs(s.model, s.environment, split, s.deployment, s.conda_file), folder / "b")
    for answer, hint in ((no_split, "traffic is {}"), (blue, "name it 'green'"), (str(right), "write_v2_yaml returned")):
        feedback = exercises.check("41.1", answer)
        assert not feedback and hint in feedback.message, feedback.message


def test_41_2_finds_the_smallest_time_limit_itself(specs):
    import copy

    from helpers import azure

    s, folder = specs
    slow = copy.deepcopy(s.deployment)
    slow.instance_type = "Standard_F2s_v2"
    slow.request_settings.request_timeout_ms = 100
    path = azure.write_v2_yaml(azure.V2Specs(s.model, s.environment, s.endpoint, slow, s.conda_file), folder / "s")["deployment"]
    assert exercises.check("41.2", {"deployment": path, "hit_first": "request_timeout_ms"})
    assert exercises.check("41.2", {"deployment": path, "hit_first": "request_settings.request_timeout_ms"})
    unchanged = azure.write_v2_yaml(s, folder / "u")["deployment"]
    for answer, hint in (({"deployment": path, "hit_first": "max_queue_wait_ms"}, "not that one"),
                         ({"deployment": unchanged, "hit_first": "request_timeout_ms"}, "Standard_F2s_v2"),
                         ("request_timeout_ms", "answer a dict")):
        feedback = exercises.check("41.2", answer)
        assert not feedback and hint in feedback.message, feedback.message
