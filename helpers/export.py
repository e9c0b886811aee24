"""What a reader would not write for each export: the files to ship, a quiet repeatable export, a workaround.

Notebooks 10 and 11 call ``torch.onnx.export`` and ``tf2onnx.convert`` themselves, on screen; this module
keeps the plumbing around them: :func:`model_files` (the ``.onnx`` file and the external-data files it
refers to), :func:`artifact_sizes`, :func:`set_metadata` (``onnx.helper.set_model_props`` merged with the
props already there, values stored as JSON), :func:`export_error_summary` (an exception chain in one
line), :func:`export_torch` (the same ``torch.onnx.export`` call with the exporter's messages kept out of
the notebook, for the repeated exports after the first one is shown), and
:func:`drop_noop_with_empty_axes`, a workaround for the ONNX version converter's 18-to-17 Reduce adapter.
Introduced in notebooks/10_export_pytorch.ipynb.

Example::

    from helpers.export import model_files, set_metadata
    set_metadata("cnn.onnx", props={"labels": ["0", "1"]})
    model_files("cnn.onnx")   # cnn.onnx and cnn.onnx.data: ship both
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.report import Table

__all__ = [
    "ExportResult",
    "export_torch",
    "export_error_summary",
    "set_metadata",
    "read_metadata",
    "model_files",
    "artifact_sizes",
    "drop_noop_with_empty_axes",
    "REDUCE_OPS",
]

PathLike = str | os.PathLike[str]


@dataclass
class ExportResult:
    """What an export produced: the model file, the files to ship with it, and how the export went."""

    path: Path
    exporter: str
    seconds: float
    warnings: list[str] = field(default_factory=list)
    log: str = ""  # what the exporter printed (captured when quiet)

    @property
    def files(self) -> list[Path]:
        """The ``.onnx`` file and every external-data file it references: ship them together."""
        return model_files(self.path)

    @property
    def size_bytes(self) -> int:
        """The total size of :attr:`files` in bytes."""
        return sum(p.stat().st_size for p in self.files)

    @property
    def opset(self) -> int | None:
        """The model's ``ai.onnx`` opset."""
        from helpers.opset import opset_of

        return opset_of(self.path, default=None)


@contextlib.contextmanager
def _captured(quiet: bool, loggers: Sequence[str]) -> Iterator[tuple[list[str], io.StringIO]]:
    """Record warnings; when quiet, also swallow printed output and quiet the named loggers."""
    buffer = io.StringIO()
    levels = {name: logging.getLogger(name).level for name in loggers}
    with warnings.catch_warnings(record=True) as caught, contextlib.ExitStack() as stack:
        warnings.simplefilter("always")
        if quiet:
            stack.enter_context(contextlib.redirect_stdout(buffer))
            stack.enter_context(contextlib.redirect_stderr(buffer))
            for name in loggers:
                logging.getLogger(name).setLevel(logging.ERROR)
        messages: list[str] = []
        try:
            yield messages, buffer
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)
            seen: dict[str, None] = {}
            for w in caught:
                seen.setdefault(f"{w.category.__name__}: {str(w.message).strip().splitlines()[0][:200]}")
            messages.extend(seen)


