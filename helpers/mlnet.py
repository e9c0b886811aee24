"""ML.NET through NimbusML: the mlnet kernel (CPython 3.8) and its hand-off to the main kernel.

ML.NET is a .NET library; NimbusML, its archived Python binding, runs only on CPython 3.8 with
numpy < 1.20, so it lives in a kernel of its own (``onnx-workbook-mlnet``). Notebook 18 trains and
exports there and writes an export manifest (:mod:`helpers.legacy`); notebook 19 checks the files in
the main kernel's ONNX Runtime and runs a workbook model inside ML.NET by starting that kernel's
interpreter (:func:`run_in_mlnet`). Introduced in notebooks/18_export_mlnet.ipynb.

Importable in every kernel (Python 3.8 included); nothing here imports NimbusML.

Example::

    from helpers.mlnet import columns_feed
    columns_feed(frame, ["tenure_months", "contract"])["contract"].shape
    # (250, 1)
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MLNET_KERNEL", "NEEDS", "mlnet_python", "run_in_mlnet", "columns_feed", "final_outputs"]

#: The Jupyter kernel that hosts NimbusML.
MLNET_KERNEL = "onnx-workbook-mlnet"
#: What the runner says about the ML.NET notebooks on a machine without the kernel.
NEEDS = "Python 3.8 (the mlnet kernel): `pyenv install 3.8.18` or WORKBOOK_PYTHON38, then `make setup`"

#: The outputs of an ML.NET ONNX file that carry the model's answer (the rest echo inputs and steps).
_ANSWERS = ("PredictedLabel", "Score", "Probability")


def mlnet_python() -> Path:
    """The interpreter of the mlnet kernel, read from its Jupyter kernelspec.

    Raises ``FileNotFoundError`` saying how to get the kernel when it is not installed.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(MLNET_KERNEL)
    except NoSuchKernel as err:
        raise FileNotFoundError(f"The {MLNET_KERNEL} kernel is not installed; it needs {NEEDS}.") from err
    python = Path(spec.argv[0])
    if not python.exists():
        raise FileNotFoundError(f"The {MLNET_KERNEL} kernel points at {python}, which is gone; run `make setup`.")
    return python


def run_in_mlnet(code: str, workdir: str | os.PathLike[str], *, timeout: float = 300) -> dict[str, Any]:
    """Run Python ``code`` in the mlnet kernel's interpreter, in ``workdir``; return what it left in ``result.json``.

    The code reads its inputs from files in ``workdir`` (for example ``.npy`` files the caller saved) and
    writes ``result.json`` there (a JSON object; large arrays are better saved as ``.npy`` beside it).
    Raises ``RuntimeError`` with the end of the child's error output when the code fails, or
    ``TimeoutError`` after ``timeout`` seconds.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    result = workdir / "result.json"
    result.unlink(missing_ok=True)
    script = workdir / "mlnet_job.py"
    script.write_text(code, encoding="utf-8")
    # The child is another Python (3.8): nothing of this kernel's import path must leak into it.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    try:
        done = subprocess.run([str(mlnet_python()), script.name], cwd=workdir, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        raise TimeoutError(f"The ML.NET job in {script} ran longer than {timeout:.0f} s.") from err
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-6:])
        raise RuntimeError(f"The ML.NET job failed (exit {done.returncode}):\n{tail}")
    if not result.exists():
        raise RuntimeError(f"The ML.NET job ran but wrote no {result.name} in {workdir}.")
    return json.loads(result.read_text(encoding="utf-8"))


def columns_feed(frame: Any, names: Sequence[str]) -> dict[str, np.ndarray]:
    """ONNX Runtime inputs for an ML.NET ONNX file: one ``(rows, 1)`` array per column.

    ML.NET's exporter makes one graph input per data column: numbers as float32, text as strings.
    frame: a pandas DataFrame or a mapping of column name to values.
    names: the graph's input names to feed (an ML.NET file also declares the label as an input,
        with a default: leave it out).

    >>> columns_feed({"a": [1, 2], "b": ["x", "y"]}, ["a", "b"])["b"].tolist()
    [['x'], ['y']]
    """
    feed = {}
    for name in names:
        if name not in frame:
            raise KeyError(f"The model needs a column {name!r}; the data has {list(frame.keys())}.")
        values = np.asarray(frame[name])
        if values.dtype.kind in "OUS":
            feed[name] = values.astype(str).astype(object).reshape(-1, 1)
        else:
            feed[name] = values.astype(np.float32).reshape(-1, 1)
    return feed


def final_outputs(output_names: Sequence[str]) -> list[str]:
    """The outputs of an ML.NET ONNX file that hold the model's answer, in ML.NET's order.

    >>> final_outputs(["age.output", "Features.output", "Score.output", "PredictedLabel.output"])
    ['PredictedLabel.output', 'Score.output']
    """
    found = [f"{a}.output" for a in _ANSWERS if f"{a}.output" in output_names]
    if not found:
        raise ValueError(f"No ML.NET answer among the outputs {list(output_names)[:8]}...: "
                         f"expected one of {[a + '.output' for a in _ANSWERS]}.")
    return found

