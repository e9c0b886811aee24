"""The checks of notebooks/32_quantization.ipynb's exercises refuse the shortcuts."""

from __future__ import annotations

import numpy as np
import pytest

import exercises
from tests.unit.exercises.tiny_models import ListReader, tiny_digits, tiny_encoder, token_feeds


def _refused(exercise_id, answer, hint, **context):
    feedback = exercises.check(exercise_id, answer, **context)
    assert not feedback and hint in feedback.message, feedback.message


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_digits(tmp_path_factory.mktemp("tiny"))[0]


@pytest.fixture(scope="module")
def cnn_int8(tiny, tmp_path_factory):
    """The tiny digits model in static S8S8 QDQ (two calibrations), and the images."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    folder = tmp_path_factory.mktemp("quantized")
    images = np.random.default_rng(1).random((32, 1, 8, 8), dtype=np.float32)
    paths = {name: folder / f"{name}.onnx" for name in ("qdq", "qdq_small")}
    for name, scale in (("qdq", 1.0), ("qdq_small", 0.5)):
        quantize_static(str(tiny), str(paths[name]), ListReader([{"image": images * scale}]), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    return paths, images


def _accuracy(path, images, y):
    from exercises import onnx_session

    return float((onnx_session(path).run(None, {"image": images})[0].argmax(1) == y).mean())


def test_32_1_accepts_a_recalibrated_model_and_its_accuracy(cnn_int8):
    paths, images = cnn_int8
    y = np.arange(len(images)) % 10
    answer = {"model": paths["qdq_small"], "accuracy": _accuracy(paths["qdq_small"], images, y)}
    assert exercises.check("32.1", answer, notebook_model=paths["qdq"], X_test=images, y_test=y)


def test_32_1_refuses_a_guessed_accuracy(cnn_int8):
    paths, images = cnn_int8
    y = np.arange(len(images)) % 10
    answer = {"model": paths["qdq_small"], "accuracy": _accuracy(paths["qdq_small"], images, y) + 0.5}
    _refused("32.1", answer, "not this model's", notebook_model=paths["qdq"], X_test=images, y_test=y)


def test_32_1_refuses_the_notebooks_own_model_and_the_float_model(tiny, cnn_int8):
    paths, images = cnn_int8
    y = np.arange(len(images)) % 10
    for model, hint in ((paths["qdq"], "notebook's own"), (tiny, "no QuantizeLinear")):
        _refused("32.1", {"model": model, "accuracy": _accuracy(model, images, y)}, hint,
                 notebook_model=paths["qdq"], X_test=images, y_test=y)
    _refused("32.1", 0.9, "answer a dict", notebook_model=paths["qdq"], X_test=images, y_test=y)


def test_32_1_refuses_another_quantized_model(tmp_path, cnn_int8):
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    paths, images = cnn_int8
    fp32 = tiny_digits(tmp_path)[1]
    fp32.graph.initializer[0].CopyFrom(onnx.numpy_helper.from_array(
        np.random.default_rng(7).normal(size=(64, 10)).astype(np.float32), "w"))
    onnx.save(fp32, tmp_path / "other.onnx")
    quantize_static(str(tmp_path / "other.onnx"), str(tmp_path / "other_qdq.onnx"), ListReader([{"image": images}]),
                    quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    y = np.arange(len(images)) % 10
    answer = {"model": tmp_path / "other_qdq.onnx", "accuracy": _accuracy(tmp_path / "other_qdq.onnx", images, y)}
    _refused("32.1", answer, "quantize the digits CNN", notebook_model=paths["qdq"], X_test=images, y_test=y)


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    """A MiniLM-shaped encoder in fp32, in dynamic int8, and in static QDQ: S8S8, U8S8, U8U8, and QOperator."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    folder = tmp_path_factory.mktemp("encoders")
    fp32 = tiny_encoder(folder)
    calibration = [{k: v[i:i + 1] for k, v in token_feeds(8, 32, seed=1).items()} for i in range(8)]
    paths = {"fp32": fp32, "dynamic": folder / "dynamic.onnx"}
    quantize_dynamic(str(fp32), str(paths["dynamic"]), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
    for name, fmt, act, weight in (("s8s8", QuantFormat.QDQ, QuantType.QInt8, QuantType.QInt8),
                                   ("u8s8", QuantFormat.QDQ, QuantType.QUInt8, QuantType.QInt8),
                                   ("u8u8", QuantFormat.QDQ, QuantType.QUInt8, QuantType.QUInt8),
                                   ("qoperator", QuantFormat.QOperator, QuantType.QInt8, QuantType.QInt8)):
        paths[name] = folder / f"{name}.onnx"
        quantize_static(str(fp32), str(paths[name]), ListReader(calibration), quant_format=fmt, activation_type=act,
                        weight_type=weight, op_types_to_quantize=["MatMul"])
    return paths


def _short_times(encoders, feeds, fp32_call=None, int8_call=None):
    from exercises import onnx_session
    from helpers import benchmark

    s32, s8 = onnx_session(encoders["fp32"]), onnx_session(encoders["dynamic"])
    return benchmark.time_interleaved({"fp32": fp32_call or (lambda: s32.run(None, feeds)),
                                       "int8": int8_call or (lambda: s8.run(None, feeds))}, warmup=1, repeats=5)


def test_32_2_accepts_timings_of_the_two_models_on_32_tokens(encoders):
    feeds = token_feeds(1, 32)
    answer = {"feeds": feeds, "times": _short_times(encoders, feeds)}
    assert exercises.check("32.2", answer, fp32=encoders["fp32"], int8=encoders["dynamic"])


def test_32_2_refuses_timings_of_no_ops(encoders):
    from helpers import benchmark

    times = benchmark.time_interleaved({"fp32": lambda: None, "int8": lambda: None}, repeats=5)
    _refused("32.2", {"feeds": token_feeds(1, 32), "times": times}, "time the real session.run call",
             fp32=encoders["fp32"], int8=encoders["dynamic"])


def test_32_2_refuses_the_timing_of_other_feeds_than_the_answered_ones(encoders):
    long = token_feeds(4096, 32)  # 4,096 sentences timed, one answered: far beyond the check's 100x slack, even under load
    times = _short_times(encoders, long)
    _refused("32.2", {"feeds": token_feeds(1, 32), "times": times}, "far slower",
             fp32=encoders["fp32"], int8=encoders["dynamic"])


def test_32_2_refuses_feeds_that_are_not_32_tokens_or_do_not_run(encoders):
    feeds = token_feeds(1, 32)
    times = _short_times(encoders, feeds)
    context = {"fp32": encoders["fp32"], "int8": encoders["dynamic"]}
    _refused("32.2", {"feeds": token_feeds(1, 128), "times": times}, "32 tokens", **context)
    _refused("32.2", {"feeds": {"input_ids": np.zeros((1, 32), np.float32)}, "times": times}, "do not run through", **context)


def test_32_2_refuses_a_single_model_made_up_stats_and_a_bare_dict(encoders):
    feeds = token_feeds(1, 32)
    times = _short_times(encoders, feeds)
    context = {"fp32": encoders["fp32"], "int8": encoders["dynamic"]}
    for answer, hint in (({"feeds": feeds, "times": {"fp32": times["fp32"]}}, "an int8 model"),
                         ({"feeds": feeds, "times": {"fp32": 1.0, "int8": 0.5}}, "Stats"), (times, "a dict")):
        _refused("32.2", answer, hint, **context)


def _embeddings(path, feeds):
    from exercises import onnx_session
    from helpers import minilm

    return minilm.mean_pool(onnx_session(path).run(None, feeds)[0], feeds["attention_mask"])


def test_32_3_accepts_an_s8s8_qdq_model_close_to_fp32(encoders):
    feeds = token_feeds(16, 24, seed=3)
    assert exercises.check("32.3", encoders["s8s8"], feeds=feeds, fp32_embeddings=_embeddings(encoders["fp32"], feeds))


@pytest.mark.parametrize(("variant", "hint"), [("u8s8", "uint8 (U8)"), ("u8u8", "uint8 (U8)"),
                                                ("qoperator", "QOperator model"), ("dynamic", "dynamic int8"),
                                                ("fp32", "no QuantizeLinear")])
def test_32_3_refuses_the_wrong_format_or_variant(encoders, variant, hint):
    feeds = token_feeds(16, 24, seed=3)
    _refused("32.3", encoders[variant], hint, feeds=feeds, fp32_embeddings=_embeddings(encoders["fp32"], feeds))


def test_32_3_refuses_a_model_below_the_notebooks_cosine_bar(encoders):
    feeds = token_feeds(16, 24, seed=3)
    far = _embeddings(encoders["fp32"], feeds) + np.random.default_rng(5).normal(scale=0.05, size=(16, 256))
    _refused("32.3", encoders["s8s8"], "cosine mean", feeds=feeds, fp32_embeddings=far)
