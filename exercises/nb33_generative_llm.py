"""Checks of the generative-model exercises (notebooks/33_generative_llm.ipynb).

Each check recomputes what it compares with (greedy tokens with ONNX Runtime GenAI, the block size written in
the answer's own graph, its files' size on disk), so any correct way to the answer passes, and the notebook's
own results (its greedy tokens, its int4 folder) are refused by name. Solutions in
exercises/solutions/33_generative_llm.py. onnxruntime_genai and onnx are imported inside the checks: this
module loads in every kernel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from exercises import exercise


def _greedy(folder: Any, prompt: str, new_tokens: int) -> list[int]:
    import onnxruntime_genai as og

    model = og.Model(str(folder))
    ids = og.Tokenizer(model).encode(prompt)
    params = og.GeneratorParams(model)
    params.set_search_options(do_sample=False, max_length=len(ids) + new_tokens)
    generator = og.Generator(model, params)
    generator.append_tokens(ids)
    while not generator.is_done():
        generator.generate_next_token()
    return [int(t) for t in generator.get_sequence(0)[len(ids):]]


@exercise("33.1", "sample with top_k=1 (and a hot temperature) on the given prompts; show it equals greedy")
def _check_top_k_one(answer: Any, *, model: Any, prompts: Sequence[str],
                     notebook_greedy: Sequence[Sequence[int]] = ()) -> str | None:
    if not isinstance(answer, Mapping) or not {"search_options", "sequences"} <= set(answer):
        return ("answer a dict {'search_options': params.get_search_options(), 'sequences': [the new tokens for each "
                "prompt given to the check, in order]}.")
    options = answer["search_options"]
    if not isinstance(options, Mapping) or "do_sample" not in options:
        return "'search_options' should be what GeneratorParams.get_search_options() returns after set_search_options."
    if not options["do_sample"]:
        return "do_sample is off: that is greedy search itself. Turn sampling on (do_sample=True) and set top_k=1."
    if int(options.get("top_k", 0)) != 1:
        return f"top_k is {options.get('top_k')}: keep only the single most probable token (top_k=1)."
    if float(options.get("temperature", 1.0)) <= 1.0:
        return "use a hot temperature (above 1): the point is that top_k=1 leaves nothing for the temperature to flatten."
    sequences = answer["sequences"]
    if not isinstance(sequences, Sequence) or len(sequences) != len(prompts):
        return f"'sequences' should hold one list of new tokens per prompt given to the check ({len(prompts)})."
    ours = [[int(t) for t in s] for s in sequences]
    mine = [[int(t) for t in s] for s in notebook_greedy]
    if any(s in mine for s in ours):
        return "those are the notebook's own greedy tokens for its prompts: generate for the prompts given to the check."
    for prompt, seq in zip(prompts, ours):
        expected = _greedy(model, prompt, max(len(seq), 10))
        if len(seq) < min(10, len(expected)):  # fewer only when greedy itself ends (end-of-text) sooner
            return f"generate at least 10 new tokens for {prompt!r} (got {len(seq)})."
        if seq != expected[: len(seq)]:
            return (f"for {prompt!r} your tokens differ from greedy decoding of the fp32 model: keep only the new tokens "
                    "(after the prompt), and sample from the same model.")
    return None


@exercise("33.2", "build int4 with another block size; answer its folder, block size and size in MB")
def _check_block_size(answer: Any, *, notebook_int4: Any, notebook_fp32: Any) -> str | None:
    import json

    import onnx

    from helpers.genai import model_files_mb

    if not isinstance(answer, Mapping) or not {"folder", "block_size", "mb"} <= set(answer):
        return "answer a dict {'folder': the builder's output folder, 'block_size': the block size, 'mb': its size}."
    folder = Path(answer["folder"])
    if not (folder / "genai_config.json").is_file() or not (folder / "model.onnx").is_file():
        return f"{folder} holds no genai_config.json and model.onnx: answer the folder you passed to the builder's -o."
    if folder.resolve() == Path(notebook_int4).resolve():
        return "that is the notebook's own int4 folder: build a new one (another -o) with --extra_options block_size=..."
    graph = onnx.load(str(folder / "model.onnx"), load_external_data=False).graph
    blocks = {a.i for n in graph.node if n.op_type == "MatMulNBits" for a in n.attribute if a.name == "block_size"}
    bits = {a.i for n in graph.node if n.op_type == "MatMulNBits" for a in n.attribute if a.name == "bits"}
    if not blocks:
        return "this model has no MatMulNBits nodes: build it with -p int4."
    if bits != {4}:
        return f"its MatMulNBits nodes use {sorted(bits)} bits: build with -p int4 (not int8)."
    reference = {a.i for n in onnx.load(str(Path(notebook_int4) / "model.onnx"), load_external_data=False).graph.node
                 if n.op_type == "MatMulNBits" for a in n.attribute if a.name == "block_size"}
    if blocks == reference:
        return (f"its block size is {sorted(blocks)}, the notebook's: pass --extra_options block_size=16, 64, 128 or "
                "256 to the builder.")
    if blocks != {answer["block_size"]}:
        return f"the graph's MatMulNBits nodes say block_size {sorted(blocks)}, not {answer['block_size']}."
    config = json.loads((folder / "genai_config.json").read_text())["model"]
    notebook = json.loads((Path(notebook_fp32) / "genai_config.json").read_text())["model"]
    if (config["vocab_size"], config["decoder"]["hidden_size"]) != (notebook["vocab_size"], notebook["decoder"]["hidden_size"]):
        return "this is not the notebook's model: build from the Hugging Face folder the notebook saved."
    size = model_files_mb(folder)
    if abs(float(answer["mb"]) - size) > 0.02 * size:
        return ("'mb' is not the size of the model's files: add up model.onnx and model.onnx.data in MB "
                "(helpers.genai.model_files_mb).")
    return None
