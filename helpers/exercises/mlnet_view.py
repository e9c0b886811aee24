"""Checks of the exercises of notebooks 18 (ML.NET export), 19 (ML.NET models in today's runtime),
20 (Netron) and 21 (pretrained models).

Notebook 18 runs in the mlnet kernel (CPython 3.8, no ``onnx`` package): its checks read ONNX files with
:func:`onnx_summary`, a small reader of the protobuf wire format, instead of ``onnx.load``.
Importable on Python 3.8.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Iterator  # noqa: UP035 (Python 3.8 kernel)

from helpers.exercises import exercise, onnx_session

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

    >>> onnx_summary("churn_fasttree.onnx")["opsets"]  # doctest: +SKIP
    {'ai.onnx.ml': 2, '': 11}
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
    if reference is not None and path.resolve() == Path(reference).resolve():
        return None, "that is the notebook's own file: export to a new path."
    try:
        return onnx_summary(path), ""
    except (ValueError, IndexError, UnicodeDecodeError) as err:
        return None, f"{path.name} does not read as an ONNX model ({err})."


# --- notebook 18: ML.NET export (mlnet kernel) -------------------------------------------------------------------


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


# --- notebook 19: ML.NET models in today's runtime, ONNX models inside ML.NET (main kernel) -----------------------


@exercise("19.1", "export the iris pipeline at opset 13; answer the IR version skl2onnx writes for it")
def _check_ir_version(answer: Any, *, pipe: Any) -> str | None:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    if not isinstance(answer, int) or isinstance(answer, bool):
        return f"answer a whole number (the model's ir_version field), not {type(answer).__name__}."
    written = to_onnx(pipe, initial_types=[("x", FloatTensorType([None, 4]))],
                      target_opset={"": 13, "ai.onnx.ml": 1}, options={"zipmap": False}).ir_version
    if answer == 6 and written != 6:
        return "6 is what the notebook sets by hand for ML.NET: read ir_version before changing it."
    if answer != written:
        return "not what skl2onnx wrote at opset 13: export with target_opset={'': 13, 'ai.onnx.ml': 1} and read ir_version."
    return None


@exercise("19.2", "score the opset-13 file in ML.NET with its IR version as written; answer the exception")
def _check_ir_refused(answer: Any) -> str | None:
    if not isinstance(answer, BaseException):
        return ("answer the exception score_in_mlnet raised (`except RuntimeError as err: answer = err`); if it ran, "
                "check that the file keeps the IR version skl2onnx wrote.")
    if not isinstance(answer, RuntimeError):
        return f"a {type(answer).__name__} is raised before ML.NET sees the file: the job itself should fail (RuntimeError)."
    message = str(answer)
    if "model file format version" not in message:
        last = message.strip().splitlines()[-1][:120] if message.strip() else ""
        return (f"ML.NET failed for another reason ({last}): keep the fixed batch of 1 and only the probabilities "
                "output, and change nothing but the opset and the IR version.")
    return None


@exercise("19.3", "export the digits CNN for ML.NET's ONNX Runtime 1.2 (dynamo=False, opset 11, batch 1); answer the path")
def _check_cnn_for_mlnet(answer: Any, *, X: Any) -> str | None:
    import numpy as np
    import onnx

    path = Path(answer) if isinstance(answer, (str, Path)) else None
    if path is None or not path.is_file():
        return f"answer the path of the ONNX file you exported, not {answer!r}."
    model = onnx.load(str(path))
    opset = {o.domain or "ai.onnx": o.version for o in model.opset_import}.get("ai.onnx", 0)
    if opset > 11:
        return f"the file declares opset {opset}; ONNX Runtime 1.2 stops at 11: pass opset_version=11 (dynamo=False)."
    if model.ir_version > 6:
        return f"IR version {model.ir_version}: ONNX Runtime 1.2 reads up to 6 ('Unknown model file format version')."
    for value in model.graph.input:
        dims = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in value.type.tensor_type.shape.dim]
        if any(not isinstance(d, int) or d < 1 for d in dims):
            return f"input {value.name} has dimensions {dims}: fix every one (a batch of 1), no dynamic_axes."
    session = onnx_session(path)
    rows = np.asarray(X, dtype=np.float32)[:3]
    name = session.get_inputs()[0].name
    for row in rows:
        scores = session.run(None, {name: row[None]})[0]
        if scores.shape != (1, 10) or not np.all(np.isfinite(scores)):
            return f"one image gives output shape {scores.shape}; expected 10 finite class scores (1, 10)."
    return None


# --- notebook 20: Netron (main kernel) -----------------------------------------------------------------------------


def _labels(path: Any, X: Any) -> Any:
    import numpy as np

    session = onnx_session(path)
    return session.run(None, {session.get_inputs()[0].name: np.asarray(X, dtype=np.float32)})[0].argmax(axis=1)


@exercise("20.1", "quantize the CNN in the QOperator format; answer the path (labels must agree with the float model)")
def _check_qoperator(answer: Any, *, float_path: Any, X: Any) -> str | None:
    import onnx

    path = Path(answer) if isinstance(answer, (str, Path)) else None
    if path is None or not path.is_file():
        return f"answer the path of the quantized file, not {answer!r}."
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    if "QLinearConv" not in ops:
        pairs = "QuantizeLinear/DequantizeLinear pairs around float Conv" if "Conv" in ops else "no QLinearConv"
        return f"this graph has {pairs}: pass quant_format=QuantFormat.QOperator to quantize_static."
    agree = float((_labels(path, X) == _labels(float_path, X)).mean())
    if agree < 0.97:
        return f"only {agree:.0%} of the labels agree with the float model: calibrate on the training digits, as for QDQ."
    return None


@exercise("20.2", "export the CNN with dynamo=True and no opset_version; answer the path")
def _check_default_opset(answer: Any, *, model: Any, X: Any) -> str | None:
    import numpy as np
    import onnx

    from helpers.models import torch_predict

    path = Path(answer) if isinstance(answer, (str, Path)) else None
    if path is None or not path.is_file():
        return f"answer the path of the exported file, not {answer!r}."
    opset = {o.domain: o.version for o in onnx.load(str(path), load_external_data=False).opset_import}.get("", 0)
    if opset == 18:
        return "opset 18 is what the notebook asked for: leave opset_version (the helper's opset) out."
    try:
        from torch.onnx._constants import ONNX_DEFAULT_OPSET  # private, but it is the exporter's default
    except ImportError:
        ONNX_DEFAULT_OPSET = opset
    if opset != ONNX_DEFAULT_OPSET:
        return f"the file declares opset {opset}, not the exporter's default: call torch.onnx.export without opset_version."
    X = np.asarray(X, dtype=np.float32)[:64]

    session = onnx_session(path)
    got = session.run(None, {session.get_inputs()[0].name: X})[0]
    err = float(np.abs(got - torch_predict(model, X)).max())
    if err > 1e-4:
        return f"the file differs from the CNN by {err:.2g}: export the notebook's `cnn` (in eval mode) with a dynamic batch."
    return None


@exercise("20.3", "serve a second file on the first server's port; answer the file name that port serves then")
def _check_same_port(answer: Any, *, first: Any, second: Any) -> str | None:
    import logging
    import re
    import time
    import urllib.request

    import netron

    if not isinstance(answer, str):
        return f"answer a file name (a str), as the page's <meta name=\"file\"> names it, not {type(answer).__name__}."
    level = logging.getLogger().level
    address = netron.start(str(first), address=("127.0.0.1", 0), browse=False)
    try:
        for attempt in range(10):  # netron.stop closes the socket; its thread may still hold the port a moment
            try:
                netron.start(str(second), address=address, browse=False)
                break
            except OSError:
                if attempt == 9:
                    raise
                time.sleep(0.25)
        page = urllib.request.urlopen(f"http://{address[0]}:{address[1]}/", timeout=5).read().decode("utf-8")
    finally:
        netron.stop(address)
        logging.getLogger().setLevel(level)
    served = re.search(r'<meta name="file" content="/data/([^"]+)"', page)
    if served is None or Path(answer).name != served.group(1):
        return ("not the file that port serves now: after the second netron.start, fetch the page at the address and "
                'read its <meta name="file">, or try /data/<name> for each file.')
    return None


# --- notebook 21: pretrained models (main kernel) -----------------------------------------------------------------


def _materialized_weights(path: Any) -> int:
    """Elements of every ConstantOfShape output whose shape is an initializer (the light models' fake weights)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    shapes = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    return int(sum(np.prod(shapes[n.input[0]], dtype=np.int64) for n in model.graph.node
                   if n.op_type == "ConstantOfShape" and n.input[0] in shapes))


