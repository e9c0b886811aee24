"""Checks of the exercises of notebooks/20_visualize_netron.ipynb; reference solutions in exercises/solutions/20_visualize_netron.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any  # noqa: UP035 (Python 3.8 kernel)

from exercises import answer_file, dynamo_made, exercise, onnx_session


def _labels(path: Any, X: Any) -> Any:
    import numpy as np

    session = onnx_session(path)
    return session.run(None, {session.get_inputs()[0].name: np.asarray(X, dtype=np.float32)})[0].argmax(axis=1)


@exercise("20.1", "quantize the CNN in the QOperator format; answer the path (labels must agree with the float model)")
def _check_qoperator(answer: Any, *, float_path: Any, X: Any, not_one_of: Any = ()) -> str | None:
    import onnx

    hint = answer_file(answer, not_one_of=[float_path, *([not_one_of] if isinstance(not_one_of, (str, Path)) else not_one_of)])  # noqa: UP038
    if hint:
        return hint
    path = Path(answer)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    if "QLinearConv" not in ops:
        pairs = "QuantizeLinear/DequantizeLinear pairs around float Conv" if "Conv" in ops else "no QLinearConv"
        return f"this graph has {pairs}: pass quant_format=QuantFormat.QOperator to quantize_static."
    agree = float((_labels(path, X) == _labels(float_path, X)).mean())
    if agree < 0.97:
        return f"only {agree:.0%} of the labels agree with the float model: calibrate on the training digits, as for QDQ."
    return None


@exercise("20.2", "export the CNN with dynamo=True and no opset_version; answer the path")
def _check_default_opset(answer: Any, *, model: Any, X: Any, not_one_of: Any = ()) -> str | None:
    import numpy as np

    from helpers.models import torch_predict
    from helpers.opset import opset_of

    hint = answer_file(answer, not_one_of=not_one_of)
    if hint:
        return hint
    path = Path(answer)
    if not dynamo_made(path):
        return "this file was not written by the dynamo exporter: call torch.onnx.export with dynamo=True."
    opset = opset_of(path, default=0)
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


@exercise("20.3", "serve a second file on the first server's port; answer the page that port serves then")
def _check_same_port(answer: Any, *, first: Any, second: Any) -> str | None:
    import logging
    import re
    import time
    import urllib.request

    import netron

    if not isinstance(answer, str):
        return f"answer the page you fetched (its HTML, a str), not {type(answer).__name__}."
    answered = re.search(r'<meta name="file" content="/data/([^"]+)"', answer)
    if answered is None or '<meta name="version"' not in answer:
        return ("this is not a Netron page (no <meta name=\"file\">, no <meta name=\"version\">): fetch the page at "
                "the shared address with urllib.request.urlopen after the second netron.start, and answer its text.")
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
    if served is None or answered.group(1) != served.group(1):
        return ("not the file that port serves now: after the second netron.start, fetch the page at the address and "
                'read its <meta name="file">, or try /data/<name> for each file.')
    return None
