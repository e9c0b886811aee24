"""Load, check, size and summarize ONNX files: the workbook's one model loader.

Notebooks 01 and 10-21 show :func:`summarize_model`, notebook 32 :func:`file_size_mb`; every helper that takes a
model loads it through :func:`load_model`, so a broken file gets one clear error.
"""

from __future__ import annotations

import functools
import math
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.report import Table


class NotAnOnnxModelError(ValueError):
    """Not a valid ONNX model; the message reads "<file> is not a valid ONNX model: <what>, at <where>. <fix>"."""


class ExternalDataOutsideError(NotAnOnnxModelError):
    """A tensor's external data location leaves the model's folder (absolute, ``..``, or a symbolic link)."""


@dataclass
class TensorInfo:
    """A graph input or output: name, element type, shape (symbolic dims by name, unknown as ``?``)."""

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

    @property
    def n_nodes(self) -> int:
        """The number of nodes in the main graph."""
        return sum(self.operators.values())

    def table(self) -> Table:
        """The summary as a two-column table (property, value)."""
        ops = ", ".join(f"{k}×{v}" for k, v in Counter(self.operators).most_common())
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
    """Load and validate an ONNX model (path, bytes or ``ModelProto``), or raise :class:`NotAnOnnxModelError`.

    Checks the file as :func:`validate_model` does (``FileNotFoundError`` when nothing is at the path).
    load_external_data: read external weights into the proto.

    >>> load_model(b"not onnx")
    Traceback (most recent call last):
    ...
    helpers.inspect.NotAnOnnxModelError: the given bytes is not a valid ONNX model: it does not parse ...
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
            inside = ", ".join(sorted(p.name for p in path.glob("*.onnx"))[:5]) or "none"
            raise _invalid(str(path), "it is a folder", "the path itself", f"Pass the .onnx file inside it ({inside}).")
        if not path.is_file():
            raise FileNotFoundError(f"No ONNX file at {path}; run the export step first (the notebook or command that writes it).")
        data, where, folder = path.read_bytes(), str(path), path.parent
    if not data:
        raise _invalid(where, "the file is empty", "byte 0")
    try:
        proto = onnx.load_from_string(data)
    except (DecodeError, RuntimeError, ValueError) as err:
        raise _invalid(where, f"it does not parse as an ONNX protobuf ({type(err).__name__}: {str(err)[:200]})",
                       f"byte 0 of {len(data)}", "It may be truncated or another format: re-export it, or check "
                       "that you opened the .onnx file.") from err
    if not proto.graph.node and not proto.graph.output:
        raise _invalid(where, "it parsed, but holds no graph", "ModelProto.graph", "It is another protobuf or format.")
    validate_model(proto, where, folder)
    if load_external_data and folder is not None:
        from onnx.external_data_helper import load_external_data_for_model

        load_external_data_for_model(proto, str(folder))
    return proto


def ensure_valid_model(model: Any) -> None:
    """Raise as :func:`load_model` does unless ``model`` is valid; for code that hands it to ONNX Runtime itself.

    A file found valid is not read again until its size or modification time changes.
    """
    if isinstance(model, (str, os.PathLike)) and Path(model).is_file():
        st = Path(model).stat()
        _valid_file(str(model), str(Path(model).resolve()), st.st_size, st.st_mtime_ns)
    else:
        load_model(model, load_external_data=False)


@functools.lru_cache(maxsize=512)
def _valid_file(path: str, resolved: str, size: int, mtime_ns: int) -> None:
    """Cached by file, size and modification time (a raised error is not cached)."""
    load_model(path, load_external_data=False)


def _invalid(where: str, what: str, at: str, fix: str = "Re-export the model, or fix the tool that wrote it.") -> \
        NotAnOnnxModelError:
    return NotAnOnnxModelError(f"{where} is not a valid ONNX model: {what}, at {at}. {fix}")


@functools.lru_cache(maxsize=None)
def _walked_fields(desc: Any) -> list[tuple[Any, bool]]:
    """A message type's text and sub-message fields (never raw_data: a large model's weights), and whether each is
    repeated (``is_repeated`` since protobuf 6, ``label`` in the legacy kernel's 5)."""
    fields = [fd for fd in desc.fields if fd.type in (fd.TYPE_STRING, fd.TYPE_MESSAGE)]
    return [(fd, fd.is_repeated if hasattr(fd, "is_repeated") else fd.label == fd.LABEL_REPEATED) for fd in fields]


def _walk(msg: Any, at: str = "") -> Iterator[tuple[Any, str]]:
    """Every message inside ``msg`` with its place (``graph.node[0]``), and every text that is not UTF-8 (as bytes)."""
    yield msg, at
    for fd, repeated in _walked_fields(msg.DESCRIPTOR):
        if not repeated and fd.type == fd.TYPE_MESSAGE and not msg.HasField(fd.name):
            continue
        value = getattr(msg, fd.name)
        items = enumerate(value) if repeated else [(None, value)]
        for i, item in items:
            spot = f"{at}.{fd.name}".lstrip(".") + ("" if i is None else f"[{i}]")
            if fd.type == fd.TYPE_MESSAGE:
                yield from _walk(item, spot)
            elif not isinstance(item, str):
                yield bytes(item), spot


#: The field holding the element type, by message type.
_ELEMENT_FIELD = {"onnx.TensorProto": "data_type", "onnx.TypeProto.Tensor": "elem_type",
                  "onnx.TypeProto.SparseTensor": "elem_type", "onnx.TypeProto.Map": "key_type"}


def validate_model(proto: Any, where: str = "the model", folder: Path | None = None) -> None:
    """Check what every reader of a ``ModelProto`` assumes, or raise :class:`NotAnOnnxModelError` naming the field.

    Text in UTF-8, element types ONNX defines, tensor data that fits its dims (``onnx.checker.check_tensor``),
    and external data files inside the model's ``folder`` and long enough. The graph's meaning is left to
    ``onnx.checker.check_model``, which :func:`summarize_model` reports.
    """
    import onnx

    known_types = set(onnx.TensorProto.DataType.values())
    for item, at in _walk(proto):
        if isinstance(item, bytes):
            raise _invalid(where, f"the text {item[:40]!r} is not valid UTF-8", at)
        kind = item.DESCRIPTOR.full_name
        field = _ELEMENT_FIELD.get(kind)
        if field and getattr(item, field) not in known_types:
            raise _invalid(where, f"element type {getattr(item, field)}, which ONNX does not define", at)
        if kind != "onnx.TensorProto":
            continue
        if item.data_location == onnx.TensorProto.EXTERNAL:
            if folder is not None:  # in memory: no folder to read from
                _check_external(item, folder, where, at)
            continue
        try:
            onnx.checker.check_tensor(item)
        except onnx.checker.ValidationError as err:
            raise _invalid(where, str(err).strip().rstrip("."), at) from err
        _check_tensor_size(item, where, at)  # what onnx < 1.19's check_tensor (the legacy kernel's 1.18) misses


def _check_tensor_size(t: Any, where: str, at: str) -> None:
    """Dims that multiply to more than 2**63 elements, or raw bytes that do not fill them (fixed-width types)."""
    import numpy as np
    from onnx import TensorProto as T
    from onnx.helper import tensor_dtype_to_np_dtype

    count = math.prod(t.dims)
    if count >= 2**63:
        raise _invalid(where, f"Tensor dimension product overflow (tensor name: {t.name})", at)  # onnx's words
    fixed = (T.FLOAT, T.DOUBLE, T.FLOAT16, T.BOOL, T.INT8, T.INT16, T.INT32, T.INT64, T.UINT8, T.UINT16, T.UINT32, T.UINT64)
    if t.raw_data and t.data_type in fixed:
        need = count * np.dtype(tensor_dtype_to_np_dtype(t.data_type)).itemsize
        if len(t.raw_data) < need:
            raise _invalid(where, f"raw_data size ({len(t.raw_data)} bytes) is too small for the declared shape and "
                           f"type ({need} bytes required)", at)


def _check_external(t: Any, folder: Path, where: str, at: str) -> None:
    """The tensor's external data file is inside ``folder``, exists, and holds the bytes it names."""
    info = {e.key: e.value for e in t.external_data}
    location = info.get("location", "")
    file = _external_data_path(folder, location, t.name, where, at)  # refuses an escape before any file access
    if not file.is_file():
        raise _invalid(where, f"the external data file {location!r} of tensor {t.name!r} is missing", at,
                       f"Copy {location} next to the .onnx file (a model saved with external data is two files).")
    end = int(info.get("offset") or 0) + int(info.get("length") or 0)
    if end > file.stat().st_size:
        raise _invalid(where, f"the external data file {location!r} holds {file.stat().st_size} bytes, but "
                       f"tensor {t.name!r} needs {end}", at,
                       f"The file {location} is truncated or from another export: copy both files again.")


def _tensor_info(value_info: Any) -> TensorInfo:
    import onnx

    t = value_info.type
    if not t.HasField("tensor_type"):
        return TensorInfo(value_info.name, t.WhichOneof("value") or "?", [])
    try:
        dtype = onnx.helper.tensor_dtype_to_np_dtype(t.tensor_type.elem_type).name
    except (KeyError, ValueError):  # undefined, or a type numpy has no dtype for: ONNX's own name
        dtype = onnx.TensorProto.DataType.Name(t.tensor_type.elem_type).lower()
    dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.tensor_type.shape.dim]
    return TensorInfo(value_info.name, dtype, dims)


