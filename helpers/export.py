"""Around an export: the files to ship, metadata, a quiet repeatable ``torch.onnx.export``, a workaround.

Notebooks 10 and 11 call ``torch.onnx.export`` and ``tf2onnx`` on screen first; notebook 20 and
``helpers.models`` repeat exports with :func:`export_torch`. Introduced in notebooks/10_export_pytorch.ipynb.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.inspect import external_data_files, load_model
from helpers.report import Table

PathLike = str | os.PathLike[str]


@dataclass
class ExportResult:
    """The exported model file, and the warnings the exporter gave."""

    path: Path
    warnings: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _quiet() -> Iterator[list[str]]:
    """Swallow printed output and log records below ERROR; yields the list the warnings are added to."""
    messages: list[str] = []
    with (warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()),
          contextlib.redirect_stderr(io.StringIO())):
        warnings.simplefilter("always")
        logging.disable(logging.WARNING)
        try:
            yield messages
        finally:
            logging.disable(logging.NOTSET)
            messages.extend(dict.fromkeys(
                f"{w.category.__name__}: {str(w.message).strip().splitlines()[0][:200]}" for w in caught))


def export_torch(
    model: Any,
    args: Any,
    path: PathLike,
    *,
    dynamo: bool = True,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    opset: int | None = None,
    external_data: bool = True,
) -> ExportResult:
    """``torch.onnx.export`` with a dynamic batch, its messages kept out of the notebook (they are in the result).

    args: an example input tensor, or a tuple of them (the batch is dimension 0, named ``batch``).
    dynamo: the torch.export-based exporter, or (``False``) the deprecated TorchScript-based one.
    input_names, output_names: default ``input_0``, ``output_0``, ...
    external_data: the dynamo exporter writes weights to ``<file>.data`` unless False.

    Example::

        export_torch(torch.nn.Linear(4, 2), torch.zeros(2, 4), "lin.onnx")
        # ExportResult(path=PosixPath('lin.onnx'), warnings=[])
    """
    import torch

    tensors = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    if not all(isinstance(t, torch.Tensor) for t in tensors):
        raise TypeError("args must be a tensor or a tuple of tensors; wrap other arguments in the module.")
    if dynamo and any(t.ndim and t.shape[0] == 1 for t in tensors):
        raise ValueError("The example batch has size 1, and torch.export specializes size-1 dimensions to a constant. "
                         "Pass an example with a batch of 2 or more (e.g. torch.zeros(2, ...)) to get a dynamic batch.")
    model.eval()
    with torch.no_grad():
        sample = model(*tensors)
    n_out = 1 if isinstance(sample, torch.Tensor) else len(sample)
    in_names = list(input_names) if input_names else [f"input_{i}" for i in range(len(tensors))]
    out_names = list(output_names) if output_names else [f"output_{i}" for i in range(n_out)]
    if len(in_names) != len(tensors) or len(out_names) != n_out:
        raise ValueError(f"The model takes {len(tensors)} inputs and gives {n_out} outputs, but {len(in_names)} input names "
                         f"and {len(out_names)} output names were given; pass one name each.")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, target.with_name(target.name + ".data")):
        stale.unlink(missing_ok=True)  # a leftover .data file would confuse whoever ships the folder
    if dynamo:
        options = {"external_data": external_data, "verbose": False,
                   "dynamic_shapes": tuple({0: torch.export.Dim("batch")} for _ in tensors)}
    else:
        options = {"dynamic_axes": {name: {0: "batch"} for name in in_names + out_names}}
    with _quiet() as messages:
        torch.onnx.export(model, tensors, str(target), dynamo=dynamo, input_names=in_names, output_names=out_names,
                          opset_version=opset, **options)
    return ExportResult(target, messages)


def export_error_summary(err: BaseException) -> str:
    """One line naming an export error's chain and its root cause's message.

    >>> try:
    ...     raise KeyError("keras_tensor_7")
    ... except KeyError as e:
    ...     export_error_summary(e)
    "KeyError: 'keras_tensor_7'"
    """
    chain = [err]
    while (chain[-1].__cause__ or chain[-1].__context__) is not None and len(chain) < 10:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)  # type: ignore[arg-type]
    root = chain[-1]
    if isinstance(root, KeyError) and root.args:
        message = repr(root.args[0])  # str() of a KeyError is already quoted
    else:
        message = next((line.strip() for line in str(root).splitlines() if line.strip()), "")
    names = " <- ".join(dict.fromkeys(type(e).__name__ for e in chain))
    return f"{names}: {message[:300]}"


def set_metadata(path: PathLike, *, description: str | None = None, props: Mapping[str, Any] | None = None) -> \
        dict[str, Any]:
    """Stamp a description and metadata props into an ONNX file in place (not its external data); returns
    :func:`read_metadata`.

    props: merged into ``metadata_props``; values that are not strings are stored as JSON.

    Example::

        set_metadata("cnn.onnx", description="digits CNN", props={"labels": list("0123456789")})
    """
    import onnx

    if not all(isinstance(key, str) and key for key in props or {}):
        raise ValueError(f"Metadata keys must be non-empty strings, got {list(props or {})}.")
    proto = load_model(path, load_external_data=False)
    merged = {p.key: p.value for p in proto.metadata_props}
    merged.update({key: value if isinstance(value, str) else json.dumps(value) for key, value in (props or {}).items()})
    onnx.helper.set_model_props(proto, merged)
    if description is not None:
        proto.doc_string = description
    onnx.save(proto, str(path))  # initializers keep pointing at the unchanged .data file
    return read_metadata(proto)


def read_metadata(model: Any) -> dict[str, Any]:
    """The model's (path or ``ModelProto``) producer, description, model version and metadata props."""
    proto = load_model(model, load_external_data=False)
    return {
        "producer": f"{proto.producer_name} {proto.producer_version}".strip(),
        "description": proto.doc_string,
        "model_version": proto.model_version,
        "props": {p.key: p.value for p in proto.metadata_props},
    }


