"""Validate requests against an ONNX model's own inputs, and score them: the logic behind ``score.py``.

This module is the deployable core of notebooks/40_deploy_local_endpoint.ipynb. It needs only numpy and
onnxruntime (imported when a model is loaded), so it ships unchanged in the Azure Machine Learning code
folder next to ``score.py``; ``helpers.runtime`` loads it by path, so the workbook and the endpoint share
one input validator (:func:`validate_inputs` for numpy feeds, :meth:`OnnxScorer.parse` for JSON).

A request is a JSON object ``{"inputs": {"<input name>": <nested list>, ...}}``: one array per model
input, each with the batch as its first axis. Everything is checked before ONNX Runtime sees the data,
and sizes are checked before any work: the nested lists are walked outer axis first (the batch), each
axis length is compared with the model and with :class:`Limits` before the next level is visited, and
the total number of elements is capped, so a huge request is refused before it is converted. Then names,
element types, integer ranges, NaN and infinity. A bad request raises :class:`RequestError` (HTTP 400;
:class:`RequestTooLarge`, a subclass, for 413), whose message says what was expected. A request that passes
every check but makes the model output NaN or infinity (finite float32 values near its limits can overflow
inside a network) raises :class:`UnscorableRequest` (HTTP 422): the request is well-formed, the model cannot
score it, and JSON could not carry the answer.

A model the endpoint cannot serve honestly (an input type JSON cannot carry, such as bfloat16, a
sequence or a map; an output type it cannot return; a single example larger than the request cap) is
refused when it is loaded, with :class:`UnsupportedModelError`.

>>> scorer = OnnxScorer(find_model("build/models/endpoint"))        # doctest: +SKIP
>>> scorer.score({"image": [[[[0.0] * 8] * 8]]})["predictions"]     # doctest: +SKIP
[1]
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "InputError",
    "RequestError",
    "RequestTooLarge",
    "UnscorableRequest",
    "UnsupportedModelError",
    "ModelNotFoundError",
    "Limits",
    "InputSpec",
    "OnnxScorer",
    "ONNX_TO_NUMPY",
    "find_model",
    "sample_inputs",
    "validate_inputs",
    "bounded_names",
    "LABELS_KEY",
    "DEFAULT_MAX_BATCH",
]

#: Model metadata key (``metadata_props``) holding the class labels as a JSON list.
LABELS_KEY = "labels"
#: Largest batch one request may carry unless ``Limits.max_batch`` says otherwise.
DEFAULT_MAX_BATCH = 64
#: Hard ceiling of elements per request when the model would allow more (2**24, 16.7 million).
ELEMENT_CEILING = 2**24
#: Largest example (elements) the OpenAPI document and error messages show.
EXAMPLE_ELEMENTS = 10_000
#: Largest integer a float64 holds exactly: whole-number floats beyond it are not cast to integers.
EXACT_FLOAT_INT = 2**53

#: ONNX Runtime's type strings -> the numpy dtype each needs.
ONNX_TO_NUMPY = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int16)": np.int16, "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8, "tensor(uint16)": np.uint16, "tensor(uint32)": np.uint32,
    "tensor(uint64)": np.uint64, "tensor(bool)": np.bool_, "tensor(string)": np.str_,
}
_ORT_TYPES = ONNX_TO_NUMPY


class InputError(ValueError):
    """A feed does not fit the model's declared inputs (name, dtype, rank or a fixed dimension)."""


class RequestError(InputError):
    """A request that does not match the model's inputs (HTTP 400); the message says what was expected."""

    status = 400


class RequestTooLarge(RequestError):
    """A request over a size limit (HTTP 413): batch, elements, an axis, a string, or the body."""

    status = 413


class UnscorableRequest(RequestError):
    """A well-formed request the model cannot score: its output for it holds NaN or infinity (HTTP 422)."""

    status = 422


class UnsupportedModelError(ValueError):
    """A model this scoring code refuses to serve (raised when it is loaded, so ``init()`` fails)."""


class ModelNotFoundError(FileNotFoundError):
    """No ONNX file where the deployment said the model would be."""


def bounded_names(names: Sequence[Any], most: int = 5, width: int = 40) -> str:
    """A list of names for a message or a log line, at most ``most`` of them, each cut to ``width`` characters.

    >>> bounded_names(["a", "b" * 50, "c", "d", "e", "f", "g"])
    "['a', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...', 'c', 'd', 'e'] and 2 more"
    """
    shown = [str(n) if len(str(n)) <= width else str(n)[:width] + "..." for n in list(names)[:most]]
    more = len(names) - len(shown)
    return f"{shown}" + (f" and {more} more" if more > 0 else "")


