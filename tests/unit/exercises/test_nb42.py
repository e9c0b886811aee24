"""The checks of notebooks/42_deploy_browser_node.ipynb's exercises refuse the shortcuts."""

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


def _refused(exercise_id, answer, hint, **context):
    feedback = exercises.check(exercise_id, answer, **context)
    assert not feedback and hint in feedback.message, feedback.message


class _OwnServer:
    """A server of the reader's own: Python's http.server, with or without the two headers, on 127.0.0.1."""

    def __init__(self, folder, headers: bool = True, only_on_the_page: bool = False):
        import functools
        import http.server
        import threading

        class Handler(http.server.SimpleHTTPRequestHandler):
            def end_headers(self):
                if headers and (not only_on_the_page or self.path in ("/", "/index.html")):
                    self.send_header("Cross-Origin-Opener-Policy", "same-origin")
                    self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
                super().end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_42_3_accepts_a_server_of_ones_own_with_the_two_headers():
    with _OwnServer(web.web_dir()) as own:
        assert exercises.check("42.3", own.url, notebook_urls=[])


def test_42_3_refuses_the_notebooks_isolated_server():
    with web.serve_web() as isolated:
        _refused("42.3", isolated.url, "a server the workbook started", notebook_urls=[isolated.url])


def test_42_3_refuses_a_second_server_started_with_the_workbooks_helper():
    with web.serve_web() as again:  # not passed as the notebook's: still refused
        _refused("42.3", again.url, "a server the workbook started", notebook_urls=[])


def test_42_3_refuses_a_server_without_the_headers_or_with_them_on_the_page_only():
    with _OwnServer(web.web_dir(), headers=False) as plain, _OwnServer(web.web_dir(), only_on_the_page=True) as page_only:
        _refused("42.3", plain.url, "Cross-Origin-Opener-Policy", notebook_urls=[])
        _refused("42.3", page_only.url, "reply to app.js lacks", notebook_urls=[])


def test_42_3_refuses_another_page_a_remote_url_and_a_stopped_server(tmp_path):
    (tmp_path / "index.html").write_text("<p>another page</p>")
    with _OwnServer(tmp_path) as other:
        _refused("42.3", other.url, "does not serve the workbook's page", notebook_urls=[])
        url = other.url
    _refused("42.3", url, "could not open", notebook_urls=[])  # stopped: nothing listens
    _refused("42.3", "http://example.com/", "127.0.0.1 only", notebook_urls=[])


@pytest.fixture(scope="module")
def cnn_like(tmp_path_factory):
    """A digits-shaped model with a 32 KB, a 4 KB and a 40-byte initializer (sizes either side of 1 and 16 KB)."""
    rng = np.random.default_rng(0)
    w1 = rng.normal(size=(64, 128)).astype(np.float32)  # 32 KB
    w2 = rng.normal(size=(128, 8)).astype(np.float32)  # 4 KB
    b = rng.normal(size=(10,)).astype(np.float32)  # 40 bytes
    w3 = rng.normal(size=(8, 10)).astype(np.float32)  # 320 bytes
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"]), helper.make_node("MatMul", ["flat", "w1"], ["h1"]),
         helper.make_node("MatMul", ["h1", "w2"], ["h2"]), helper.make_node("Gemm", ["h2", "w3", "b"], ["logits"])],
        "cnn", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(w3, "w3"),
         numpy_helper.from_array(b, "b")])
    folder = tmp_path_factory.mktemp("cnn")
    return graph, _save(graph, folder / "cnn.onnx"), np.random.default_rng(1).random((4, 1, 8, 8), dtype=np.float32)


def _external(graph, folder, name, threshold):
    return _save(graph, folder / name, save_as_external_data=True, location=name + ".data", size_threshold=threshold)


def test_42_4_accepts_only_the_big_tensors_moved_out(cnn_like, tmp_path):
    graph, model, X = cnn_like
    assert exercises.check("42.4", _external(graph, tmp_path, "big.onnx", 16384), reference=model, X=X, notebook_file=[])


def test_42_4_refuses_the_notebooks_file_and_a_copy_of_it(cnn_like, tmp_path):
    graph, model, X = cnn_like
    notebook_file = _external(graph, tmp_path, "nb.onnx", 16384)
    _refused("42.4", notebook_file, "notebook's own", reference=model, X=X, notebook_file=notebook_file)
    (tmp_path / "copy.onnx").write_bytes((tmp_path / "nb.onnx").read_bytes())
    _refused("42.4", tmp_path / "copy.onnx", "notebook's own", reference=model, X=X, notebook_file=notebook_file)


def test_42_4_refuses_what_the_notebook_did_the_default_1_kb_threshold(cnn_like, tmp_path):
    graph, model, X = cnn_like
    _refused("42.4", _external(graph, tmp_path, "default.onnx", 1024), "small ones too", reference=model, X=X,
             notebook_file=[])


def test_42_4_refuses_every_tensor_moved_and_none_moved(cnn_like, tmp_path):
    graph, model, X = cnn_like
    _refused("42.4", _external(graph, tmp_path, "all.onnx", 0), "small ones too", reference=model, X=X, notebook_file=[])
    _refused("42.4", model, "every weight is inside", reference=model, X=X, notebook_file=[])


def test_42_4_refuses_a_missing_data_file_another_model_and_no_file(cnn_like, tmp_path):
    graph, model, X = cnn_like
    moved = _external(graph, tmp_path, "moved.onnx", 16384)
    (tmp_path / "moved.onnx.data").unlink()
    _refused("42.4", moved, "not beside the model", reference=model, X=X, notebook_file=[])
    other = onnx.load(model)
    other.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.ones((64, 128), np.float32), "w1"))
    onnx.save(other, str(tmp_path / "other.onnx"), save_as_external_data=True, location="other.onnx.data",
              size_threshold=16384)
    _refused("42.4", tmp_path / "other.onnx", "does not compute", reference=model, X=X, notebook_file=[])
    _refused("42.4", tmp_path / "none.onnx", "answer the path", reference=model, X=X, notebook_file=[])


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
