"""Checks of the exercises of notebooks/18_export_mlnet.ipynb; reference solutions in exercises/solutions/18_export_mlnet.py."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Iterator  # noqa: UP035 (Python 3.8 kernel)

from exercises import exercise

_LABEL_OUTPUTS = ("PredictedLabel.output", "Score.output", "Probability.output")

def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7

def _fields(buf: bytes) -> Iterator[tuple[int, Any]]:
    """The (field number, value) pairs of one protobuf message (bytes for length-delimited fields)."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i:i + size], i + size
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"not an ONNX (protobuf) file: wire type {wire} before byte {i}")
        yield number, value

def onnx_summary(path: Any) -> dict[str, Any]:
    """IR version, opsets, node op types, graph input and output names of an ONNX file, without ``onnx``.

    For the mlnet kernel (no ``onnx`` package); reads ModelProto fields 1, 7, 8 and GraphProto 1, 11, 12.

    Example::

        onnx_summary("churn_fasttree.onnx")["opsets"]
        # {'ai.onnx.ml': 2, '': 11}
    """
    data = Path(path).read_bytes()
    summary: dict[str, Any] = {"ir_version": None, "opsets": {}, "ops": [], "inputs": [], "outputs": []}
    graph = b""
    for number, value in _fields(data):
        if number == 1:
            summary["ir_version"] = value
        elif number == 7:
            graph = value
        elif number == 8:
            opset = dict(_fields(value))
            summary["opsets"][opset.get(1, b"").decode()] = opset.get(2, 1)
    if not graph:
        raise ValueError(f"{path} has no graph: not an ONNX model file")
    for number, value in _fields(graph):
        if number == 1:
            summary["ops"].append(dict(_fields(value)).get(4, b"").decode())
        elif number in (11, 12):
            summary["inputs" if number == 11 else "outputs"].append(dict(_fields(value)).get(1, b"").decode())
    return summary

def _onnx_file(answer: Any, reference: Any = None) -> tuple[Any, str]:
    """(summary, "") for an answer that is an ONNX file other than ``reference``, else (None, hint)."""
    if answer is None or isinstance(answer, (bool, int, float)):
        return None, f"answer the path of the ONNX file you exported, not {answer!r}."
    path = Path(answer)
    if path.suffix != ".onnx" or not path.is_file():
        return None, f"{path} is not an .onnx file that exists: answer the path you passed to export_to_onnx."
    if reference is not None and (path.resolve() == Path(reference).resolve() or
                                  path.read_bytes() == Path(reference).read_bytes()):
        return None, "that is the notebook's own file (or a copy of it): export to a new path."
    try:
        return onnx_summary(path), ""
    except (ValueError, IndexError, UnicodeDecodeError) as err:
        return None, f"{path.name} does not read as an ONNX model ({err})."


@exercise("18.1", "train the churn pipeline with LogisticRegressionBinaryClassifier instead of FastTree, export it; answer the path")
def _check_linear_export(answer: Any, *, fasttree: Any) -> str | None:
    summary, hint = _onnx_file(answer, fasttree)
    if summary is None:
        return hint
    reference = onnx_summary(fasttree)
    if summary["inputs"] != reference["inputs"]:
        return f"the inputs are {summary['inputs']}, not the churn columns: train on the same columns and label."
    if any(op.startswith("TreeEnsemble") for op in summary["ops"]):
        return "this file still scores with trees (TreeEnsemble*): replace FastTreesBinaryClassifier in the pipeline."
    if "LinearRegressor" not in summary["ops"] and "LinearClassifier" not in summary["ops"]:
        return "no linear model in this graph: use nimbusml.linear_model.LogisticRegressionBinaryClassifier."
    missing = [o for o in _LABEL_OUTPUTS if o not in summary["outputs"]]
    if missing:
        return f"the outputs lack {missing}: export the fitted classifier pipeline, not one of its steps."
    return None


@exercise("18.2", "export the churn classifier with outputs_to_drop for the echoed columns; answer the path")
def _check_outputs_dropped(answer: Any, *, fasttree: Any) -> str | None:
    summary, hint = _onnx_file(answer, fasttree)
    if summary is None:
        return hint
    reference = onnx_summary(fasttree)
    if summary["inputs"] != reference["inputs"]:
        return "the inputs differ from the notebook's classifier: export the same pipeline."
    missing = [o for o in _LABEL_OUTPUTS if o not in summary["outputs"]]
    if missing:
        return f"you dropped the model's answer too ({missing}): drop only the columns echoed from the inputs."
    echoed = [f"{c}.output" for c in reference["inputs"] if c != "churn" and f"{c}.output" in summary["outputs"]]
    if echoed:
        return f"{len(echoed)} input columns are still echoed ({echoed[0]}, ...): list every feature column in outputs_to_drop."
    return None


@exercise("18.3", "export with onnx_version='Experimental'; answer the set of operator types in that file")
def _check_experimental_ops(answer: Any, *, classifier: Any) -> str | None:
    if not isinstance(answer, (set, frozenset)):
        return f"answer a set of operator names (opType), not {type(answer).__name__}."
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "experimental.onnx"
        classifier.export_to_onnx(str(path), "com.microsoft.ml", onnx_version="Experimental")
        ops = set(onnx_summary(path)["ops"])
    if set(answer) != ops:
        missing, extra = sorted(ops - set(answer)), sorted(set(answer) - ops)
        return (f"{len(missing)} operators missing and {len(extra)} too many: collect the opType of every node in the "
                "JSON copy (dst_json=) of the Experimental export, as a set.")
    return None
