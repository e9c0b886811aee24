"""Validate JSON requests against an ONNX model's own inputs, and score them: the logic behind ``score.py``.

This module is the deployable core of notebooks/40_deploy_local_endpoint.ipynb. It needs only numpy and
onnxruntime (imported when a model is loaded), so it ships unchanged in the Azure Machine Learning code
folder next to ``score.py``, and the tests import it directly.

A request is a JSON object ``{"inputs": {"<input name>": <nested list>, ...}}``: one array per model
input, each with the batch as its first axis. Everything the model declares is checked before ONNX
Runtime sees the data: names (missing, unknown), rank and fixed dimensions, element type, batch size,
NaN and infinity. A bad request raises :class:`RequestError`, whose message says what was expected.

>>> scorer = OnnxScorer(find_model("build/models/endpoint"))        # doctest: +SKIP
>>> scorer.score({"inputs": {"image": [[[[0.0] * 8] * 8]]}})["predictions"]   # doctest: +SKIP
[1]
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "RequestError",
    "ModelNotFoundError",
    "InputSpec",
    "OnnxScorer",
    "find_model",
    "sample_inputs",
    "LABELS_KEY",
    "DEFAULT_MAX_BATCH",
]

#: Model metadata key (``metadata_props``) holding the class labels as a JSON list.
LABELS_KEY = "labels"
#: Largest batch one request may carry unless ``max_batch`` says otherwise.
DEFAULT_MAX_BATCH = 64

# ONNX Runtime's type strings -> numpy dtypes the request is converted to.
_ORT_TYPES = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int16)": np.int16, "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8, "tensor(uint16)": np.uint16, "tensor(uint32)": np.uint32,
    "tensor(uint64)": np.uint64, "tensor(bool)": np.bool_, "tensor(string)": np.str_,
}


class RequestError(ValueError):
    """A request that does not match the model's inputs (HTTP 400); the message says what was expected."""


class ModelNotFoundError(FileNotFoundError):
    """No ONNX file where the deployment said the model would be."""


@dataclass(frozen=True)
class InputSpec:
    """One model input: name, numpy dtype, and shape (``None`` or a name for a free dimension)."""

    name: str
    dtype: Any
    shape: tuple[int | str | None, ...]

    @property
    def has_batch_axis(self) -> bool:
        """True when the first axis is free (the batch)."""
        return bool(self.shape) and not isinstance(self.shape[0], int)

    def describe(self) -> str:
        """``image: float32[batch, 1, 8, 8]``"""
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.name}: {np.dtype(self.dtype).name}[{dims}]"


def find_model(model_dir: str | os.PathLike[str] | None, filename: str | None = None) -> Path:
    """The ONNX file inside a deployment's model folder (``AZUREML_MODEL_DIR``).

    Handles a flat folder (``DIR/model.onnx``) and the registered-model layout
    (``DIR/<name>/<version>/model.onnx``). filename: pick this file when there are several.
    """
    if not model_dir:
        raise ModelNotFoundError(
            "AZUREML_MODEL_DIR is not set: start the server with --model_dir DIR (locally) or deploy a registered "
            "model (Azure sets it)."
        )
    root = Path(model_dir)
    if not root.is_dir():
        raise ModelNotFoundError(f"The model folder {str(root)!r} (AZUREML_MODEL_DIR) does not exist or is not a "
                                 "folder: pass the folder that holds the .onnx file.")
    found = sorted(p for p in root.rglob(filename or "*.onnx") if p.is_file())
    if not found:
        listing = sorted(str(p.relative_to(root)) for p in root.rglob("*"))[:20]
        raise ModelNotFoundError(f"No {filename or '*.onnx'} file in the model folder {str(root)!r} "
                                 f"(AZUREML_MODEL_DIR); it holds {listing or 'nothing'}. Put the model file there.")
    if len(found) > 1:
        names = [str(p.relative_to(root)) for p in found]
        raise ModelNotFoundError(f"Several .onnx files in {str(root)!r}: {names}; name one with filename=... "
                                 "(MODEL_FILE in score.py).")
    return found[0]


def _dims(shape: list[Any]) -> tuple[int | str | None, ...]:
    return tuple(d if isinstance(d, int) and d > 0 else (d or None) if isinstance(d, str) else None for d in shape)