def _external_data_path(folder: Path, location: str, tensor: str, where: str, at: str) -> Path:
    """``folder / location``, or :class:`ExternalDataOutsideError` when it is absolute, has a ``..`` part or
    resolves outside ``folder``; reads no file, only the path and the links on it (as ONNX Runtime does)."""
    text, quoted = location.replace("\\", "/"), repr(location[:200])
    if not text:
        why = "stores its data externally but names no location"
    elif text.startswith("/") or text[1:2] == ":":
        why = f"names the absolute external data location {quoted}"
    elif ".." in Path(text).parts:
        why = f"names the external data location {quoted}, which leaves the model's folder"
    else:
        root, target = Path(os.path.realpath(folder)), Path(os.path.realpath(folder / text))
        if target == root or root in target.parents:
            return folder / text
        why = f"names the external data location {quoted}, a symbolic link that leads outside the model's folder"
    raise ExternalDataOutsideError(
        f"{where} is not a valid ONNX model: tensor {tensor!r} {why}, at {at}. ONNX Runtime refuses it too. Keep the "
        "data file inside the model's folder and name it relatively (onnx.save(model, path, "
        "save_as_external_data=True, location='model.onnx.data'))."
    )


def external_data_files(model: Any, folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """The external-data files a model references, each once, whether they exist or not.

    model: an ``.onnx`` path (its folder is the model's folder) or a ``ModelProto`` with ``folder``.
    Raises :class:`ExternalDataOutsideError` for a location outside the folder, before touching any file.
    """
    import onnx

    if hasattr(model, "graph"):
        if folder is None:
            raise ValueError("Pass folder=... (the model's folder) with a ModelProto.")
        proto, where = model, "the model"
    else:
        proto, where = onnx.load(str(model), load_external_data=False), str(model)
        folder = folder if folder is not None else Path(model).parent
    files: dict[Path, None] = {}
    for t, at in _walk(proto):
        if not isinstance(t, bytes) and t.DESCRIPTOR.full_name == "onnx.TensorProto" and \
                t.data_location == onnx.TensorProto.EXTERNAL:
            location = next((e.value for e in t.external_data if e.key == "location"), "")
            files[_external_data_path(Path(folder), location, t.name, where, at)] = None
    return list(files)


def file_size_mb(path: str | os.PathLike[str]) -> float:
    """Size of a file in MB (10^6 bytes); for an ``.onnx`` file, with the external-data files it references.

    >>> file_size_mb(__file__) < 1
    True
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No file at {path}.")
    return (path.stat().st_size + (_external_bytes(path) if path.suffix == ".onnx" else 0)) / 1e6


def _external_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in external_data_files(path) if f.is_file())


def _verdict(check: Any, *args: Any, **kwargs: Any) -> tuple[bool, str]:
    """(True, "") when ``check`` passes, else (False, the first line of its error)."""
    try:
        check(*args, **kwargs)
    except Exception as err:  # onnx raises several types here
        return False, str(err).strip().splitlines()[0][:300]
    return True, ""


def summarize_model(model: str | os.PathLike[str] | bytes | Any) -> ModelSummary:
    """Summarize an ONNX model (path, bytes or ``ModelProto``), with the checker's and shape inference's verdicts.

    An invalid graph is reported in the summary; a file that is not ONNX raises :class:`NotAnOnnxModelError`.
    """
    import numpy as np
    import onnx

    path = None if hasattr(model, "graph") or isinstance(model, (bytes, bytearray)) else Path(model)
    proto = load_model(model, load_external_data=False)
    checker_ok, checker_msg = _verdict(onnx.checker.check_model, str(path) if path else proto)
    shape_ok, shape_msg = _verdict(onnx.shape_inference.infer_shapes, proto, strict_mode=True)
    init_names = {t.name for t in proto.graph.initializer}
    return ModelSummary(
        path=str(path) if path else None,
        size_bytes=path.stat().st_size if path else proto.ByteSize(),
        external_data_bytes=_external_bytes(path) if path else 0,
        ir_version=proto.ir_version,
        opsets={o.domain: o.version for o in proto.opset_import},
        producer=f"{proto.producer_name} {proto.producer_version}".strip(),
        graph_name=proto.graph.name,
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
    )
