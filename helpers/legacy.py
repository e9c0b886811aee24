"""Export manifests that carry ONNX files and the framework's own outputs from the legacy and mlnet kernels
(notebooks 15, 16, 18) to the main kernel (17, 19), which checks them with no Chainer, MXNet or ML.NET
installed. Importable in every kernel (Python 3.8 included).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpers.environment import kernel_name, package_versions
from helpers.paths import models_dir, repo_root
from helpers.report import Table, write_json

PRODUCERS = {"chainer": "15_export_chainer", "mxnet": "16_export_mxnet", "mlnet": "18_export_mlnet"}  # who writes each
MANIFEST = "manifest.json"
REFERENCE = "reference.npz"


class MissingExportError(FileNotFoundError):
    """A legacy export (manifest, ONNX file or reference outputs) is missing or stale."""


@dataclass
class ExportedModel:
    """One ONNX file of an export: its name in the export folder, opset, and the converter that wrote it."""

    file: str
    opset: int
    converter: str
    converter_version: str
    note: str = ""
    sha256: str = ""
    path: Path | None = None  # absolute, filled in when read back


@dataclass
class LegacyExport:
    """An export manifest read back: the models, the inputs and the framework's own outputs."""

    framework: str
    framework_version: str
    notebook: str
    models: list[ExportedModel]
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    environment: dict[str, Any] = field(default_factory=dict)  # python, kernel and package versions that made it


def export_dir(framework: str) -> Path:
    """The folder of one framework's legacy export, created on demand: ``build/models/legacy/<framework>``."""
    return models_dir("legacy", framework)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _described(arrays: Mapping[str, Any]) -> dict[str, Any]:
    return {k: {"shape": list(np.shape(v)), "dtype": str(np.asarray(v).dtype)} for k, v in arrays.items()}


def write_export_manifest(folder: str | os.PathLike[str], *, framework: str, framework_version: str,
                          models: Sequence[ExportedModel], inputs: Mapping[str, np.ndarray],
                          outputs: Mapping[str, np.ndarray], notebook: str | None = None) -> Path:
    """Write ``manifest.json`` and ``reference.npz`` (``inputs`` by ONNX input name, the framework's own
    ``outputs`` by ONNX output name) for the ONNX files already saved in ``folder``; returns the manifest's path.
    notebook: the producing notebook (default: the one the workbook runner is executing)."""
    folder = Path(folder)
    if not models:
        raise ValueError("List at least one exported model in `models`.")
    for m in models:
        if not (folder / m.file).exists():
            raise FileNotFoundError(f"{folder / m.file} does not exist; save the ONNX file into {folder} "
                                    "before the manifest.")
    np.savez(folder / REFERENCE, **{f"input/{k}": v for k, v in inputs.items()},
             **{f"output/{k}": v for k, v in outputs.items()})
    versions = package_versions(["numpy", "onnx", "onnxruntime", "chainer", "mxnet", "nimbusml"], installed_only=True)
    return write_json(folder / MANIFEST, {
        "framework": framework,
        "framework_version": framework_version,
        # helpers.verify.NOTEBOOK_ENV, read directly: verify does not import on the mlnet kernel's Python 3.8
        "notebook": notebook or os.environ.get("WORKBOOK_NOTEBOOK") or "interactive",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),  # noqa: UP017 (3.8 kernel)
        "environment": {"python": platform.python_version(), "kernel": kernel_name(), **versions},
        "reference": REFERENCE,
        "inputs": _described(inputs),
        "outputs": _described(outputs),
        "models": [{"file": m.file, "opset": int(m.opset), "converter": m.converter,
                    "converter_version": m.converter_version, "note": m.note, "sha256": _sha256(folder / m.file)}
                   for m in models],
    })


def _missing(framework: str, what: str) -> MissingExportError:
    notebook = PRODUCERS.get(framework, "the legacy export notebook")
    return MissingExportError(
        f"The {framework} export is not usable: {what}. Run notebooks/{notebook}.ipynb in the legacy kernel "
        f"first (`.venvs/main/bin/python -m workbook.runner {notebook[:2]}`), or call "
        "load_legacy_exports(regenerate=True), which runs it for you."
    )


