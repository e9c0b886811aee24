"""Checks for the generative-model notebook (33): what it recorded must prove its claims."""

from __future__ import annotations

from tests.notebooks.expectations import expect, verdicts

#: The parity rows notebook 33 records, with the verdict each must have.
GENAI_PARITY = {
    "toy LLaMA fp32, greedy tokens (GenAI vs transformers)": "pass",
    "toy LLaMA fp32, logits of a held-out block (model.onnx vs transformers)": "pass",
    "toy LLaMA int4 vs fp32, next-token agreement": "pass",
}


@expect("33_generative_llm")
def _generative(results, records):
    assert verdicts(records) == GENAI_PARITY, verdicts(records)
    # training learned something, and in full mode the corpus itself
    assert results["loss_last"] < results["loss_first"] and results["ppl_after"] < results["ppl_before"] / 2, results
    if not results["quick"]:
        assert results["ppl_after"] < 300, results["ppl_after"]
    # fp32: greedy identical on every prompt; int4 within the bounds the notebook states
    assert len(results["identical"]) >= 5 and all(results["identical"]), results["identical"]
    bounds = results["bounds"]
    assert results["next_token_agreement"] >= bounds["min_agreement"] >= (0.75 if results["quick"] else 0.85), results["next_token_agreement"]
    assert results["ppl_change"] <= bounds["max_ppl_change"] <= 0.05, results["ppl_change"]
    # int4 is MatMulNBits with a block size, and the file is smaller
    assert results["int4_ops"].get("MatMulNBits", 0) >= 5 and "MatMul" not in results["int4_ops"], results["int4_ops"]
    assert results["block_size"] in (16, 32, 64, 128, 256)
    assert results["files_mb"]["int4"] < 0.5 * results["files_mb"]["fp32"], results["files_mb"]
    assert {"rtn", "k_quant"} <= set(results["algorithms"]), results["algorithms"]  # read from the builder, not invented
    # the KV cache by hand: the builder's names, the same tokens, and cheaper per token
    assert results["kv_names"]["past"] and all(n.startswith("past_key_values.") for n in results["kv_names"]["past"])
    assert len(results["kv_names"]["present"]) == len(results["kv_names"]["past"])
    assert results["kv_same_tokens"] is True
    assert results["kv_ms"]["without cache"] > 1.5 * results["kv_ms"]["with cache"], results["kv_ms"]
    assert results["chat_matches"] is True and "<|assistant|>" in results["chat_prompt"]
    speed = results["speed"]
    assert set(speed) == {"transformers eager", "GenAI fp32", "GenAI int4"}
    assert speed["GenAI fp32"]["decode_tok_s"] > 1.5 * speed["transformers eager"]["decode_tok_s"], speed
    assert all(v["prefill_tok_s"] > 0 and v["peak_rss_mb"] > 0 for v in speed.values()), speed
    endpoint = results["endpoint"]
    assert endpoint["status"] == 200 and endpoint["body"]["generated_tokens"] == 20, endpoint
    assert {"text", "prompt_tokens", "generated_tokens", "time_ms"} <= set(endpoint["body"]), endpoint["body"]
    assert endpoint["bad"] and all(400 <= s < 500 for s in endpoint["bad"].values()), endpoint["bad"]
    assert endpoint["bad"]["max_new_tokens too large"] == 400 and endpoint["bad"]["not JSON"] == 400