def model_files(path: PathLike) -> list[Path]:
    """The ONNX file and the external-data files it references: the files to ship together."""
    target = Path(path)
    if not target.is_file():
        raise FileNotFoundError(f"No ONNX file at {target}; export the model first.")
    files = [target]
    for data in external_data_files(target):  # refuses a location outside the model's folder
        if not data.is_file():
            location = data.relative_to(target.parent)
            raise FileNotFoundError(f"{target.name} keeps its weights in {location}, which is not in {target.parent}; "
                                    "copy the .data file next to the .onnx file (they ship together).")
        files.append(data)
    return files


def artifact_sizes(artifacts: Mapping[str, PathLike]) -> Table:
    """A table of artifacts (label -> file or folder): the files each consists of and their sizes."""
    rows = []
    for label, raw in artifacts.items():
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"{label}: nothing at {path}; create the artifact first.")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
        else:
            files = model_files(path) if path.suffix == ".onnx" else [path]
        sizes = [p.stat().st_size for p in files]
        shown = " + ".join(p.name for p in files) if len(files) <= 3 else f"{path.name}/ ({len(files)} files)"
        rows.append({"artifact": label, "files": shown, "KiB": sum(sizes) / 1024,
                     "external data KiB": sum(sizes[1:]) / 1024 if path.suffix == ".onnx" else None})
    return Table(rows, title="Artifacts and their sizes")


#: Reduce operators that gained ``noop_with_empty_axes`` (and ``axes`` as an input) at opset 18.
REDUCE_OPS = ("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
              "ReduceMin", "ReduceProd", "ReduceSumSquare")


def drop_noop_with_empty_axes(model: Any) -> int:
    """Remove ``noop_with_empty_axes=0`` from the Reduce nodes of a model converted below opset 18, in place;
    returns how many.

    ``onnx.version_converter`` leaves the opset-18 attribute on the node, and the checker and ONNX Runtime
    refuse it; the value 0 changes nothing an older Reduce does, so removing it is exact (1 raises ``ValueError``).
    """
    from helpers.opset import opset_of

    opset = opset_of(model, default=None)
    if opset is None or opset >= 18:
        raise ValueError(f"The model declares ai.onnx opset {opset}; noop_with_empty_axes is valid from opset 18, "
                         "so there is nothing to drop.")
    graphs = [model.graph, *model.functions]
    dropped = 0
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            for attr in node.attribute:  # If and Loop bodies are graphs too
                graphs.extend([attr.g] if attr.HasField("g") else attr.graphs)
            attr = next((a for a in node.attribute if a.name == "noop_with_empty_axes"), None)
            if attr is None or node.op_type not in REDUCE_OPS or node.domain not in ("", "ai.onnx"):
                continue
            if attr.i != 0:
                raise ValueError(f"Node {node.name!r} ({node.op_type}) has noop_with_empty_axes=1, which opset "
                                 f"{opset} cannot express; keep the model at opset 18 or later.")
            node.attribute.remove(attr)
            dropped += 1
    return dropped