def read_export_manifest(framework_or_folder: str | os.PathLike[str]) -> LegacyExport:
    """Read the export of ``"chainer"``, ``"mxnet"``, ``"mlnet"`` (or in a folder) and check its files are intact:
    a missing or changed file raises :class:`MissingExportError`, naming the notebook to run."""
    given = Path(framework_or_folder)
    folder = given if given.is_absolute() or len(given.parts) > 1 else models_dir("legacy") / given
    path = folder / MANIFEST
    if not path.exists():
        raise _missing(folder.name, f"{path} does not exist")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise _missing(folder.name, f"{path} is not valid JSON ({err.msg})") from err
    framework = manifest["framework"]
    reference = folder / manifest["reference"]
    if not reference.exists():
        raise _missing(framework, f"the reference outputs {reference} are missing")
    models = [ExportedModel(**entry, path=folder / entry["file"]) for entry in manifest["models"]]
    for model in models:
        if not model.path.exists():
            raise _missing(framework, f"the model file {model.path} is missing")
        if _sha256(model.path) != model.sha256:
            raise _missing(framework, f"{model.path} changed after its manifest was written (SHA-256 differs)")
    with np.load(reference, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    inputs = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("input/")}
    outputs = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("output/")}
    return LegacyExport(framework, manifest["framework_version"], manifest["notebook"], models, inputs, outputs,
                        manifest["environment"])


def load_legacy_exports(frameworks: Sequence[str] = ("chainer", "mxnet"), regenerate: Callable[..., Any] | None = None,
                        quick: bool = False) -> dict[str, LegacyExport]:
    """Read the legacy exports; a missing one raises :class:`MissingExportError` naming its notebook, unless
    ``regenerate`` (``workbook.runner.execute_notebook``) runs that notebook first, with ``quick``."""
    unknown = [f for f in frameworks if f not in PRODUCERS]
    if unknown:
        raise ValueError(f"Unknown legacy frameworks {unknown}; choose from {sorted(PRODUCERS)}.")
    found = {}
    for framework in frameworks:
        try:
            found[framework] = read_export_manifest(framework)
        except MissingExportError as err:
            if regenerate is None:
                raise
            notebook = repo_root() / "notebooks" / f"{PRODUCERS[framework]}.ipynb"
            reason = str(err).split(". Run ")[0]
            print(f"{reason}.\nRunning {notebook.name} in its kernel to regenerate it ...", flush=True)
            run = regenerate(notebook, parameters={"quick": quick})
            if not run.ok:
                raise MissingExportError(f"Regenerating the {framework} export failed. {run.describe()}") from err
            print(f"... done in {run.seconds:.0f} s (executed copy: {run.output}).", flush=True)
            found[framework] = read_export_manifest(framework)
    return found


def exports_table(exports: Mapping[str, LegacyExport]) -> Table:
    """One row per exported ONNX file: framework, versions of the environment that made it, opset."""
    rows = []
    for export in exports.values():
        env = export.environment
        made_with = f"Python {env.get('python', '?')}, numpy {env.get('numpy', '?')}, onnx {env.get('onnx', '?')}"
        rows += [{"framework": f"{export.framework} {export.framework_version}", "file": m.file, "opset": m.opset,
                  "converter": f"{m.converter} {m.converter_version}", "made with": made_with,
                  "samples": len(next(iter(export.inputs.values()))), "by": export.notebook} for m in export.models]
    return Table(rows, title="Legacy exports found")


def quiet_legacy_warnings() -> None:
    """Silence the deprecation noise Chainer and MXNet print under current Python and numpy, and ONNX Runtime's
    per-weight notices about weights listed as graph inputs; other warnings still show."""
    import logging
    import warnings

    import onnxruntime as ort

    for module in ("chainer", "onnx_chainer", "mxnet", "numpy.distutils", "pkg_resources", "setuptools"):
        warnings.filterwarnings("ignore", module=module)
    warnings.filterwarnings("ignore", message=".*(pkg_resources|distutils|np\\.bool|np\\.object).*")
    warnings.filterwarnings("ignore", message="IProgress not found")  # no ipywidgets here: text progress bars
    logging.getLogger("mxnet").setLevel(logging.ERROR)
    logging.getLogger("root").setLevel(logging.ERROR)
    ort.set_default_logger_severity(3)
