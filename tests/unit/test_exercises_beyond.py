"""The checks of notebook 42's exercises (exercises/) refuse wrong answers, with a hint."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import exercises
from helpers import web


def _save(graph: onnx.GraphProto, path, **save) -> str:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.save(model, str(path), **save)
    return str(path)


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    """A linear 'digits' classifier: the top half of the image votes 0, the bottom half 1 (10 classes)."""
    w = np.zeros((64, 10), np.float32)
    w[:32, 0], w[32:, 1] = 10, 10
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"]), helper.make_node("Gemm", ["flat", "w"], ["logits"])],
        "digits", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], [numpy_helper.from_array(w, "w")])
    folder = tmp_path_factory.mktemp("digits")
    return graph, _save(graph, folder / "digits.onnx")


def test_42_1_an_ambiguous_digit_and_its_top_two(digits_model):
    _, model = digits_model
    doubt = np.r_[np.full(32, 0.006), np.full(32, 0.005)]  # logits 1.92 (class 0) and 1.6 (class 1): top p ~ 0.4
    assert exercises.check("42.1", {"pixels": doubt, "top2": [0, 1]}, model=model)
    wrong = {
        "answer a dict": exercises.check("42.1", [0, 1], model=model),
        "64 values": exercises.check("42.1", {"pixels": doubt[:10], "top2": [0, 1]}, model=model),
        "two labels": exercises.check("42.1", {"pixels": doubt, "top2": [0]}, model=model),
        "model is sure": exercises.check("42.1", {"pixels": np.r_[np.ones(32), np.zeros(32)], "top2": [0, 1]},
                                         model=model),
        "wrong order": exercises.check("42.1", {"pixels": doubt, "top2": [1, 0]}, model=model),
        "second is not": exercises.check("42.1", {"pixels": doubt, "top2": [0, 7]}, model=model),
        "not the page's two highest": exercises.check("42.1", {"pixels": doubt, "top2": [3, 4]}, model=model),
    }
    for hint, feedback in wrong.items():
        assert not feedback and hint in feedback.message, (hint, feedback.message)


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    """Two token encoders with MiniLM's inputs (a lookup table): 'fp32' and a noisier 'int8' stand-in."""
    rng = np.random.default_rng(0)
    table = rng.normal(size=(50, 16)).astype(np.float32)
    folder = tmp_path_factory.mktemp("encoders")

    def encoder(name, weights):
        graph = helper.make_graph(
            [helper.make_node("Gather", ["table", "input_ids"], ["last_hidden_state"])], "enc",
            [helper.make_tensor_value_info(n, TensorProto.INT64, ["B", "S"])
             for n in ("input_ids", "attention_mask", "token_type_ids")],
            [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["B", "S", 16])],
            [numpy_helper.from_array(weights, "table")])
        return _save(graph, folder / name)

    fp32 = encoder("fp32.onnx", table)
    int8 = encoder("int8.onnx", (table + rng.normal(scale=0.2, size=table.shape)).astype(np.float32))
    feeds = {"input_ids": np.array([[1, 2, 3, 0], [4, 5, 0, 0]], np.int64),
             "attention_mask": np.array([[1, 1, 1, 0], [1, 1, 0, 0]], np.int64)}
    feeds["token_type_ids"] = np.zeros_like(feeds["input_ids"])
    return fp32, int8, feeds


def test_42_2_size_ratio_and_cosine(encoders):
    from pathlib import Path

    from helpers import minilm

    fp32, int8, feeds = encoders
    import onnxruntime as ort

    def emb(path):
        out = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
        return minilm.mean_pool(out, feeds["attention_mask"])

    ratio = Path(fp32).stat().st_size / Path(int8).stat().st_size
    cosine = float(minilm.cosine_rows(emb(fp32), emb(int8)).min())
    ctx = {"fp32_path": fp32, "int8_path": int8, "feeds": feeds}
    assert exercises.check("42.2", {"size_ratio": ratio, "min_cosine": cosine}, **ctx)
    wrong = {
        "answer a dict": exercises.check("42.2", 0.25, **ctx),
        "not the ratio": exercises.check("42.2", {"size_ratio": ratio * 2, "min_cosine": cosine}, **ctx),
        "compared a model with itself": exercises.check("42.2", {"size_ratio": ratio, "min_cosine": 1.0}, **ctx),
        "mean-pool": exercises.check("42.2", {"size_ratio": ratio, "min_cosine": cosine - 0.2}, **ctx),
    }
    for hint, feedback in wrong.items():
        assert not feedback and hint in feedback.message, (hint, feedback.message)


