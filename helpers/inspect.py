"""Summarize an ONNX file: versions, producer, inputs and outputs, operators, size, checks.

Introduced in notebooks/01_onnx_basics.ipynb.

Example::

    from helpers.inspect import summarize_model
    summarize_model("build/models/basics/linear.onnx")
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.report import Table

__all__ = [
    "TensorInfo", "ModelSummary", "summarize_model", "load_model", "validate_model", "ensure_valid_model",
    "external_data_files", "NotAnOnnxModelError", "ExternalDataOutsideError",
]


class NotAnOnnxModelError(ValueError):
    """Not a valid ONNX model: wrong format, truncated, empty, a folder, or malformed inside.

    The message reads "<file> is not a valid ONNX model: <what>, at <where>. <fix>".
    """


class ExternalDataOutsideError(NotAnOnnxModelError):
    """A tensor's external data location leaves the model's folder: an absolute path, a ``..`` part, or a
    symbolic link that resolves elsewhere. Refused before the file is touched, as ONNX Runtime refuses it."""


@dataclass
class TensorInfo:
    """A graph input or output: name, element type, shape (symbolic dims as names, unknown as ``?``)."""

    name: str
    dtype: str
    shape: list[int | str]

    def __str__(self) -> str:
        return f"{self.name}: {self.dtype}[{', '.join(map(str, self.shape))}]"


@dataclass
class ModelSummary:
    """What :func:`summarize_model` found out about one model."""

    path: str | None
    size_bytes: int
    external_data_bytes: int
    ir_version: int
    opsets: dict[str, int]
    producer: str
    graph_name: str
    doc_string: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    operators: dict[str, int]
    n_initializers: int
    n_parameters: int
    metadata: dict[str, str]
    checker_ok: bool
    checker_message: str
    shape_inference_ok: bool
    shape_inference_message: str
    inferred_value_infos: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        """The number of nodes in the main graph."""
        return sum(self.operators.values())

    def table(self) -> Table:
        """The summary as a two-column table (property, value)."""
        ops = ", ".join(f"{k}×{v}" for k, v in sorted(self.operators.items(), key=lambda kv: (-kv[1], kv[0])))
        size = f"{self.size_bytes / 1024:.1f} KiB"
        if self.external_data_bytes:
            size += f" (+ {self.external_data_bytes / 1024:.1f} KiB external data)"
        rows = [
            ("file", self.path or "(in memory)"),
            ("size", size),
            ("IR version", self.ir_version),
            ("opsets", ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in self.opsets.items())),
            ("producer", self.producer or "–"),
            ("graph", self.graph_name),
            ("inputs", "; ".join(map(str, self.inputs))),
            ("outputs", "; ".join(map(str, self.outputs))),
            ("nodes", f"{self.n_nodes}: {ops}"),
            ("parameters", f"{self.n_parameters:,} in {self.n_initializers} initializers"),
            ("metadata", ", ".join(f"{k}={v}" for k, v in self.metadata.items()) or "–"),
            ("onnx.checker", "ok" if self.checker_ok else f"FAILED: {self.checker_message}"),
            ("shape inference", "ok" if self.shape_inference_ok else f"FAILED: {self.shape_inference_message}"),
        ]
        return Table([{"property": k, "value": v} for k, v in rows], title="ONNX model summary")

    def _repr_markdown_(self) -> str:
        return self.table().to_markdown()

    def __str__(self) -> str:
        return self.table().to_text()


def load_model(model: Any, load_external_data: bool = True) -> Any:
    """Load and validate an ONNX model (path, bytes or ``ModelProto``): the workbook's one model loader.

    Every helper that takes a model goes through here (inspect, verify, runtime, visualize), so one
    problem gets one error: :class:`NotAnOnnxModelError` ("<file> is not a valid ONNX model: <what>,
    at <where>") for an empty, truncated or foreign file, a folder, an unknown element type, a name that
    is not UTF-8, tensor data that does not match its dims, or missing external data; and
    ``FileNotFoundError`` when nothing is at the path. The graph's *semantics* are not judged here
    (that is ``onnx.checker``'s job, reported by :func:`summarize_model`).

    load_external_data: also read weights stored in separate files into the proto (they are checked
    for presence and size either way).

    >>> load_model(b"not onnx")
    Traceback (most recent call last):
    ...
    helpers.inspect.NotAnOnnxModelError: the given bytes is not a valid ONNX model: ...
    """
    import onnx
    from google.protobuf.message import DecodeError

    folder: Path | None = None
    if hasattr(model, "graph"):
        validate_model(model, "the given ModelProto")
        return model
    if isinstance(model, (bytes, bytearray)):
        data, where = bytes(model), "the given bytes"
    else:
        path = Path(model)
        if path.is_dir():
            raise NotAnOnnxModelError(
                f"{path} is not a valid ONNX model: it is a folder, at the path itself. "
                f"Pass the .onnx file inside it ({', '.join(sorted(p.name for p in path.glob('*.onnx'))[:5]) or 'none'})."
            )
        if not path.is_file():
            raise FileNotFoundError(f"No ONNX file at {path}; run the export step first (the notebook or command that writes it).")
        data, where, folder = path.read_bytes(), str(path), path.parent
    if not data:
        raise NotAnOnnxModelError(f"{where} is not a valid ONNX model: the file is empty, at byte 0; re-export the model.")
    try:
        proto = onnx.load_from_string(data)
    except (DecodeError, RuntimeError, ValueError) as err:
        raise NotAnOnnxModelError(
            f"{where} is not a valid ONNX model: it does not parse as an ONNX protobuf ({type(err).__name__}: "
            f"{str(err)[:200]}), at byte 0 of {len(data)}; it may be truncated or another format. Re-export it, "
            "or check that you opened the .onnx file."
        ) from err
    if not proto.graph.node and not proto.graph.output:
        raise NotAnOnnxModelError(
            f"{where} is not a valid ONNX model: it parsed, but holds no graph, at ModelProto.graph. "
            "It is another protobuf or another format."
        )
    validate_model(proto, where, folder)
    if load_external_data and folder is not None:
        from onnx.external_data_helper import load_external_data_for_model, uses_external_data

        if any(uses_external_data(t) for t in proto.graph.initializer):
            load_external_data_for_model(proto, str(folder))
    return proto


_CHECKED: dict[tuple[str, int, int], None] = {}  # files found valid: (path, size, modification time)


def ensure_valid_model(model: Any) -> None:
    """Raise as :func:`load_model` does unless ``model`` (path, bytes or ``ModelProto``) is a valid model.

    For code that hands the model to ONNX Runtime itself (``helpers.runtime.make_session``,
    ``helpers.verify.run_onnx``): the file gets the workbook's clear error instead of ONNX Runtime's
    raw ``InvalidProtobuf``. A file found valid is not read again until its size or modification time
    changes, so a loop that opens many sessions of one large model pays once.

    >>> ensure_valid_model(b"")
    Traceback (most recent call last):
    ...
    helpers.inspect.NotAnOnnxModelError: the given bytes is not a valid ONNX model: the file is empty, at byte 0; ...
    """
    if not isinstance(model, (str, os.PathLike)):
        load_model(model, load_external_data=False)
        return
    path = Path(model)
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns) if path.is_file() else None
    except OSError:
        key = None
    if key is not None and key in _CHECKED:
        return
    load_model(path, load_external_data=False)
    if key is not None:
        if len(_CHECKED) > 512:
            _CHECKED.clear()
        _CHECKED[key] = None


# Bytes per element of each ONNX element type, as raw_data stores them; sub-byte types as fractions.
_ELEMENT_BITS = {1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64, 14: 64,
                 15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4, 24: 8, 25: 2, 26: 2}
# Which typed field holds the values of each element type, and how many numbers per element.
_TYPED_FIELD = {1: ("float_data", 1), 11: ("double_data", 1), 7: ("int64_data", 1), 8: ("string_data", 1),
                14: ("float_data", 2), 15: ("double_data", 2), 12: ("uint64_data", 1), 13: ("uint64_data", 1),
                **{t: ("int32_data", 1) for t in (2, 3, 4, 5, 6, 9, 10, 16, 17, 18, 19, 20, 24)}}
_MAX_ELEMENTS = 2**62  # beyond this, numpy cannot even describe the array


def _invalid(where: str, what: str, at: str, fix: str = "Re-export the model, or fix the tool that wrote it.") -> \
        NotAnOnnxModelError:
    return NotAnOnnxModelError(f"{where} is not a valid ONNX model: {what}, at {at}. {fix}")


def _repeated(fd: Any) -> bool:
    """Whether a protobuf field is repeated (``is_repeated`` since protobuf 6; ``label`` before, e.g. the
    legacy kernel's 5.29)."""
    flag = getattr(fd, "is_repeated", None)
    return bool(flag) if flag is not None else fd.label == fd.LABEL_REPEATED


def validate_model(proto: Any, where: str = "the model", folder: Path | None = None) -> None:
    """Check what every reader of a ``ModelProto`` assumes, or raise :class:`NotAnOnnxModelError`.

    Element types are ones ONNX defines; every text field is valid UTF-8; every tensor's data matches
    its dims (no negative or overflowing dims, raw and typed data of the right size); external data
    files exist beside the model (``folder``) and are long enough. The error names the field, e.g.
    ``graph.node[0].op_type``.

    >>> import onnx
    >>> model = onnx.helper.make_model(onnx.helper.make_graph([], "g", [], []))
    >>> _ = model.graph.initializer.add(name="w", data_type=99, dims=[1])
    >>> validate_model(model)
    Traceback (most recent call last):
    ...
    helpers.inspect.NotAnOnnxModelError: the model is not a valid ONNX model: tensor 'w' has element type 99, ...
    """
    import onnx
    from google.protobuf.descriptor import FieldDescriptor

    known_types = set(onnx.TensorProto.DataType.values())

    def check_tensor(t: Any, at: str) -> None:
        if t.data_type not in known_types or t.data_type == 0:
            raise _invalid(where, f"tensor {t.name!r} has element type {t.data_type}, which ONNX does not define", at)
        if any(d < 0 for d in t.dims):
            raise _invalid(where, f"tensor {t.name!r} has a negative dimension {list(t.dims)}", at)
        n = 1
        for d in t.dims:
            n *= d
        if n > _MAX_ELEMENTS:
            raise _invalid(where, f"tensor {t.name!r} has dims {list(t.dims)}, {n} elements: the dims overflow", at)
        bits = _ELEMENT_BITS.get(t.data_type)
        if t.data_location == onnx.TensorProto.EXTERNAL:
            check_external(t, at, None if bits is None else (n * bits + 7) // 8)
            return
        if t.HasField("raw_data"):
            size = len(t.raw_data) if bits is not None else 0
            if bits is not None and size != (n * bits + 7) // 8:
                raise _invalid(where, f"tensor {t.name!r} holds {size} bytes of raw data, but its dims "
                               f"{list(t.dims)} and type {onnx.TensorProto.DataType.Name(t.data_type)} need "
                               f"{(n * bits + 7) // 8}", at)
            return
        field_name, per = _TYPED_FIELD.get(t.data_type, (None, 1))
        if field_name is not None:
            count = len(getattr(t, field_name))
            if count != n * per:
                raise _invalid(where, f"tensor {t.name!r} holds {count} values in {field_name}, but its dims "
                               f"{list(t.dims)} need {n * per}", at)

    def check_external(t: Any, at: str, need: int | None) -> None:
        info = {e.key: e.value for e in t.external_data}
        location = info.get("location", "")
        if folder is None:
            return  # in memory: no folder to read from
        file = external_data_path(folder, location, t.name, where, at)  # refuses an escape before any file access
        if not file.is_file():
            raise _invalid(where, f"the external data file {location!r} of tensor {t.name!r} is missing", at,
                           f"Copy {location} next to the .onnx file (a model saved with external data is two files).")
        length = int(info["length"]) if info.get("length", "").isdigit() else need
        offset = int(info["offset"]) if info.get("offset", "").isdigit() else 0
        if length is not None and offset + length > file.stat().st_size:
            raise _invalid(where, f"the external data file {location!r} holds {file.stat().st_size} bytes, but "
                           f"tensor {t.name!r} needs bytes {offset} to {offset + length}", at,
                           f"The file {location} is truncated or from another export: copy both files again.")

    def check_type(tp: Any, at: str) -> None:
        kind = tp.WhichOneof("value")
        if kind in ("tensor_type", "sparse_tensor_type"):
            elem = getattr(tp, kind).elem_type
            if elem not in known_types:
                raise _invalid(where, f"element type {elem}, which ONNX does not define", at)
        elif kind in ("sequence_type", "optional_type"):
            check_type(getattr(tp, kind).elem_type, f"{at}.{kind}")
        elif kind == "map_type":
            if tp.map_type.key_type not in known_types:
                raise _invalid(where, f"map key type {tp.map_type.key_type}, which ONNX does not define", at)
            check_type(tp.map_type.value_type, f"{at}.map_type.value_type")

    walked = (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_MESSAGE)
    # Per message type, the fields worth walking: text and sub-messages (never raw_data, which ListFields
    # would copy: a large model's weights).
    fields_of: dict[str, list[Any]] = {}

    def walk(msg: Any, at: str) -> None:
        desc = msg.DESCRIPTOR
        if desc.full_name == "onnx.TensorProto":
            check_tensor(msg, at)
        elif desc.full_name == "onnx.TypeProto":
            check_type(msg, at)
            return
        fields = fields_of.get(desc.full_name)
        if fields is None:
            fields = fields_of[desc.full_name] = [(fd, _repeated(fd)) for fd in desc.fields if fd.type in walked]
        for fd, repeated in fields:
            value = getattr(msg, fd.name)
            if repeated:
                if not len(value):
                    continue
            elif fd.type == FieldDescriptor.TYPE_MESSAGE and not msg.HasField(fd.name):
                continue
            here = f"{at}.{fd.name}" if at else fd.name
            items = list(enumerate(value)) if repeated else [(None, value)]
            for i, item in items:
                spot = here if i is None else f"{here}[{i}]"
                if fd.type == FieldDescriptor.TYPE_STRING and not isinstance(item, str):
                    raise _invalid(where, f"the text {bytes(item)[:40]!r} is not valid UTF-8", spot)
                if fd.type == FieldDescriptor.TYPE_MESSAGE:
                    walk(item, spot)

    walk(proto, "")


def _tensor_info(value_info: Any) -> TensorInfo:
    import onnx

    t = value_info.type
    if t.HasField("tensor_type"):
        elem = t.tensor_type.elem_type
        try:
            dtype = onnx.helper.tensor_dtype_to_np_dtype(elem).name if elem else "?"
        except (KeyError, ValueError):  # a type numpy has no dtype for (e.g. float8): ONNX's own name
            dtype = onnx.TensorProto.DataType.Name(elem).lower() if elem in onnx.TensorProto.DataType.values() else "?"
        shape: list[int | str] = [
            d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.tensor_type.shape.dim
        ]
        return TensorInfo(value_info.name, dtype, shape)
    kind = t.WhichOneof("value")
    return TensorInfo(value_info.name, kind or "?", [])


def external_data_path(folder: Path, location: str, tensor: str = "?", where: str = "the model",
                       at: str = "its external_data") -> Path:
    """``folder / location`` for a tensor's external data, or :class:`ExternalDataOutsideError` when the location
    is empty, absolute, has a ``..`` part, or resolves (through symbolic links) outside ``folder``. The check
    reads no file: only the path and the links on it, as ONNX Runtime checks before it opens anything."""
    fix = ("ONNX Runtime refuses it too. Keep the data file inside the model's folder and name it relatively "
           "(onnx.save(model, path, save_as_external_data=True, location='model.onnx.data')).")
    text = location.replace("\\", "/")
    if not location:
        raise _invalid(where, f"tensor {tensor!r} stores its data externally but names no location", at, fix)
    if Path(text).is_absolute() or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise ExternalDataOutsideError(f"{where} is not a valid ONNX model: tensor {tensor!r} names the absolute "
                                       f"external data location {location[:200]!r}, at {at}. {fix}")
    if ".." in Path(text).parts:
        raise ExternalDataOutsideError(f"{where} is not a valid ONNX model: tensor {tensor!r} names the external "
                                       f"data location {location[:200]!r}, which leaves the model's folder, at {at}. "
                                       f"{fix}")
    root = Path(os.path.realpath(folder))
    target = Path(os.path.realpath(folder / text))
    if target != root and root not in target.parents:
        raise ExternalDataOutsideError(f"{where} is not a valid ONNX model: tensor {tensor!r} names the external "
                                       f"data location {location[:200]!r}, a symbolic link that leads outside the "
                                       f"model's folder, at {at}. {fix}")
    return folder / text


def _tensors(msg: Any, at: str = "") -> Any:
    """Every TensorProto inside ``msg`` (initializers, node attributes, subgraphs, functions), with its place."""
    from google.protobuf.descriptor import FieldDescriptor

    if msg.DESCRIPTOR.full_name == "onnx.TensorProto":
        yield msg, at
        return
    if msg.DESCRIPTOR.full_name in ("onnx.TypeProto", "onnx.ValueInfoProto"):
        return  # no tensors inside
    for fd in msg.DESCRIPTOR.fields:
        if fd.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        here = f"{at}.{fd.name}" if at else fd.name
        if _repeated(fd):
            for i, item in enumerate(getattr(msg, fd.name)):
                yield from _tensors(item, f"{here}[{i}]")
        elif msg.HasField(fd.name):
            yield from _tensors(getattr(msg, fd.name), here)


def external_data_files(model: Any, folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """The external-data files a model references, each once, in order: the workbook's one walker of external
    data (``summarize_model``, ``export.model_files``, ``quantization.file_size_mb`` and ``validate_model`` use it).

    model: an ``.onnx`` path (its folder is the model's folder) or a ``ModelProto`` with ``folder``.
    Every location is checked to stay inside the model's folder before any file is touched
    (:class:`ExternalDataOutsideError`); files that do not exist are listed too (the caller decides).

    >>> import onnx
    >>> model = onnx.helper.make_model(onnx.helper.make_graph([], "g", [], []))
    >>> t = model.graph.initializer.add(name="w", data_type=1, dims=[1], data_location=onnx.TensorProto.EXTERNAL)
    >>> _ = t.external_data.add(key="location", value="../secret.bin")
    >>> external_data_files(model, "models")
    Traceback (most recent call last):
    ...
    helpers.inspect.ExternalDataOutsideError: the model is not a valid ONNX model: tensor 'w' names the external data location '../secret.bin', which leaves the model's folder, ...
    """
    import onnx

    if hasattr(model, "graph"):
        proto, where = model, "the model"
        if folder is None:
            raise ValueError("Pass folder=... (the model's folder) with a ModelProto.")
    else:
        path = Path(model)
        proto = onnx.load(str(path), load_external_data=False)
        where, folder = str(path), folder if folder is not None else path.parent
    folder = Path(folder)
    files: dict[Path, None] = {}
    for t, at in _tensors(proto):
        if t.data_location == onnx.TensorProto.EXTERNAL:
            location = next((e.value for e in t.external_data if e.key == "location"), "")
            files[external_data_path(folder, location, t.name, where, at)] = None
    return list(files)


def _external_bytes(proto: Any, folder: Path | None) -> int:
    if folder is None:
        return 0
    return sum(f.stat().st_size for f in external_data_files(proto, folder) if f.is_file())


def summarize_model(model: str | os.PathLike[str] | bytes | Any) -> ModelSummary:
    """Summarize an ONNX model (path, bytes or ``ModelProto``); runs the checker and shape inference.

    Never raises for an invalid graph: the checker's and shape inference's
    errors are reported in the summary. A file that is not ONNX at all raises
    :class:`NotAnOnnxModelError`.
    """
    import numpy as np
    import onnx

    path = None if hasattr(model, "graph") or isinstance(model, (bytes, bytearray)) else Path(model)
    proto = load_model(model, load_external_data=False)
    size = path.stat().st_size if path else proto.ByteSize()
    try:
        onnx.checker.check_model(str(path) if path else proto, full_check=False)
        checker_ok, checker_msg = True, ""
    except Exception as err:  # onnx raises several types here
        checker_ok, checker_msg = False, str(err).strip().splitlines()[0][:300]
    try:
        inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
        shape_ok, shape_msg, n_vi = True, "", len(inferred.graph.value_info)
    except Exception as err:
        shape_ok, shape_msg, n_vi = False, str(err).strip().splitlines()[0][:300], 0
    init_names = {t.name for t in proto.graph.initializer}
    return ModelSummary(
        path=str(path) if path else None,
        size_bytes=size,
        external_data_bytes=_external_bytes(proto, path.parent if path else None),
        ir_version=proto.ir_version,
        opsets={o.domain: o.version for o in proto.opset_import},
        producer=f"{proto.producer_name} {proto.producer_version}".strip(),
        graph_name=proto.graph.name,
        doc_string=proto.doc_string or proto.graph.doc_string,
        inputs=[_tensor_info(v) for v in proto.graph.input if v.name not in init_names],
        outputs=[_tensor_info(v) for v in proto.graph.output],
        operators=dict(Counter(n.op_type if not n.domain else f"{n.domain}.{n.op_type}" for n in proto.graph.node)),
        n_initializers=len(proto.graph.initializer),
        n_parameters=int(sum(int(np.prod(t.dims)) for t in proto.graph.initializer)),
        metadata={p.key: p.value for p in proto.metadata_props},
        checker_ok=checker_ok,
        checker_message=checker_msg,
        shape_inference_ok=shape_ok,
        shape_inference_message=shape_msg,
        inferred_value_infos=n_vi,
    )
