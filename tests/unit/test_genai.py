"""helpers.genai: the corpus split and the builder's options, and the generation scoring script's
request checks (deploy/generate_score.py), without building a model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from helpers import genai

ROOT = Path(__file__).resolve().parents[2]


def test_the_corpus_is_deterministic_and_held_out_files_are_never_trained_on():
    a, b = genai.stdlib_corpus(max_chars=50_000), genai.stdlib_corpus(max_chars=50_000)
    assert a.train == b.train and a.heldout_files == b.heldout_files
    assert a.train_files and a.heldout_files and not set(a.train_files) & set(a.heldout_files)
    assert len(a.train) <= 50_000 and genai.EOS in a.train


@pytest.mark.parametrize("kwargs, match", [({"max_chars": 10}, "too small"), ({"heldout_every": 1}, "at least 2")])
def test_the_corpus_refuses_settings_that_make_no_corpus(kwargs, match):
    with pytest.raises(ValueError, match=match):
        genai.stdlib_corpus(**kwargs)


def test_a_folder_without_sources_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="only .pyc files"):
        genai.stdlib_corpus(root=tmp_path)


def test_the_builder_options_are_read_from_the_builder_itself():
    pytest.importorskip("onnxruntime_genai")
    options = genai.builder_options(["block_size", "algo_config"])
    assert set(options) == {"block_size", "algo_config"}
    assert "16/32/64/128/256" in options["block_size"] and "'k_quant'" in options["algo_config"]


@pytest.fixture(scope="module")
def score():
    pytest.importorskip("azureml_inference_server_http", reason="the inference server lives in the main kernel")
    spec = importlib.util.spec_from_file_location("generate_score", ROOT / "deploy" / "generate_score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_good_request_is_read(score):
    assert score.parse_request({"prompt": "def f", "max_new_tokens": 5}) == ("def f", 5)
    assert score.parse_request({"prompt": "def f"}) == ("def f", score.DEFAULT_NEW_TOKENS)


@pytest.mark.parametrize("document, status, match", [
    ([1, 2], 400, "JSON object"),
    ({"prompt": "x", "temperature": 2}, 400, "Unknown key"),
    ({"max_new_tokens": 3}, 400, "non-empty string"),
    ({"prompt": "   "}, 400, "non-empty string"),
    ({"prompt": 7}, 400, "non-empty string"),
    ({"prompt": "x" * 5000}, 413, "MAX_PROMPT_CHARS"),
    ({"prompt": "x", "max_new_tokens": 0}, 400, "whole number from 1"),
    ({"prompt": "x", "max_new_tokens": 10**6}, 400, "whole number from 1"),
    ({"prompt": "x", "max_new_tokens": "5"}, 400, "got \"5\""),
    ({"prompt": "x", "max_new_tokens": True}, 400, "whole number"),
    ({"prompt": "x", "max_new_tokens": 2.5}, 400, "whole number"),
])
def test_a_bad_request_is_refused_with_its_status_and_why(score, document, status, match):
    with pytest.raises(score.RequestError, match=match) as err:
        score.parse_request(document)
    assert err.value.status == status


def test_the_model_folder_is_found_once_or_named(score, tmp_path):
    with pytest.raises(FileNotFoundError, match="AZUREML_MODEL_DIR"):
        score.find_model_folder(None)
    with pytest.raises(FileNotFoundError, match="found 0"):
        score.find_model_folder(tmp_path)
    (tmp_path / "m" / "1").mkdir(parents=True)
    (tmp_path / "m" / "1" / "genai_config.json").write_text("{}")
    assert score.find_model_folder(tmp_path) == tmp_path / "m" / "1"
