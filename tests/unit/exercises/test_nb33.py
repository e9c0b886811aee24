"""The checks of notebook 33's exercises (exercises/nb33_generative_llm.py) refuse wrong answers and shortcuts, with a hint.

33.1 runs a real ONNX Runtime GenAI model: a random-weight LLaMA of width 64, built once by the model builder.
33.2 reads only graphs and sizes, so its answers are small hand-made folders with MatMulNBits nodes.
"""

from __future__ import annotations

import json

import onnx
import pytest
from onnx import TensorProto, helper

import exercises
from helpers import genai
from workbook.genai_bench import build_genai, random_llama, train_tokenizer

pytest.importorskip("onnxruntime_genai")


@pytest.fixture(scope="module")
def tiny_genai(tmp_path_factory):
    """A width-64, 1-layer random LLaMA with a 300-token byte-level BPE, built to fp32 by the model builder."""
    folder = tmp_path_factory.mktemp("genai")
    text = genai.stdlib_corpus(max_chars=20_000).train
    tokenizer = train_tokenizer([text], vocab_size=300)
    hf = random_llama(64, folder / "hf", tokenizer, layers=1, heads=2)
    return build_genai(hf, folder / "fp32", "fp32", cache=folder / "cache")


def _sample(folder, prompt, n, **search):
    import onnxruntime_genai as og

    model = og.Model(str(folder))
    ids = og.Tokenizer(model).encode(prompt)
    params = og.GeneratorParams(model)
    params.set_search_options(max_length=len(ids) + n, **search)
    g = og.Generator(model, params)
    g.append_tokens(ids)
    while not g.is_done():
        g.generate_next_token()
    return params.get_search_options(), [int(t) for t in g.get_sequence(0)[len(ids):]]


def test_33_1_top_k_one_equals_greedy_and_shortcuts_are_refused(tiny_genai):
    prompts = ["while ", "    except "]
    hot = {"do_sample": True, "top_k": 1, "temperature": 3.0, "random_seed": 5}
    options, _ = _sample(tiny_genai, prompts[0], 12, **hot)
    right = [_sample(tiny_genai, p, 12, **hot)[1] for p in prompts]
    notebook_greedy = [_sample(tiny_genai, p, 15, do_sample=False)[1] for p in ("def ", "import ")]
    context = {"model": tiny_genai, "prompts": prompts, "notebook_greedy": notebook_greedy}
    assert exercises.check("33.1", {"search_options": options, "sequences": right}, **context)
    greedy_options, _ = _sample(tiny_genai, prompts[0], 12, do_sample=False)
    k50, _ = _sample(tiny_genai, prompts[0], 12, do_sample=True, top_k=50, temperature=3.0)
    cold, _ = _sample(tiny_genai, prompts[0], 12, do_sample=True, top_k=1, temperature=1.0)
    wrong = {
        "answer a dict": exercises.check("33.1", right, **context),
        "get_search_options": exercises.check("33.1", {"search_options": {}, "sequences": right}, **context),
        "that is greedy search itself": exercises.check("33.1", {"search_options": greedy_options, "sequences": right},
                                                        **context),
        "top_k is 50": exercises.check("33.1", {"search_options": k50, "sequences": right}, **context),
        "hot temperature": exercises.check("33.1", {"search_options": cold, "sequences": right}, **context),
        "one list of new tokens per prompt": exercises.check("33.1", {"search_options": options,
                                                                      "sequences": right[:1]}, **context),
        "the notebook's own greedy tokens": exercises.check("33.1", {"search_options": options,
                                                                     "sequences": notebook_greedy}, **context),
        "at least 10 new tokens": exercises.check("33.1", {"search_options": options,
                                                           "sequences": [s[:5] for s in right]}, **context),
        "differ from greedy": exercises.check("33.1", {"search_options": options,
                                                       "sequences": [right[0], right[1][:-1] + [(right[1][-1] + 1) % 300]]}, **context),
    }
    for hint, feedback in wrong.items():
        assert not feedback and hint in feedback.message, (hint, feedback.message)


def _int4_folder(path, block_size, bits=4, vocab=300, hidden=64, extra_bytes=0):
    """A folder shaped like the builder's int4 output: a graph with MatMulNBits nodes and a genai_config.json."""
    path.mkdir(parents=True, exist_ok=True)
    node = helper.make_node("MatMulNBits", ["x", "w", "s"], ["y"], domain="com.microsoft", K=hidden, N=hidden,
                            bits=bits, block_size=block_size)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, hidden])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, hidden])])
    onnx.save(helper.make_model(graph), str(path / "model.onnx"))
    (path / "model.onnx.data").write_bytes(b"\0" * (1000 + extra_bytes))
    (path / "genai_config.json").write_text(json.dumps({"model": {"vocab_size": vocab, "decoder": {"hidden_size": hidden}}}))
    return path


def test_33_2_another_block_size_and_shortcuts_are_refused(tmp_path):
    notebook_int4 = _int4_folder(tmp_path / "int4", 32)
    notebook_fp32 = _int4_folder(tmp_path / "fp32", 32)  # only its genai_config.json is read
    block64 = _int4_folder(tmp_path / "int4_b64", 64, extra_bytes=500)
    context = {"notebook_int4": notebook_int4, "notebook_fp32": notebook_fp32}
    right = {"folder": block64, "block_size": 64, "mb": genai.model_files_mb(block64)}
    assert exercises.check("33.2", right, **context)
    int8 = _int4_folder(tmp_path / "int8", 64, bits=8)
    other_model = _int4_folder(tmp_path / "other", 64, vocab=999)
    same_block = _int4_folder(tmp_path / "copy_b32", 32)
    wrong = {
        "answer a dict": exercises.check("33.2", str(block64), **context),
        "holds no genai_config.json": exercises.check("33.2", dict(right, folder=tmp_path / "nowhere"), **context),
        "the notebook's own int4 folder": exercises.check(
            "33.2", {"folder": notebook_int4, "block_size": 32, "mb": genai.model_files_mb(notebook_int4)}, **context),
        "the notebook's: pass --extra_options": exercises.check(
            "33.2", {"folder": same_block, "block_size": 32, "mb": genai.model_files_mb(same_block)}, **context),
        "build with -p int4 (not int8)": exercises.check(
            "33.2", {"folder": int8, "block_size": 64, "mb": genai.model_files_mb(int8)}, **context),
        "not 128": exercises.check("33.2", dict(right, block_size=128), **context),
        "not the notebook's model": exercises.check(
            "33.2", {"folder": other_model, "block_size": 64, "mb": genai.model_files_mb(other_model)}, **context),
        "not the size of the model's files": exercises.check("33.2", dict(right, mb=right["mb"] * 2), **context),
    }
    for hint, feedback in wrong.items():
        assert not feedback and hint in feedback.message, (hint, feedback.message)