def test_42_2_an_upside_down_ratio_is_named(encoders, tmp_path):
    fp32, _, feeds = encoders
    small = tmp_path / "small.onnx"
    model = onnx.load(fp32)
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.zeros((50, 4), np.float32), "table"))
    onnx.save(model, str(small))
    from pathlib import Path

    ratio = Path(fp32).stat().st_size / small.stat().st_size
    feedback = exercises.check("42.2", {"size_ratio": 1 / ratio, "min_cosine": 0.9}, fp32_path=fp32,
                               int8_path=small, feeds=feeds)
    assert not feedback and "upside down" in feedback.message


def test_42_3_the_two_headers_on_a_server_of_ones_own(tmp_path):
    (tmp_path / "index.html").write_text("<p>another page</p>")
    with web.StaticServer({"/": web.web_dir()}, isolated=True) as isolated, \
            web.StaticServer({"/": web.web_dir()}, isolated=False) as plain, \
            web.StaticServer({"/": tmp_path}, isolated=True) as other:
        assert exercises.check("42.3", isolated.url)
        wrong = {
            "Cross-Origin-Opener-Policy": exercises.check("42.3", plain.url),
            "does not serve the workbook's page": exercises.check("42.3", other.url),
            "127.0.0.1 only": exercises.check("42.3", "http://example.com/"),
        }
        port = other.port
    wrong["could not open"] = exercises.check("42.3", f"http://127.0.0.1:{port}/")  # stopped: nothing listens
    for hint, feedback in wrong.items():
        assert not feedback and hint in feedback.message, (hint, feedback.message)


def test_42_4_weights_in_external_data(digits_model, tmp_path):
    graph, model = digits_model
    X = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
    external = _save(graph, tmp_path / "ext.onnx", save_as_external_data=True, location="ext.onnx.data",
                     size_threshold=0)
    assert exercises.check("42.4", external, reference=model, X=X)
    other = onnx.load(model)
    other.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.ones((64, 10), np.float32), "w"))
    onnx.save(other, str(tmp_path / "other.onnx"), save_as_external_data=True, location="other.onnx.data",
              size_threshold=0)
    moved = _save(graph, tmp_path / "moved.onnx", save_as_external_data=True, location="moved.onnx.data",
                  size_threshold=0)
    (tmp_path / "moved.onnx.data").unlink()
    wrong = {
        "every weight is inside": exercises.check("42.4", model, reference=model, X=X),
        "not beside the model": exercises.check("42.4", moved, reference=model, X=X),
        "does not compute": exercises.check("42.4", tmp_path / "other.onnx", reference=model, X=X),
        "is not an .onnx file": exercises.check("42.4", tmp_path / "none.onnx", reference=model, X=X),
    }
    for hint, feedback in wrong.items():
        assert not feedback and hint in feedback.message, (hint, feedback.message)


def test_42_5_ort_file_and_its_kernels(encoders, digits_model, tmp_path):
    import onnxruntime as ort

    fp32, _, feeds = encoders

    def to_ort(src, target):
        options = ort.SessionOptions()
        options.optimized_model_filepath = str(target)
        options.add_session_config_entry("session.save_model_format", "ORT")
        ort.InferenceSession(src, options, providers=["CPUExecutionProvider"])
        return target

    good = to_ort(fp32, tmp_path / "enc.ort")
    (tmp_path / "enc.required_operators.config").write_text("# generated\nai.onnx;17;Gather,Identity\n")
    lonely = to_ort(fp32, tmp_path / "lonely.ort")
    (tmp_path / "cnn").mkdir()
    cnn = to_ort(digits_model[1], tmp_path / "cnn" / "cnn.ort")
    (tmp_path / "cnn" / "cnn.required_operators.config").write_text("ai.onnx;17;Flatten,Gemm\n")
    ctx = {"model": fp32, "feeds": feeds}
    assert exercises.check("42.5", {"ort": good, "kernels": 2}, **ctx)
    wrong = {
        "answer a dict": exercises.check("42.5", 2, **ctx),
        "not an .ort file": exercises.check("42.5", {"ort": fp32, "kernels": 2}, **ctx),
        "no lonely.required_operators.config": exercises.check("42.5", {"ort": lonely, "kernels": 2}, **ctx),
        "not MiniLM's inputs": exercises.check("42.5", {"ort": cnn, "kernels": 2}, **ctx),
        "not the number of operators": exercises.check("42.5", {"ort": good, "kernels": 1}, **ctx),
        "whole number": exercises.check("42.5", {"ort": good, "kernels": "2"}, **ctx),
    }
    for hint, feedback in wrong.items():
        assert not feedback and hint in feedback.message, (hint, feedback.message)
