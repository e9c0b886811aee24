"""Notebook 33's check can fail: it is fed recorded results a broken run would give, and must refuse each."""

from __future__ import annotations

import copy

import pytest

from tests.notebooks import checks_genai

RECORDS = [{"model": m, "verdict": v} for m, v in checks_genai.GENAI_PARITY.items()]
SPEED = {"transformers eager": {"prefill_tok_s": 900.0, "decode_tok_s": 300.0, "peak_rss_mb": 700.0},
         "GenAI fp32": {"prefill_tok_s": 9000.0, "decode_tok_s": 3000.0, "peak_rss_mb": 150.0},
         "GenAI int4": {"prefill_tok_s": 8000.0, "decode_tok_s": 3100.0, "peak_rss_mb": 140.0}}
GOOD = {
    "quick": False, "loss_first": 7.6, "loss_last": 2.9, "ppl_before": 2100.0, "ppl_after": 180.0,
    "identical": [True] * 8, "next_token_agreement": 0.97, "ppl_change": 0.004,
    "bounds": {"min_agreement": 0.85, "max_ppl_change": 0.03},
    "int4_ops": {"MatMulNBits": 11, "GroupQueryAttention": 2, "Gather": 2}, "block_size": 32,
    "files_mb": {"fp32": 4.3, "int4": 1.6}, "algorithms": ["default", "rtn", "k_quant"],
    "kv_names": {"past": ["past_key_values.0.key", "past_key_values.0.value"],
                 "present": ["present.0.key", "present.0.value"]},
    "kv_same_tokens": True, "kv_ms": {"with cache": 0.2, "without cache": 4.0},
    "chat_prompt": "<|user|>hi\n<|assistant|>", "chat_matches": True, "speed": SPEED,
    "endpoint": {"status": 200, "body": {"text": "x", "prompt_tokens": 3, "generated_tokens": 20, "time_ms": 5.0},
                 "bad": {"no prompt": 400, "max_new_tokens too large": 400, "not JSON": 400}, "stopped": True},
}


def _set(path, value):
    def change(results):
        target = results
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def test_the_check_passes_a_good_run():
    checks_genai._generative(copy.deepcopy(GOOD), copy.deepcopy(RECORDS))


@pytest.mark.parametrize("change", [
    _set(["identical"], [True] * 7 + [False]),  # one prompt's greedy tokens differ from transformers
    _set(["ppl_after"], 400.0),  # full mode did not learn the corpus
    _set(["loss_last"], 8.0),
    _set(["next_token_agreement"], 0.8),
    _set(["ppl_change"], 0.2),
    _set(["bounds", "min_agreement"], 0.5),  # a bound loosened until anything passes
    _set(["int4_ops"], {"MatMul": 11}),  # not int4 at all
    _set(["files_mb", "int4"], 4.0),
    _set(["algorithms"], ["gptq"]),  # an invented list
    _set(["kv_same_tokens"], False),
    _set(["kv_ms", "without cache"], 0.25),
    _set(["chat_matches"], False),
    _set(["speed", "GenAI fp32", "decode_tok_s"], 310.0),
    _set(["endpoint", "bad", "not JSON"], 500),  # the server's own 500: the script did not validate
    _set(["endpoint", "body", "generated_tokens"], 3),
], ids=["tokens", "ppl", "loss", "agreement", "ppl-change", "loose-bound", "no-nbits", "size", "algorithms",
        "kv-tokens", "kv-time", "chat", "speed", "bad-json", "count"])
def test_the_check_fails_a_bad_run(change):
    results = copy.deepcopy(GOOD)
    change(results)
    with pytest.raises(AssertionError):
        checks_genai._generative(results, copy.deepcopy(RECORDS))


def test_the_check_fails_when_a_parity_row_fails_or_is_missing():
    failing = [dict(r, verdict="fail") if "int4" in r["model"] else r for r in RECORDS]
    for records in (failing, RECORDS[:2]):
        with pytest.raises(AssertionError):
            checks_genai._generative(copy.deepcopy(GOOD), records)
