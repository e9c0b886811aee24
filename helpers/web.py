"""ONNX beyond Python (notebooks/42_deploy_browser_node.ipynb): ``web/`` served with or without cross-origin
isolation, ``web/score_node.mjs`` run in Node.js, tensors over JSON.

Example::

    with web.serve_web({"digits_cnn.onnx": cnn_path}) as server, processes.Browser() as browser:
        page = browser.open(server.url + "?threads=1")
        out = page.call("run", "/models/digits_cnn.onnx", {"image": web.to_wire(x)})
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers.paths import repo_root
from helpers.processes import StaticServer

#: The two headers that make a page cross-origin isolated (``SharedArrayBuffer``, so wasm threads work).
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}


class NodeUnavailableError(RuntimeError):
    """Node.js or the project's npm packages are missing."""


def web_dir() -> Path:
    """The repository's ``web/`` folder (the page, the Node script, package.json, node_modules)."""
    return repo_root() / "web"


def check_node_modules(*packages: str) -> Path:
    """``web/node_modules``, if ``packages`` are installed there (else :class:`NodeUnavailableError` with the fix)."""
    modules = web_dir() / "node_modules"
    missing = [p for p in packages if not (modules / p / "package.json").exists()]
    if missing:
        raise NodeUnavailableError(
            f"{', '.join(missing)} not installed in {modules}. Run `bash scripts/setup.sh` (or, in web/: "
            "`npm ci --ignore-scripts`); it needs Node.js and npm (Debian: apt-get install nodejs npm).")
    return modules


def npm_version(package: str) -> str:
    """The installed version of an npm package in ``web/node_modules``, e.g. ``"1.30.0"``."""
    return json.loads((check_node_modules(package) / package / "package.json").read_text())["version"]


def serve_web(models: Mapping[str, str | os.PathLike[str]] | None = None, *, isolated: bool = True,
              mounts: Mapping[str, str | os.PathLike[str]] | None = None, port: int = 0) -> StaticServer:
    """Serve ``web/``, ``models`` (``{"digits_cnn.onnx": path}``) under ``/models/`` and ``mounts`` (``{"/x": folder}``).

    isolated: send :data:`ISOLATION_HEADERS`; ``False`` shows what a plain static host does.
    """
    check_node_modules("onnxruntime-web")
    served = {"/": web_dir(), **{f"/models/{name}": path for name, path in (models or {}).items()}, **(mounts or {})}
    return StaticServer(served, ISOLATION_HEADERS if isolated else None, port=port).start()


def page_models(minilm: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """The files the page opens by default, ``{name under /models/: file}``; minilm: default the fp32 export."""
    from helpers import minilm as minilm_mod
    from helpers.models import digits_cnn_onnx

    return {
        "digits_cnn.onnx": digits_cnn_onnx(),
        "minilm.onnx": Path(minilm) if minilm else minilm_mod.export_minilm_onnx(),
        "tokenizer.json": minilm_mod.minilm_dir() / "tokenizer.json",
    }


_WIRE_TYPES = {"float32": np.float32, "int64": np.int64, "int32": np.int32, "uint8": np.uint8}


def to_wire(array: Any) -> dict[str, Any]:
    """A numpy array as ``{"type", "dims", "data"}`` for the page or the Node script (float32 exactly).

    >>> to_wire(np.array([[1, 2]], dtype=np.int64))
    {'type': 'int64', 'dims': [1, 2], 'data': [1, 2]}
    """
    a = np.asarray(array)
    if a.dtype.name not in _WIRE_TYPES:
        raise TypeError(f"Cannot send a {a.dtype} tensor; the JavaScript runtimes here take {sorted(_WIRE_TYPES)}: "
                        "cast it first (e.g. x.astype(np.float32)).")
    return {"type": a.dtype.name, "dims": list(a.shape), "data": a.ravel().tolist()}


def from_wire(tensor: Mapping[str, Any]) -> np.ndarray:
    """The numpy array of a ``{"type", "dims", "data"}`` tensor that came back from JavaScript."""
    return np.asarray(tensor["data"], dtype=_WIRE_TYPES.get(tensor["type"], np.float64)).reshape(tensor["dims"])


def run_node(jobs: Sequence[Mapping[str, Any]], *, timeout: float = 300.0) -> list[dict[str, Any]]:
    """Run ``web/score_node.mjs`` (onnxruntime-node) on ``jobs``; one answer per job.

    jobs: each ``{"model": path, "feeds": {name: to_wire(x)}, "repeat": 0, "options": {...}}`` (no ``feeds``: load
        only). Answers hold ``inputNames``, ``outputNames``, ``outputs``, ``times_ms`` (``repeat`` > 0) or ``error``.
    """
    node = os.environ.get("NODE") or shutil.which("node")
    if node is None:
        raise NodeUnavailableError("Node.js is not installed: apt-get install nodejs npm (requirements/apt.txt), "
                                   "then `bash scripts/setup.sh` installs onnxruntime-node.")
    check_node_modules("onnxruntime-node")
    jobs = [{**j, "model": str(Path(j["model"]).resolve())} for j in jobs]
    with tempfile.TemporaryDirectory(prefix="workbook-node-") as tmp:
        request, answer = Path(tmp) / "request.json", Path(tmp) / "answer.json"
        request.write_text(json.dumps({"jobs": jobs}))
        proc = subprocess.run([node, "score_node.mjs", str(request), str(answer)], capture_output=True, text=True,
                              timeout=timeout, cwd=web_dir())
        if proc.returncode != 0 or not answer.exists():
            raise RuntimeError(f"score_node.mjs failed (exit {proc.returncode}): {proc.stderr.strip()[-800:]}")
        return json.loads(answer.read_text())["answers"]


def runtime_parity(model: str | os.PathLike[str], inputs: Mapping[str, np.ndarray], outputs: Mapping[str, Any], *,
                   name: str, runtime: str, runtime_version: str, rtol: float = 1e-4, atol: float = 1e-5,
                   **compare: Any) -> Any:
    """:func:`helpers.verify.check_conversion` of a JavaScript ``runtime``'s outputs (wire tensors or arrays)."""
    from helpers.verify import check_conversion

    expected = {k: from_wire(v) if isinstance(v, Mapping) else np.asarray(v) for k, v in outputs.items()}
    return check_conversion(model, dict(inputs), expected, name=name, framework=runtime,
                            framework_version=runtime_version, converter="same .onnx file",
                            converter_version="-", rtol=rtol, atol=atol, **compare)