def export_torch(
    model: Any,
    args: Any,
    path: PathLike,
    *,
    dynamo: bool = True,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_batch: bool = True,
    opset: int | None = None,
    external_data: bool = True,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    quiet: bool = True,
) -> ExportResult:
    """Export a PyTorch module with ``torch.onnx.export`` (either exporter); returns an :class:`ExportResult`.

    model: the ``torch.nn.Module``; it is put in eval mode first.
    args: an example input tensor, or a tuple of them (the batch is dimension 0).
    dynamo: ``True`` for the torch.export-based exporter (the default since PyTorch 2.9),
        ``False`` for the deprecated TorchScript-based one.
    input_names, output_names: names of the graph's inputs and outputs (default ``input_0``, ...).
    dynamic_batch: make dimension 0 of every input and output a symbolic ``batch``.
    opset: the ai.onnx opset (default: the exporter's own default).
    external_data: the dynamo exporter writes weights to ``<file>.data`` unless False.
    description, metadata: stamped into the file by :func:`set_metadata`.
    quiet: keep the exporter's progress messages out of the notebook (warnings are kept in the result).

    Export errors propagate unchanged; :func:`export_error_summary` turns one into a line.

    Example::

        export_torch(torch.nn.Linear(4, 2), torch.zeros(2, 4), "lin.onnx").files
        # [PosixPath('lin.onnx'), PosixPath('lin.onnx.data')]
    """
    import torch

    tensors = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    if not all(isinstance(t, torch.Tensor) for t in tensors):
        raise TypeError("args must be a tensor or a tuple of tensors; wrap other arguments in the module.")
    if dynamic_batch and dynamo and any(t.ndim and t.shape[0] == 1 for t in tensors):
        raise ValueError(
            "The example batch has size 1, and torch.export specializes size-1 dimensions to a constant. "
            "Pass an example with a batch of 2 or more (e.g. torch.zeros(2, ...)) to get a dynamic batch."
        )
    model.eval()
    with torch.no_grad():
        sample = model(*tensors)
    n_out = 1 if isinstance(sample, torch.Tensor) else len(sample)
    in_names = list(input_names) if input_names else [f"input_{i}" for i in range(len(tensors))]
    out_names = list(output_names) if output_names else [f"output_{i}" for i in range(n_out)]
    if len(in_names) != len(tensors) or len(out_names) != n_out:
        raise ValueError(
            f"The model takes {len(tensors)} inputs and gives {n_out} outputs, but {len(in_names)} input names "
            f"and {len(out_names)} output names were given; pass one name each."
        )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, target.with_name(target.name + ".data")):
        stale.unlink(missing_ok=True)  # a leftover .data file would confuse whoever ships the folder
    options: dict[str, Any] = {"input_names": in_names, "output_names": out_names, "opset_version": opset}
    if dynamo:
        options.update(dynamo=True, external_data=external_data, verbose=False)
        if dynamic_batch:
            options["dynamic_shapes"] = tuple({0: torch.export.Dim("batch")} for _ in tensors)
    else:
        options.update(dynamo=False)
        if dynamic_batch:
            options["dynamic_axes"] = {name: {0: "batch"} for name in in_names + out_names}
    start = time.perf_counter()
    with _captured(quiet, ["torch.onnx", "torch.export", "torch.fx", "torch._dynamo", "onnxscript"]) as (msgs, buf):
        torch.onnx.export(model, tensors, str(target), **options)
    result = ExportResult(target, f"torch.onnx.export(dynamo={dynamo})", time.perf_counter() - start, msgs,
                          buf.getvalue())
    if description or metadata:
        set_metadata(target, description=description, props=metadata)
    return result


def export_error_summary(err: BaseException) -> str:
    """One line naming an export error and its root cause, e.g. ``TorchExportError <- GuardOn...: Could not...``.

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


def set_metadata(
    path: PathLike,
    *,
    description: str | None = None,
    props: Mapping[str, Any] | None = None,
    producer: str | None = None,
    model_version: int | None = None,
) -> dict[str, Any]:
    """Stamp a description and metadata props into an ONNX file in place; returns :func:`read_metadata`.

    props: ``{key: value}`` added to the model's ``metadata_props`` (existing keys are replaced, others
        kept); strings stay as they are, other values (lists of class labels, numbers) are stored as JSON.
    producer: overrides ``producer_name`` (normally the exporter's own name: keep it, it tells the truth).

    Weights in an external-data file are left untouched: only the graph file is rewritten.

    Example::

        set_metadata("cnn.onnx", description="digits CNN", props={"labels": list("0123456789")})
    """
    import onnx

    target = Path(path)
    if not target.is_file():
        raise FileNotFoundError(f"No ONNX file at {target}; export the model first.")
    proto = onnx.load(str(target), load_external_data=False)
    merged = {p.key: p.value for p in proto.metadata_props}
    for key, value in (props or {}).items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"Metadata keys must be non-empty strings, got {key!r}.")
        merged[key] = value if isinstance(value, str) else json.dumps(value)
    onnx.helper.set_model_props(proto, merged)
    if description is not None:
        proto.doc_string = description
    if producer is not None:
        proto.producer_name = producer
    if model_version is not None:
        proto.model_version = int(model_version)
    onnx.save(proto, str(target))  # initializers keep pointing at the unchanged .data file
    return read_metadata(target)


def read_metadata(path: PathLike) -> dict[str, Any]:
    """The model's producer, description, model version and metadata props, as ONNX Runtime also reports them."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return {
        "producer": f"{proto.producer_name} {proto.producer_version}".strip(),
        "description": proto.doc_string,
        "model_version": proto.model_version,
        "props": {p.key: p.value for p in proto.metadata_props},
    }