# -- limits -------------------------------------------------------------------------------------------
#: Environment variables ``score.py`` reads, and the :class:`Limits` field each sets.
LIMIT_VARIABLES = {"MAX_BATCH": "max_batch", "MAX_ELEMENTS": "max_elements", "MAX_DIM": "max_dim",
                   "MAX_STRING": "max_string", "MAX_BODY_BYTES": "max_body_bytes"}


@dataclass(frozen=True)
class Limits:
    """What one request may carry; anything over a limit is refused (413) before it is converted.

    max_batch: examples per request (the first axis).
    max_elements: numbers or strings per request, all inputs together (None: ``max_batch`` examples of the
        model's size, free non-batch axes counted at ``max_dim``, at most :data:`ELEMENT_CEILING`).
    max_dim: length of a free non-batch axis (a sequence length).
    max_string: characters per string element.
    max_body_bytes: bytes of the request body (None: 32 bytes per allowed element plus 64 KiB, room for
        the longest JSON number); ``score.py`` checks it before reading the body.
    """

    max_batch: int = DEFAULT_MAX_BATCH
    max_elements: int | None = None
    max_dim: int = 4096
    max_string: int = 1024
    max_body_bytes: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Limits:
        """Limits from ``MAX_BATCH``, ``MAX_ELEMENTS``, ``MAX_DIM``, ``MAX_STRING``, ``MAX_BODY_BYTES``."""
        env = os.environ if env is None else env
        values = {}
        for var, field in LIMIT_VARIABLES.items():
            if env.get(var, "").strip():
                try:
                    values[field] = int(env[var])
                except ValueError:
                    raise ValueError(f"{var}={env[var]!r} must be a whole number.") from None
        return cls(**values)

    def check(self) -> None:
        """Refuse limits below 1."""
        for field in LIMIT_VARIABLES.values():
            value = getattr(self, field)
            if value is not None and value < 1:
                raise ValueError(f"{field} must be at least 1, got {value}.")


# -- the model's inputs -------------------------------------------------------------------------------
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

    def example_elements(self) -> int:
        """Elements of one example: fixed dimensions multiplied, free ones counted as 1 (Python ints: no overflow)."""
        return math.prod(d for d in self.shape[1 if self.has_batch_axis else 0:] if isinstance(d, int))


def _dims(shape: Sequence[Any] | None) -> tuple[int | str | None, ...]:
    return tuple(d if isinstance(d, int) and d > 0 else (d or None) if isinstance(d, str) else None
                 for d in (shape or []))