def sample_inputs(specs: list[InputSpec], batch: int = 1) -> dict[str, Any]:
    """A valid request's ``inputs`` (zeros) for ``specs``: the example the OpenAPI document shows."""
    out = {}
    for spec in specs:
        shape = [batch if i == 0 and not isinstance(d, int) else (d if isinstance(d, int) else 1)
                 for i, d in enumerate(spec.shape)]
        kind = np.dtype(spec.dtype).kind
        fill = "" if kind == "U" else False if kind == "b" else 0.0 if kind == "f" else 0
        out[spec.name] = np.full(shape, fill, dtype=object).tolist()
    return out


class OnnxScorer:
    """One ONNX Runtime session plus what it needs to check and answer requests.

    model_path: the .onnx file.
    max_batch: the largest batch a request may carry.
    threads: ONNX Runtime intra-op threads (1 suits one server worker per core).
    """

    def __init__(self, model_path: str | os.PathLike[str], max_batch: int = DEFAULT_MAX_BATCH, threads: int = 1):
        import onnxruntime as ort

        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}.")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.model_path = Path(model_path)
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.max_batch = max_batch
        self.inputs = [InputSpec(i.name, _ORT_TYPES.get(i.type, np.float32), _dims(i.shape))
                       for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]
        meta = self.session.get_modelmeta()
        self.metadata = dict(meta.custom_metadata_map)
        self.name = meta.graph_name or self.model_path.stem
        self.labels = self._labels(self.metadata.get(LABELS_KEY))
        # Computed once: error messages use them, and the per-request path should not rebuild them.
        self._where = {s.name: f"input {s.name!r} ({s.describe()})" for s in self.inputs}
        self._expected_text = "; ".join(s.describe() for s in self.inputs)
        example = json.dumps({"inputs": sample_inputs(self.inputs)})
        self._example = example if len(example) <= 200 else example[:120] + "..."

    @staticmethod
    def _labels(raw: str | None) -> list[str] | None:
        if not raw:
            return None
        try:
            labels = json.loads(raw)
        except ValueError:
            labels = [s.strip() for s in raw.split(",")]
        return [str(label) for label in labels]

    def describe(self) -> dict[str, Any]:
        """What the endpoint expects and returns, for logs and for error messages."""
        return {"model": self.name, "inputs": [s.describe() for s in self.inputs], "outputs": self.outputs,
                "labels": self.labels, "max_batch": self.max_batch}

    def _expected(self) -> str:
        return self._expected_text

    # -- validation ---------------------------------------------------------------------------------
    def parse(self, inputs: Any) -> dict[str, np.ndarray]:
        """Check ``inputs`` (the request's ``"inputs"`` value) and convert it to arrays for ONNX Runtime."""
        if not isinstance(inputs, dict):
            raise RequestError(f"'inputs' must be a JSON object mapping input names to arrays, got "
                               f"{type(inputs).__name__}; expected {self._expected()}, for example {self._example}")
        names = [s.name for s in self.inputs]
        missing = [n for n in names if n not in inputs]
        unknown = sorted(set(inputs) - set(names))
        if missing or unknown:
            parts = ([f"missing input(s) {missing}"] if missing else []) + \
                    ([f"unknown input(s) {unknown}"] if unknown else [])
            raise RequestError(f"{' and '.join(parts)}; the model expects exactly {names} ({self._expected()}).")
        arrays = {spec.name: self._convert(spec, inputs[spec.name]) for spec in self.inputs}
        batches = {spec.name: arrays[spec.name].shape[0] for spec in self.inputs if spec.has_batch_axis}
        if len(set(batches.values())) > 1:
            raise RequestError(f"all inputs must carry the same batch size, got {batches}.")
        return arrays

    def _convert(self, spec: InputSpec, value: Any) -> np.ndarray:
        where = self._where[spec.name]
        if not isinstance(value, list):
            raise RequestError(f"{where}: expected a nested JSON array, got {type(value).__name__}.")
        ragged = RequestError(f"{where}: the nested arrays are ragged (rows of different lengths); every row "
                              "must have the same length.")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # numpy < 1.24 warns and makes an object array
                raw = np.asarray(value)
        except ValueError:
            raise ragged from None
        if raw.dtype.kind == "O" and any(isinstance(x, list) for x in raw.ravel()):
            raise ragged
        if raw.ndim != len(spec.shape):
            hint = " Wrap a single example in a list to make a batch of one." if raw.ndim == len(spec.shape) - 1 else ""
            raise RequestError(f"{where}: expected rank {len(spec.shape)}, got rank {raw.ndim} with shape "
                               f"{list(raw.shape)}.{hint}")
        for axis, (want, got) in enumerate(zip(spec.shape, raw.shape)):
            if isinstance(want, int) and want != got:
                raise RequestError(f"{where}: axis {axis} must have size {want}, got shape {list(raw.shape)}.")
        if spec.has_batch_axis:
            if raw.shape[0] == 0:
                raise RequestError(f"{where}: the batch is empty; send at least one example.")
            if raw.shape[0] > self.max_batch:
                raise RequestError(f"{where}: batch of {raw.shape[0]} is over the limit of {self.max_batch} "
                                   "examples per request; split it into several requests.")
        target = np.dtype(spec.dtype)
        kind = raw.dtype.kind
        if target.kind == "f":
            if kind not in "iuf":
                raise RequestError(f"{where}: expected numbers ({target.name}), got {_kind_name(raw)}.")
            with np.errstate(over="ignore"):
                arr = raw.astype(target)
            if not np.isfinite(arr).all():
                bad = int(arr.size - np.isfinite(arr).sum())
                raise RequestError(f"{where}: {bad} value(s) are NaN or infinite (or overflow {target.name}); "
                                   "send finite numbers.")
            return arr
        if target.kind in "iu":
            if kind == "f" and np.isfinite(raw).all() and (raw == np.round(raw)).all():
                raw = raw.astype(np.int64)
                kind = "i"
            if kind not in "iu":
                raise RequestError(f"{where}: expected integers ({target.name}), got {_kind_name(raw)}.")
            info = np.iinfo(target)
            if raw.size and (raw.min() < info.min or raw.max() > info.max):
                raise RequestError(f"{where}: values must lie in [{info.min}, {info.max}] for {target.name}.")
            return raw.astype(target)
        if target.kind == "b":
            if kind != "b":
                raise RequestError(f"{where}: expected true/false values, got {_kind_name(raw)}.")
            return raw
        if kind != "U":
            raise RequestError(f"{where}: expected strings, got {_kind_name(raw)}.")
        return raw.astype(object)

    # -- scoring ------------------------------------------------------------------------------------
    def run(self, arrays: dict[str, np.ndarray]) -> tuple[list[np.ndarray], float]:
        """``session.run`` on checked arrays; returns the outputs and the time it took in ms."""
        start = time.perf_counter()
        outputs = self.session.run(None, arrays)
        return outputs, (time.perf_counter() - start) * 1e3

    def score(self, inputs: Any) -> dict[str, Any]:
        """Check, run and answer: predictions, probabilities and labels (classifiers) and the inference time."""
        outputs, ms = self.run(self.parse(inputs))
        answer = self.interpret(outputs)
        answer["inference_ms"] = round(ms, 4)
        return answer

    def interpret(self, outputs: list[np.ndarray]) -> dict[str, Any]:
        """Turn raw outputs into an answer. A classifier (an integer/string label output, or one 2-D float
        output of scores) gets predictions, probabilities and labels; any other model its raw outputs."""
        by_name = dict(zip(self.outputs, outputs))
        label_out = next((o for o in outputs if o.ndim == 1 and o.dtype.kind in "iuUO"), None)
        scores = next((o for o in outputs if o.ndim == 2 and o.dtype.kind == "f"), None)
        if label_out is None and scores is None:
            return {"outputs": {k: np.asarray(v).tolist() for k, v in by_name.items()}}
        probs = None
        if scores is not None:
            s = scores.astype(np.float64)
            looks_like_probs = s.size and s.min() >= 0 and np.abs(s.sum(axis=1) - 1.0).max() <= 1e-3
            if looks_like_probs:
                probs = s
            else:
                e = np.exp(s - s.max(axis=1, keepdims=True))
                probs = e / e.sum(axis=1, keepdims=True)
        if label_out is not None:
            predictions = label_out.tolist()
        else:
            predictions = probs.argmax(axis=1).tolist()
        labels = [self._label(p) for p in predictions]
        answer: dict[str, Any] = {"predictions": predictions, "labels": labels}
        if probs is not None:
            answer["probabilities"] = np.round(probs, 6).tolist()
        return answer

    def _label(self, prediction: Any) -> str:
        if self.labels and isinstance(prediction, int) and 0 <= prediction < len(self.labels):
            return self.labels[prediction]
        return str(prediction)


def _kind_name(arr: np.ndarray) -> str:
    return {"U": "strings", "b": "true/false values", "O": "mixed or null values", "f": "non-integer numbers"}.get(
        arr.dtype.kind, arr.dtype.name)