def model_files(path: PathLike) -> list[Path]:
    """The ONNX file followed by the external-data files it references (each once), which must ship with it."""
    from helpers.inspect import external_data_files

    target = Path(path)
    if not target.is_file():
        raise FileNotFoundError(f"No ONNX file at {target}; export the model first.")
    files = [target]
    for data in external_data_files(target):  # refuses a location outside the model's folder
        if not data.is_file():
            location = data.relative_to(target.parent)
            raise FileNotFoundError(
                f"{target.name} keeps its weights in {location}, which is not in {target.parent}; "
                "copy the .data file next to the .onnx file (they ship together)."
            )
        files.append(data)
    return files


def artifact_sizes(artifacts: Mapping[str, PathLike]) -> Table:
    """A table of artifacts (label -> file): the files each consists of and their sizes.

    ONNX files are listed with their external-data files; any other file (a ``.pt`` state_dict, a
    SavedModel folder) by itself.
    """
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


# ---------------------------------------------------------------- a workaround for opset < 18

#: Reduce operators that gained ``noop_with_empty_axes`` (and ``axes`` as an input) at opset 18.
REDUCE_OPS = ("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
              "ReduceMin", "ReduceProd", "ReduceSumSquare")


def drop_noop_with_empty_axes(model: Any) -> int:
    """Remove the opset-18 attribute ``noop_with_empty_axes=0`` from Reduce nodes of a model below opset 18; returns how many.

    ``onnx.version_converter.convert_version(model, 17)`` (which ``torch.onnx.export(..., dynamo=True,
    opset_version=17)`` also uses) moves ``axes`` back to an attribute but leaves ``noop_with_empty_axes``
    on the node, so the checker and ONNX Runtime refuse the model ("Unrecognized attribute:
    noop_with_empty_axes for operator ReduceMax"). With the value 0 (the default) the attribute changes
    nothing an opset-13 Reduce node does not already do, so removing it is exact; the value 1 has no
    equivalent below opset 18 and raises ``ValueError``. Edits ``model`` (a ``ModelProto``) in place.
    Introduced in notebooks/10_export_pytorch.ipynb.

    Example::

        drop_noop_with_empty_axes(onnx.version_converter.convert_version(model18, 17))
        # 1
    """
    from helpers.opset import opset_of

    opset = opset_of(model, default=None)
    if opset is None or opset >= 18:
        raise ValueError(f"The model declares ai.onnx opset {opset}; noop_with_empty_axes is valid from opset 18, "
                         "so there is nothing to drop.")
    graphs = [model.graph, *(f for f in model.functions)]
    dropped = 0
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            for attr in node.attribute:  # If and Loop bodies are graphs too
                graphs.extend([attr.g] if attr.HasField("g") else attr.graphs)
            if node.op_type not in REDUCE_OPS or node.domain not in ("", "ai.onnx"):
                continue
            for i, attr in enumerate(node.attribute):
                if attr.name != "noop_with_empty_axes":
                    continue
                if attr.i != 0:
                    raise ValueError(f"Node {node.name!r} ({node.op_type}) has noop_with_empty_axes=1, which opset "
                                     f"{opset} cannot express; keep the model at opset 18 or later.")
                del node.attribute[i]
                dropped += 1
                break
    return dropped
