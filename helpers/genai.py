"""A small decoder LLM, offline (notebooks/33_generative_llm.ipynb): a corpus, a training loop, perplexity, the
model builder's options, prefill and decode speed and memory. The notebook writes out the calls it teaches.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: The end-of-text token: it separates the corpus's files and ends a generation.
EOS = "<|endoftext|>"


@dataclass
class Corpus:
    """Training text and held-out text (files joined with :data:`EOS`), never mixed, and the files used."""

    train: str
    heldout: str
    train_files: list[str]
    heldout_files: list[str]
    root: Path

    def summary(self) -> dict[str, Any]:
        """Files and characters on each side, for a table."""
        return {"root": str(self.root), "train files": len(self.train_files), "train chars": len(self.train),
                "held-out files": len(self.heldout_files), "held-out chars": len(self.heldout)}


def stdlib_corpus(max_chars: int = 1_500_000, heldout_every: int = 10,
                  root: str | os.PathLike[str] | None = None) -> Corpus:
    """The standard library's top-level ``.py`` files (sorted), whole, until ``max_chars`` for training and
    ``max_chars // 8`` held out; every ``heldout_every``-th file is held out."""
    if max_chars < 1_000:
        raise ValueError(f"max_chars={max_chars} is too small for a corpus: give at least 1,000 characters.")
    if heldout_every < 2:
        raise ValueError(f"heldout_every={heldout_every} must be at least 2 (1 would hold out every file).")
    root = Path(root or sysconfig.get_paths()["stdlib"])
    files = sorted(root.glob("*.py"))
    if len(files) < heldout_every:
        raise FileNotFoundError(f"Found {len(files)} .py files in {root}; the corpus needs the standard library's "
                                "sources (a Python built without them, e.g. a slim image, has only .pyc files).")
    limits = {"train": max_chars, "heldout": max(max_chars // 8, 1_000)}
    texts: dict[str, list[str]] = {"train": [], "heldout": []}
    names: dict[str, list[str]] = {"train": [], "heldout": []}
    for i, path in enumerate(files):
        side = "heldout" if i % heldout_every == 0 else "train"
        if sum(map(len, texts[side])) < limits[side]:
            with contextlib.suppress(UnicodeDecodeError):  # a few files are in other encodings
                texts[side].append(path.read_text(encoding="utf-8"))
                names[side].append(path.name)
    train, heldout = (f"\n{EOS}\n".join(texts[side])[:limits[side]] for side in ("train", "heldout"))
    return Corpus(train, heldout, names["train"], names["heldout"], root)


def train_causal_lm(model: Any, ids: Sequence[int] | np.ndarray, *, steps: int, batch_size: int = 16,
                    seq_len: int = 128, lr: float = 3e-3) -> list[float]:
    """Train a causal LM on random windows of ``ids`` (seed 0); returns the loss of every step.

    AdamW, linear warm-up over 5% of the steps, cosine decay to a tenth of ``lr``, gradients clipped at norm 1.
    """
    import torch
    from tqdm.auto import tqdm

    data = torch.as_tensor(np.asarray(ids, dtype=np.int64))
    if data.numel() <= seq_len + 1:
        raise ValueError(f"{data.numel()} tokens cannot fill one window of {seq_len + 1}: give more text or a "
                         "shorter seq_len.")
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}.")
    warmup = max(1, steps // 20)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.01)

    def schedule(step: int) -> float:
        cosine = 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps))
        return min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * cosine)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    generator = torch.Generator().manual_seed(0)
    offsets = torch.arange(seq_len)
    losses: list[float] = []
    model.train()
    bar = tqdm(range(steps), desc="training", mininterval=1.0)
    for _ in bar:
        starts = torch.randint(0, data.numel() - seq_len, (batch_size, 1), generator=generator)
        batch = data[starts + offsets]
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        losses.append(float(loss))
        bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
    model.eval()
    return losses