@exercise("21.1", "how many weights does ONNX Runtime materialize when it creates VGG-19's (light) session?")
def _check_vgg_weights(answer: Any, *, vgg19: Any) -> str | None:
    import numpy as np

    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return f"answer a whole number of weights (elements), not {type(answer).__name__}."
    expected = _materialized_weights(vgg19)
    if answer == 4 * expected:
        return "that is bytes (float32): count elements."
    if answer != expected:
        return ("not what the graph makes: add up the elements of every ConstantOfShape output (its shape is an "
                "initializer), biases included.")
    return None


@exercise("21.2", "convert the light SqueezeNet to opset 13 and run zoo.intermediate_parity; answer the ParityResult")
def _check_converted_parity(answer: Any, *, original: Any) -> str | None:
    from onnx import version_converter

    from helpers import zoo

    if not hasattr(answer, "outputs") or not isinstance(getattr(answer, "outputs", None), list):
        return "answer the result of zoo.intermediate_parity (a ParityResult with one entry per tensor)."
    converted = version_converter.convert_version(original, 13)
    reference = zoo.intermediate_parity(converted, zoo.dummy_inputs(converted), name="21.2 check", record=False)
    names = {o.name for o in answer.outputs}
    if names != {o.name for o in reference.outputs}:
        return (f"{len(names)} tensors compared; SqueezeNet converted to opset 13 has {len(reference.outputs)}: convert "
                "the notebook's squeeze_model with onnx.version_converter.convert_version(model, 13) and compare all of it.")
    outside = sorted(o.name for o in answer.outputs if not o.allclose)
    if outside != sorted(o.name for o in reference.outputs if not o.allclose):
        return f"your comparison finds {outside or 'nothing'} outside tolerance, the check does not: use the default tolerances."
    return None