def _shape_text(shape: Sequence[Any]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _name_problems(declared: Sequence[str], given: Sequence[Any]) -> str:
    """'missing input(s) [...] and unknown input(s) [...]' (bounded), or '' when the names match."""
    missing = [n for n in declared if n not in given]
    unknown = sorted(str(n) for n in given if n not in declared)
    parts = ([f"missing input(s) {bounded_names(missing)}"] if missing else []) + \
            ([f"unknown input(s) {bounded_names(unknown)}"] if unknown else [])
    return " and ".join(parts)


def _fixed_axis_problem(shape: Sequence[Any], got: Sequence[int]) -> int | None:
    """The first axis whose fixed size differs from ``got``, or None."""
    return next((axis for axis, (want, size) in enumerate(zip(shape, got))
                 if isinstance(want, int) and want > 0 and want != size), None)


def validate_inputs(session: Any, feeds: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Check numpy ``feeds`` against a session's inputs; return them as arrays or raise :class:`InputError`.

    The workbook's validator (``helpers.runtime`` re-exports it). Checks, in order: unknown names, missing
    inputs, dtype, rank, and every fixed dimension (symbolic ones such as ``batch`` accept any size). The
    message names the input, what the model declares, what arrived, and how to fix it. Nothing is cast.
    """
    if not isinstance(feeds, Mapping):
        raise InputError(
            f"Pass the inputs as a dict {{input name: array}}, not {type(feeds).__name__}; "
            f"this model's inputs are {[i.name for i in session.get_inputs()]}."
        )
    declared = {i.name: i for i in session.get_inputs()}
    problems = _name_problems(list(declared), list(feeds))
    if problems:
        expected = "; ".join(f"{n}: {i.type} {_shape_text(i.shape)}" for n, i in declared.items())
        raise InputError(f"{problems.capitalize()}. The model expects {expected}. Feed one array per expected name.")
    out = {}
    for name, meta in declared.items():
        value = feeds[name]
        arr = value if isinstance(value, np.ndarray) else np.asarray(value)
        want = ONNX_TO_NUMPY.get(meta.type)
        if want is not None and arr.dtype.type is not np.dtype(want).type and not (
                want is np.str_ and arr.dtype.kind in "UO"):
            raise InputError(
                f"Input {name!r} expects {meta.type} (numpy {np.dtype(want).name}) with shape "
                f"{_shape_text(meta.shape)}, but got {arr.dtype} with shape {list(arr.shape)}. "
                f"Convert it first: x.astype(np.{np.dtype(want).name})."
            )
        if len(meta.shape) != arr.ndim:
            raise InputError(
                f"Input {name!r} expects rank {len(meta.shape)} {_shape_text(meta.shape)}, but got rank "
                f"{arr.ndim} with shape {list(arr.shape)}. Reshape it, e.g. add the batch axis with x[None]."
            )
        axis = _fixed_axis_problem(meta.shape, arr.shape)
        if axis is not None:
            raise InputError(
                f"Input {name!r} expects shape {_shape_text(meta.shape)}, but axis {axis} has size "
                f"{arr.shape[axis]} (shape {list(arr.shape)}). Only symbolic dimensions may vary."
            )
        out[name] = arr
    return out


def find_model(model_dir: str | os.PathLike[str] | None, filename: str | None = None) -> Path:
    """The ONNX file inside a deployment's model folder (``AZUREML_MODEL_DIR``).

    Handles a flat folder (``DIR/model.onnx``) and the registered-model layout
    (``DIR/<name>/<version>/model.onnx``). filename: pick the file with exactly this name when there are
    several (a name, not a pattern: ``*`` matches only a file called ``*``).
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
    if filename is not None and (not filename or Path(filename).name != filename):
        raise ModelNotFoundError(f"MODEL_FILE={filename[:80]!r} must be a file name (no folder part), such as "
                                 "'model.onnx'.")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    found = [p for p in files if (p.name == filename if filename else p.suffix == ".onnx")]
    wanted = repr(filename) if filename else "*.onnx"
    if not found:
        listing = [str(p.relative_to(root)) for p in files]
        raise ModelNotFoundError(f"No {wanted} file in the model folder {str(root)!r} (AZUREML_MODEL_DIR); it holds "
                                 f"{bounded_names(listing, most=20, width=80) if listing else 'nothing'}. "
                                 "Put the model file there.")
    if len(found) > 1:
        names = [str(p.relative_to(root)) for p in found]
        raise ModelNotFoundError(f"Several {wanted} files in {str(root)!r}: {bounded_names(names, most=10, width=80)}; "
                                 "name one with filename=... (MODEL_FILE in score.py).")
    return found[0]


def sample_inputs(specs: list[InputSpec], batch: int = 1, most: int = 100_000) -> dict[str, Any]:
    """A valid request's ``inputs`` (zeros) for ``specs``: the example the OpenAPI document shows.

    Free axes get length 1 (``batch`` for the batch axis). Refuses (``ValueError``) to build an example of
    more than ``most`` elements, so a huge declared dimension cannot exhaust memory here.
    """
    out = {}
    for spec in specs:
        shape = [batch if i == 0 and not isinstance(d, int) else (d if isinstance(d, int) else 1)
                 for i, d in enumerate(spec.shape)]
        if math.prod(shape) > most:
            raise ValueError(f"An example of input {spec.name!r} would hold {math.prod(shape):,} elements "
                             f"(shape {shape}), over {most:,}.")
        kind = np.dtype(spec.dtype).kind
        fill = "" if kind == "U" else False if kind == "b" else 0.0 if kind == "f" else 0
        out[spec.name] = np.full(shape, fill, dtype=object).tolist()
    return out


# -- output kinds ------------------------------------------------------------------------------------
def _output_kind(type_str: str) -> str | None:
    """'tensor' for a tensor, 'map' for a sequence of maps (scikit-learn's ZipMap), None for what we refuse."""
    if type_str in ONNX_TO_NUMPY:
        return "tensor"
    if type_str.startswith("seq(map(") and (type_str.endswith(",tensor(float)))") or
                                            type_str.endswith(",tensor(double)))")):
        return "map"
    return None


class OnnxScorer:
    """One ONNX Runtime session plus what it needs to check and answer requests.

    model_path: the .onnx file.
    max_batch: the largest batch a request may carry (shortcut for ``limits.max_batch``).
    threads: ONNX Runtime intra-op threads (1 suits one server worker per core).
    limits: the request limits (:class:`Limits`); unset fields get defaults sized for this model.
    """

    def __init__(self, model_path: str | os.PathLike[str], max_batch: int | None = None, threads: int = 1,
                 limits: Limits | None = None):
        import onnxruntime as ort

        limits = limits or Limits()
        if max_batch is not None:
            limits = replace(limits, max_batch=max_batch)
        limits.check()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelNotFoundError(f"{self.model_path} is not a file: point the deployment at the .onnx file.")
        try:
            self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # InvalidProtobuf, Fail, NoSuchFile, UnicodeDecodeError...: one error for one problem
            reason = (str(err).strip().splitlines() or [type(err).__name__])[-1][:300]
            raise UnsupportedModelError(
                f"{self.model_path.name} is not a valid ONNX model that ONNX Runtime can load: {reason} "
                "Re-export the model, and check it with onnx.checker.check_model(path, full_check=True).") from err
        self.inputs = [self._input_spec(i) for i in self.session.get_inputs()]
        outputs = self.session.get_outputs()
        self.outputs = [o.name for o in outputs]
        self._output_kinds = {}
        for o in outputs:
            kind = _output_kind(o.type)
            if kind is None:
                raise UnsupportedModelError(
                    f"Output {o.name!r} has type {o.type}, which this scoring script cannot return as JSON (it "
                    "returns tensors and scikit-learn's ZipMap, a sequence of maps): change the model's outputs.")
            self._output_kinds[o.name] = kind
        meta = self.session.get_modelmeta()
        self.metadata = dict(meta.custom_metadata_map)
        self.name = meta.graph_name or self.model_path.stem
        self.labels = self._labels(self.metadata.get(LABELS_KEY))
        self.limits = self._sized_limits(limits)
        self.max_batch = self.limits.max_batch
        # Computed once: error messages use them, and the per-request path should not rebuild them.
        self._where = {s.name: f"input {s.name!r} ({s.describe()})" for s in self.inputs}
        self._names = [s.name for s in self.inputs]
        self._expected_text = "; ".join(s.describe() for s in self.inputs)
        self._example_cache: dict[str, Any] | None = None

    @staticmethod
    def _input_spec(info: Any) -> InputSpec:
        if info.type not in ONNX_TO_NUMPY:
            raise UnsupportedModelError(
                f"Input {info.name!r} has type {info.type}, which a JSON request cannot carry (this scoring script "
                f"accepts tensors of {', '.join(sorted(t[7:-1] for t in ONNX_TO_NUMPY))}): serve a model whose "
                "inputs are such tensors, e.g. cast bfloat16 inside the model.")
        if not info.shape:
            raise UnsupportedModelError(
                f"Input {info.name!r} is a scalar or has no declared shape, which this scoring script cannot check: "
                "declare its shape in the model (a batch axis first), or fold a constant input into the model.")
        return InputSpec(info.name, ONNX_TO_NUMPY[info.type], _dims(info.shape))

    def _sized_limits(self, limits: Limits) -> Limits:
        """Fill unset limits from the model's size, and refuse a model whose one example is over the cap."""
        per_example = sum(s.example_elements() * (limits.max_dim ** sum(
            1 for i, d in enumerate(s.shape) if not isinstance(d, int) and (i > 0 or not s.has_batch_axis)))
            for s in self.inputs)
        max_elements = limits.max_elements or max(1, min(ELEMENT_CEILING, limits.max_batch * per_example))
        smallest = sum(s.example_elements() for s in self.inputs)
        if smallest > max_elements:
            big = max(self.inputs, key=lambda s: s.example_elements())
            raise UnsupportedModelError(
                f"One example of this model holds {smallest:,} elements (input {big.describe()}), over the request "
                f"cap of {max_elements:,} elements (MAX_ELEMENTS; at most {ELEMENT_CEILING:,} by default): a "
                "request could never pass. Serve a model with smaller fixed dimensions, or raise MAX_ELEMENTS.")
        max_body = limits.max_body_bytes or 32 * max_elements + 65_536
        return replace(limits, max_elements=max_elements, max_body_bytes=max_body)

    @staticmethod
    def _labels(raw: str | None) -> list[str] | None:
        if not raw:
            return None
        try:
            labels = json.loads(raw)
        except ValueError:
            labels = [s.strip() for s in raw.split(",")]
        return [str(label) for label in labels] if isinstance(labels, list) else None

    def example(self) -> dict[str, Any] | None:
        """A valid request's ``inputs`` (zeros, batch of one, free axes of length 1), built on first use; None
        when one example holds more than :data:`EXAMPLE_ELEMENTS` elements (too large to show)."""
        if self._example_cache is None:
            try:
                self._example_cache = {"value": sample_inputs(self.inputs, most=EXAMPLE_ELEMENTS)}
            except ValueError:
                self._example_cache = {"value": None}
        return self._example_cache["value"]

    def _example_text(self) -> str:
        example = self.example()
        if example is None:
            return "(one example is too large to show)"
        text = json.dumps({"inputs": example})
        return text if len(text) <= 200 else text[:120] + "..."

    def describe(self) -> dict[str, Any]:
        """What the endpoint expects and returns, for logs and for error messages."""
        return {"model": self.name, "inputs": [s.describe() for s in self.inputs], "outputs": self.outputs,
                "labels": self.labels, "max_batch": self.limits.max_batch,
                "max_elements": self.limits.max_elements, "max_body_bytes": self.limits.max_body_bytes}

    def _expected(self) -> str:
        return self._expected_text

    # -- validation ---------------------------------------------------------------------------------
    def parse(self, inputs: Any) -> dict[str, np.ndarray]:
        """Check ``inputs`` (the request's ``"inputs"`` value) and convert it to arrays for ONNX Runtime.

        Sizes first, for every input, before any conversion: then types and values.
        """
        if not isinstance(inputs, dict):
            raise RequestError(f"'inputs' must be a JSON object mapping input names to arrays, got "
                               f"{type(inputs).__name__}; expected {self._expected()}, for example {self._example_text()}")
        problems = _name_problems(self._names, list(inputs))
        if problems:
            raise RequestError(f"{problems}; the model expects exactly {self._names} ({self._expected()}).")
        used = 0
        walked = {}
        for spec in self.inputs:
            shape, rows = self._walk(spec, inputs[spec.name], used)
            used += math.prod(shape)
            walked[spec.name] = (shape, rows)
        batches = {spec.name: walked[spec.name][0][0] for spec in self.inputs if spec.has_batch_axis}
        if len(set(batches.values())) > 1:
            raise RequestError(f"all inputs must carry the same batch size, got {batches}.")
        return {spec.name: self._convert(spec, inputs[spec.name], *walked[spec.name]) for spec in self.inputs}

    def _walk(self, spec: InputSpec, value: Any, used: int) -> tuple[list[int], list[Any]]:
        """The shape of nested lists, found level by level (outer axis first) with every length checked
        against the model and the limits before the next level is visited. Returns the shape and the
        innermost rows. used: elements the request's earlier inputs hold."""
        where = self._where[spec.name]
        limits = self.limits
        if not isinstance(value, list):
            raise RequestError(f"{where}: expected a nested JSON array, got {type(value).__name__}.")
        rank = len(spec.shape)
        level: list[Any] = [value]
        shape: list[int] = []
        for axis, want in enumerate(spec.shape):
            if axis > 0:
                if not all(type(item) is list for item in level):
                    raise RequestError(f"{where}: expected rank {rank}, got rank {axis} with shape {shape}."
                                       + (" Wrap a single example in a list to make a batch of one."
                                          if axis == rank - 1 else ""))
                lengths = set(map(len, level))
                if len(lengths) > 1:
                    raise RequestError(f"{where}: the nested arrays are ragged (rows of different lengths at axis "
                                       f"{axis}); every row must have the same length.")
            size = len(level[0])
            if axis == 0 and spec.has_batch_axis:
                if size == 0:
                    raise RequestError(f"{where}: the batch is empty; send at least one example.")
                if size > limits.max_batch:
                    raise RequestTooLarge(f"{where}: batch of {size} is over the limit of {limits.max_batch} "
                                          "examples per request; split it into several requests.")
            elif isinstance(want, int):
                if size != want:
                    got = shape + [size]
                    hint = (" It looks like one example without the batch axis: wrap it in a list to make a batch of one."
                            if spec.has_batch_axis and _depth(value, rank + 1) == rank - 1 else "")
                    raise RequestError(f"{where}: axis {axis} must have size {want}, got {size} (shape so far {got})."
                                       + hint)
            else:
                if size == 0:
                    raise RequestError(f"{where}: axis {axis} ({want or 'free'}) is empty; send at least one value.")
                if size > limits.max_dim:
                    raise RequestTooLarge(f"{where}: axis {axis} ({want or 'free'}) has length {size}, over the "
                                          f"limit of {limits.max_dim} (MAX_DIM).")
            shape.append(size)
            total = used + math.prod(shape)
            if total > limits.max_elements:
                raise RequestTooLarge(f"{where}: the request holds at least {total:,} elements so far, over the limit "
                                      f"of {limits.max_elements:,} per request (MAX_ELEMENTS); send fewer examples.")
            if axis < rank - 1:
                level = [item for row in level for item in row]
        return shape, level

    def _convert(self, spec: InputSpec, value: Any, shape: list[int], rows: list[Any]) -> np.ndarray:
        where = self._where[spec.name]
        target = np.dtype(spec.dtype)
        if target.kind == "U":
            leaves = [x for row in rows for x in row]
            if not all(type(x) is str for x in leaves):
                raise RequestError(f"{where}: expected strings, got {_kind_of_leaves(leaves)}.")
            longest = max(map(len, leaves), default=0)
            if longest > self.limits.max_string:
                raise RequestTooLarge(f"{where}: a string of {longest} characters is over the limit of "
                                      f"{self.limits.max_string} (MAX_STRING).")
            return np.array(leaves, dtype=object).reshape(shape)
        try:
            raw = np.asarray(value)
        except (ValueError, OverflowError):  # lists nested deeper in some rows than others
            raise RequestError(f"{where}: expected rank {len(shape)}; some values are nested arrays.") from None
        if raw.ndim != len(shape) or (raw.dtype.kind == "O" and any(type(x) is list for row in rows for x in row)):
            raise RequestError(f"{where}: expected rank {len(shape)}, got values nested deeper than that.")
        kind = raw.dtype.kind
        if kind in "iuf" and _holds_booleans(rows):  # numpy reads true/false among numbers as 1/0
            raise RequestError(f"{where}: expected numbers ({target.name}), got true/false values among them; "
                               "send numbers only (JSON true and false are not 1 and 0).")
        if target.kind == "f":
            if kind not in "iuf":
                raise RequestError(f"{where}: expected numbers ({target.name}), got {_kind_name(raw)}.")
            with np.errstate(over="ignore", invalid="ignore"):
                arr = raw.astype(target)
            finite = np.isfinite(arr)
            if not finite.all():
                bad = int(arr.size - finite.sum())
                raise RequestError(f"{where}: {bad} value(s) are NaN or infinite (or overflow {target.name}); "
                                   "send finite numbers.")
            return arr
        if target.kind in "iu":
            return self._integers(where, target, raw, rows)
        if kind != "b":
            raise RequestError(f"{where}: expected true/false values, got {_kind_name(raw)}.")
        return raw

    @staticmethod
    def _integers(where: str, target: np.dtype, raw: np.ndarray, rows: list[Any]) -> np.ndarray:
        """Integers range-checked before the cast; whole-number floats only when a float64 holds them exactly."""
        info = np.iinfo(target)
        span = f"values must lie in [{info.min}, {info.max}] for {target.name}"
        kind = raw.dtype.kind
        if kind in "iu":
            if raw.min() < info.min or raw.max() > info.max:
                raise RequestError(f"{where}: {span}.")
            return raw.astype(target)
        leaves = [x for row in rows for x in row]
        if kind in "fO" and all(type(x) is int for x in leaves):  # Python ints numpy could not keep exactly
            if min(leaves) < info.min or max(leaves) > info.max:
                raise RequestError(f"{where}: {span}.")
            return np.array(leaves, dtype=target).reshape(raw.shape)
        if kind != "f":
            raise RequestError(f"{where}: expected integers ({target.name}), got {_kind_name(raw)}.")
        if not np.isfinite(raw).all() or (raw != np.round(raw)).any():
            raise RequestError(f"{where}: expected integers ({target.name}), got non-integer numbers.")
        if raw.min() < info.min or raw.max() > info.max:
            raise RequestError(f"{where}: {span}.")
        if np.abs(raw).max() > EXACT_FLOAT_INT:
            raise RequestError(f"{where}: a whole number written as a float beyond 2**53 is not exact; write it "
                               "without a decimal point or exponent.")
        return raw.astype(target)

    # -- scoring ------------------------------------------------------------------------------------
    def run(self, arrays: dict[str, np.ndarray]) -> tuple[list[Any], float]:
        """``session.run`` on checked arrays; returns the outputs and the time it took in ms."""
        start = time.perf_counter()
        outputs = self.session.run(None, arrays)
        return outputs, (time.perf_counter() - start) * 1e3

    def score(self, inputs: Any) -> dict[str, Any]:
        """Check, run and answer: predictions, probabilities and labels (classifiers) and the inference time.
        Raises :class:`UnscorableRequest` when the model's output for these inputs holds NaN or infinity."""
        outputs, ms = self.run(self.parse(inputs))
        self.check_outputs(outputs)
        answer = self.interpret(outputs)
        answer["inference_ms"] = round(ms, 4)
        return answer

    def check_outputs(self, outputs: list[Any]) -> None:
        """Raise :class:`UnscorableRequest` (422) when a float output, or a ZipMap probability, is NaN or infinite."""
        for name, value in zip(self.outputs, outputs):
            if self._output_kinds[name] == "map":
                bad = sum(not math.isfinite(v) for row in value for v in row.values())
                total = sum(len(row) for row in value)
            else:
                arr = np.asarray(value)
                if arr.dtype.kind not in "fc":
                    continue
                bad = int(arr.size - np.isfinite(arr).sum())
                total = arr.size
            if bad:
                raise UnscorableRequest(
                    f"The model cannot score this request: its output {name!r} holds {bad} NaN or infinite value(s) "
                    f"of {total} (the inputs overflow inside the model), which no answer can carry. Send values in "
                    "the range the model was trained on.")

    def interpret(self, outputs: list[Any]) -> dict[str, Any]:
        """Turn raw outputs into an answer. A classifier (an integer/string label output, one 2-D float output
        of scores, or a ZipMap sequence of maps) gets predictions, probabilities and labels; any other model
        its raw outputs. ZipMap probabilities come back as JSON objects ``{class: probability}``."""
        by_name = dict(zip(self.outputs, outputs))
        maps = [by_name[n] for n in self.outputs if self._output_kinds[n] == "map"]
        tensors = [np.asarray(by_name[n]) for n in self.outputs if self._output_kinds[n] == "tensor"]
        label_out = next((o for o in tensors if o.ndim == 1 and o.dtype.kind in "iuUO"), None)
        scores = next((o for o in tensors if o.ndim == 2 and o.dtype.kind == "f"), None)
        if label_out is None and scores is None and not maps:
            return {"outputs": {k: np.asarray(v).tolist() for k, v in by_name.items()}}
        answer: dict[str, Any] = {}
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
        elif probs is not None:
            predictions = probs.argmax(axis=1).tolist()
        else:
            predictions = [max(row, key=row.get) for row in maps[0]]
            predictions = [p.item() if hasattr(p, "item") else p for p in predictions]
        answer["predictions"] = predictions
        answer["labels"] = [self._label(p) for p in predictions]
        if maps:
            answer["probabilities"] = [{str(k): round(float(v), 6) for k, v in row.items()} for row in maps[0]]
        elif probs is not None:
            answer["probabilities"] = np.round(probs, 6).tolist()
        return answer

    def _label(self, prediction: Any) -> str:
        if self.labels and isinstance(prediction, int) and 0 <= prediction < len(self.labels):
            return self.labels[prediction]
        return str(prediction)

    # -- the OpenAPI document -------------------------------------------------------------------------
    def input_schema(self) -> dict[str, Any]:
        """JSON Schema of ``inputs``: one nested array per input, with the lengths and value ranges that pass."""
        props = {}
        for spec in self.inputs:
            props[spec.name] = self._array_schema(spec)
        schema = {"type": "object", "properties": props, "required": list(self._names), "additionalProperties": False,
                  "example": self.example()}
        if schema["example"] is None:
            schema["description"] = (f"No example: one example holds more than {EXAMPLE_ELEMENTS:,} elements "
                                     f"({self._expected()}).")
        return schema

    def _array_schema(self, spec: InputSpec) -> dict[str, Any]:
        dtype = np.dtype(spec.dtype)
        if dtype.kind == "f":
            big = float(np.finfo(dtype).max)
            leaf: dict[str, Any] = {"type": "number", "minimum": -big, "maximum": big}
        elif dtype.kind in "iu":
            info = np.iinfo(dtype)
            leaf = {"type": "integer", "minimum": int(info.min), "maximum": int(info.max)}
        elif dtype.kind == "b":
            leaf = {"type": "boolean"}
        else:
            leaf = {"type": "string", "maxLength": self.limits.max_string}
        schema = leaf
        for axis in reversed(range(len(spec.shape))):
            want = spec.shape[axis]
            if axis == 0 and spec.has_batch_axis:
                low, high = 1, self.limits.max_batch
            elif isinstance(want, int):
                low = high = want
            else:
                low, high = 1, self.limits.max_dim
            schema = {"type": "array", "minItems": low, "maxItems": high, "items": schema}
        schema["description"] = (f"{spec.describe()}; at most {self.limits.max_elements:,} elements per request, "
                                  f"all inputs together")
        return schema

    def _answer_kind(self) -> tuple[str | None, bool, bool]:
        """From the declared outputs: the label output's type (or None), a ZipMap output, a 2-D score output."""
        kinds = [(o.type, _dims(o.shape)) for o in self.session.get_outputs()]
        label = next((t for t, s in kinds if t in ("tensor(int64)", "tensor(int32)", "tensor(string)") and len(s) == 1),
                     None)
        has_map = "map" in self._output_kinds.values()
        scores = any(t in ("tensor(float)", "tensor(double)") and len(s) == 2 for t, s in kinds)
        return label, has_map, scores

    def output_example(self) -> dict[str, Any]:
        """An example answer, shaped as :meth:`interpret` answers for this model."""
        label, has_map, scores = self._answer_kind()
        if not (label or has_map or scores):
            return {"outputs": {n: [0.0] for n in self.outputs}, "inference_ms": 0.1}
        first = "a" if label == "tensor(string)" else 0
        example: dict[str, Any] = {"predictions": [first], "labels": [self._label(first)], "inference_ms": 0.1}
        if has_map:
            example["probabilities"] = [{str(first): 1.0}]
        elif scores:
            example["probabilities"] = [[1.0]]
        return example

    def output_schema(self) -> dict[str, Any]:
        """JSON Schema of the answer :meth:`score` gives for this model (the OpenAPI document's ServiceOutput)."""
        label, has_map, scores = self._answer_kind()
        number = {"type": "number"}
        if not (label or has_map or scores):
            props: dict[str, Any] = {"outputs": {"type": "object", "required": list(self.outputs),
                                                 "properties": {n: {"description": "the output as nested arrays"}
                                                                for n in self.outputs}}}
        else:
            kind = {"type": "string"} if label == "tensor(string)" else {"type": "integer"}
            props = {"predictions": {"type": "array", "items": kind},
                     "labels": {"type": "array", "items": {"type": "string"}}}
            if has_map:
                props["probabilities"] = {"type": "array", "items": {"type": "object", "additionalProperties": number,
                                                                     "description": "class -> probability"}}
            elif scores:
                props["probabilities"] = {"type": "array", "items": {"type": "array", "items": number}}
        props["inference_ms"] = number
        return {"type": "object", "required": list(props), "properties": props, "example": self.output_example()}


def _depth(value: Any, most: int) -> int:
    """How deep the first elements nest (at most ``most``): the rank a rectangular value would have."""
    depth = 0
    while type(value) is list and depth < most:
        depth += 1
        value = value[0] if value else None
    return depth


def _holds_booleans(rows: list[Any]) -> bool:
    """Whether JSON true/false sit among the innermost rows' values (one pass in C over the leaves)."""
    from itertools import chain

    return bool in set(map(type, chain.from_iterable(rows)))


def _kind_name(arr: np.ndarray) -> str:
    return {"U": "strings", "b": "true/false values", "O": "mixed or null values", "f": "non-integer numbers"}.get(
        arr.dtype.kind, arr.dtype.name)


def _kind_of_leaves(leaves: list[Any]) -> str:
    odd = next((x for x in leaves if type(x) is not str), None)
    return {bool: "true/false values", int: "numbers", float: "numbers", type(None): "null values",
            list: "nested arrays"}.get(type(odd), "mixed values")