def _blocks(ids: Sequence[int] | np.ndarray, seq_len: int, max_blocks: int) -> np.ndarray:
    ids = np.asarray(ids, dtype=np.int64)
    n = min(len(ids) // seq_len, max_blocks)
    if n < 1:
        raise ValueError(f"{len(ids)} held-out tokens do not fill one block of {seq_len}: hold out more text.")
    return ids[: n * seq_len].reshape(n, seq_len)


def perplexity(model: Any, ids: Sequence[int] | np.ndarray, seq_len: int = 128, max_blocks: int = 32) -> float:
    """exp(mean next-token cross-entropy) of a transformers causal LM over non-overlapping blocks of ``ids``."""
    import torch

    blocks = torch.as_tensor(_blocks(ids, seq_len, max_blocks))
    with torch.no_grad():
        return float(math.exp(model(input_ids=blocks, labels=blocks).loss))


def perplexity_onnx(session: Any, ids: Sequence[int] | np.ndarray, seq_len: int = 128, max_blocks: int = 32, *,
                    past: Mapping[str, np.ndarray]) -> float:
    """The same perplexity with a builder's ``model.onnx`` in an ``InferenceSession``; past: the empty KV cache."""
    from scipy.special import log_softmax

    nll = []
    for block in _blocks(ids, seq_len, max_blocks):  # one block at a time: its logits are seq_len x vocabulary
        feeds = {"input_ids": block[None, :], "attention_mask": np.ones((1, seq_len), np.int64), **past}
        logp = log_softmax(session.run(["logits"], feeds)[0][0].astype(np.float64), axis=-1)
        nll.append(-logp[np.arange(seq_len - 1), block[1:]])
    return float(np.exp(np.mean(nll)))


def builder_options(names: Sequence[str] | None = None) -> dict[str, str]:
    """The model builder's ``--extra_options`` as ``{name: help text}`` (only ``names``), from its argument parser.

    The builder's ``--help`` fails in onnxruntime-genai 0.18.0 (a bare ``%`` in a help text): this reads the raw help.
    """
    import argparse
    import contextlib
    import io
    from unittest import mock

    from onnxruntime_genai.models import builder

    # get_args() builds the parser and returns parser.parse_args(): made to return the parser itself
    with mock.patch.object(argparse.ArgumentParser, "parse_args", lambda parser, *a, **k: parser), \
            contextlib.redirect_stdout(io.StringIO()):
        parser = builder.get_args()
    action = next(a for a in parser._actions if a.dest == "extra_options")
    found = re.findall(r"^ {4}(\w+) = (.*(?:\n {8}.*)*)", action.help, re.MULTILINE)
    return {k: " ".join(v.split()) for k, v in found if names is None or k in names}


def model_files_mb(folder: str | os.PathLike[str]) -> float:
    """Megabytes of the ONNX files of a build (``*.onnx`` and ``*.onnx.data``), tokenizer and config left out."""
    return sum(p.stat().st_size for p in Path(folder).iterdir() if p.name.endswith((".onnx", ".onnx.data"))) / 1e6


# A run returns (prefill seconds, decode seconds, new tokens): the two phases of one generation are timed inside it,
# which helpers.benchmark's loop (whole calls) cannot split.
Run = Callable[[list[int], int], tuple[float, float, list[int]]]


def _genai_runner(folder: str, threads: int) -> Run:
    import onnxruntime_genai as og

    config = og.Config(folder)
    config.overlay(json.dumps({"model": {"decoder": {"session_options": {
        "intra_op_num_threads": threads, "inter_op_num_threads": 1}}}}))
    model = og.Model(config)

    def run(prompt: list[int], new_tokens: int) -> tuple[float, float, list[int]]:
        params = og.GeneratorParams(model)
        params.set_search_options(do_sample=False, max_length=len(prompt) + new_tokens,
                                  min_length=len(prompt) + new_tokens)
        generator = og.Generator(model, params)
        t0 = time.perf_counter()
        generator.append_tokens(prompt)
        t1 = time.perf_counter()
        while not generator.is_done():
            generator.generate_next_token()
        return t1 - t0, time.perf_counter() - t1, [int(t) for t in generator.get_sequence(0)[len(prompt):]]

    return run


def _transformers_runner(folder: str, threads: int) -> Run:
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()

    @torch.inference_mode()
    def run(prompt: list[int], new_tokens: int) -> tuple[float, float, list[int]]:
        ids = torch.tensor([prompt])
        t0 = time.perf_counter()
        model(input_ids=ids, use_cache=True)  # the prefill alone: one forward pass over the prompt
        t1 = time.perf_counter()
        out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=new_tokens,
                             min_new_tokens=new_tokens, pad_token_id=model.config.eos_token_id)
        t2 = time.perf_counter()  # generate ran the prefill again: its decode part is its time minus one prefill
        return t1 - t0, max(t2 - t1 - (t1 - t0), 1e-9), out[0, len(prompt):].tolist()

    return run


def measure(runtime: str, folder: str | os.PathLike[str], prompts: Sequence[Sequence[int]], new_tokens: int = 64,
            repeats: int = 3, threads: int = 2) -> dict[str, Any]:
    """Prefill and decode speed and memory (MB) of ``"genai"`` or ``"transformers"`` (eager), greedy, batch 1.

    Each prompt runs once untimed (its tokens are returned), then ``repeats`` times with ``new_tokens`` forced.
    """
    from helpers.benchmark import memory_mb

    runners = {"genai": _genai_runner, "transformers": _transformers_runner}
    if runtime not in runners:
        raise ValueError(f"runtime={runtime!r}: choose 'genai' or 'transformers'.")
    run = runners[runtime](str(folder), threads)
    rss_loaded = memory_mb()
    prefill_tok_s, ms_per_token, tokens = [], [], []
    for prompt in map(list, prompts):
        tokens.append(run(prompt, new_tokens)[2])  # the warm-up
        for _ in range(repeats):
            prefill_s, decode_s, _ = run(prompt, new_tokens)
            prefill_tok_s.append(len(prompt) / prefill_s)
            ms_per_token.append(decode_s / new_tokens * 1e3)
    return {"runtime": runtime, "prefill_tok_s": float(np.median(prefill_tok_s)),
            "decode_tok_s": 1e3 / float(np.median(ms_per_token)), "decode_ms_per_token": ms_per_token,
            "tokens": tokens, "rss_loaded_mb": rss_loaded, "peak_rss_mb": memory_mb(peak=True)}


def measure_in_child(runtime: str, folder: str | os.PathLike[str], prompts: Sequence[Sequence[int]],
                     new_tokens: int = 64, repeats: int = 3, threads: int = 2, timeout: float = 600) -> dict[str, Any]:
    """:func:`measure` in a fresh Python process, so its peak memory is this runtime's alone (imports included)."""
    request = {"runtime": runtime, "folder": str(folder), "prompts": [[int(t) for t in p] for p in prompts],
               "new_tokens": new_tokens, "repeats": repeats, "threads": threads}
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": "PASSIVE"}
    done = subprocess.run([sys.executable, "-m", "helpers.genai"], input=json.dumps(request), capture_output=True,
                          text=True, timeout=timeout, env=env)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.splitlines()[-10:])
        raise RuntimeError(f"Measuring {runtime} on {folder} failed (exit {done.returncode}):\n{tail}")
    return json.loads(lines[-1])


if __name__ == "__main__":  # pragma: no cover  (measure_in_child's request as JSON on stdin, the result on stdout)
    print(json.dumps(measure(**json.loads(sys.stdin.read()))))
