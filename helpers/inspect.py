"""Summarize an ONNX file: versions, producer, inputs and outputs, operators, size, checks.

Introduced in notebooks/01_onnx_basics.ipynb.

>>> from helpers.inspect import summarize_model   # doctest: +SKIP
>>> summarize_model("build/models/basics/linear.onnx")   # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.report import Table

__all__ = ["TensorInfo", "ModelSummary", "summarize_model", "load_model", "NotAnOnnxModelError"]


class NotAnOnnxModelError(ValueError):
    """The file is not an ONNX model (wrong format, truncated, or empty)."""


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
    """Load an ONNX model from a path, bytes or a ``ModelProto`` with a clear error for non-ONNX files."""
    import onnx
    from google.protobuf.message import DecodeError

    if hasattr(model, "graph"):
        return model
    if isinstance(model, (bytes, bytearray)):
        data, where = bytes(model), "the given bytes"
    else:
        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(f"No ONNX file at {path}.")
        data, where = path.read_bytes(), str(path)
    if not data:
        raise NotAnOnnxModelError(f"{where} is empty; re-export the model.")
    try:
        proto = onnx.load_from_string(data)
    except (DecodeError, RuntimeError, ValueError) as err:
        raise NotAnOnnxModelError(
            f"{where} is not a valid ONNX model ({type(err).__name__}: {err}); it may be truncated or "
            "another format. Re-export it, or check that you opened the .onnx file."
        ) from err
    if not proto.graph.node and not proto.graph.output:
        raise NotAnOnnxModelError(f"{where} parsed, but holds no graph: it is not an ONNX model.")
    if load_external_data and not isinstance(model, (bytes, bytearray)):
        from onnx.external_data_helper import load_external_data_for_model, uses_external_data

        if any(uses_external_data(t) for t in proto.graph.initializer):
            load_external_data_for_model(proto, str(Path(model).parent))
    return proto


def _tensor_info(value_info: Any) -> TensorInfo:
    import onnx

    t = value_info.type
    if t.HasField("tensor_type"):
        dtype = onnx.helper.tensor_dtype_to_np_dtype(t.tensor_type.elem_type).name if t.tensor_type.elem_type else "?"
        shape: list[int | str] = [
            d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.tensor_type.shape.dim
        ]
        return TensorInfo(value_info.name, dtype, shape)
    kind = t.WhichOneof("value")
    return TensorInfo(value_info.name, kind or "?", [])


def _external_bytes(proto: Any, folder: Path | None) -> int:
    from onnx.external_data_helper import uses_external_data

    files = set()
    for t in proto.graph.initializer:
        if uses_external_data(t):
            files.update(e.value for e in t.external_data if e.key == "location")
    if folder is None:
        return 0
    return sum((folder / f).stat().st_size for f in files if (folder / f).exists())


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
