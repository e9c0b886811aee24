"""The export manifests that carry Chainer and MXNet models from the legacy kernel to the main kernel.

The legacy notebooks (15 Chainer, 16 MXNet) train the digits CNN, export it to ONNX and write an
*export manifest* beside the files: the inputs, the framework's own outputs on them (``reference.npz``),
the opsets and the versions of the environment that made them. The main-kernel notebook (17) reads
the manifest and checks that today's ONNX Runtime computes the same outputs, with no Chainer or
MXNet installed. Introduced in notebooks/15_export_chainer.ipynb.

Importable in both kernels; it imports neither Chainer nor MXNet.

Example::

    from helpers.legacy import read_export_manifest
    export = read_export_manifest("chainer")
    export.inputs["image"].shape, export.models[0].opset
    # ((450, 1, 8, 8), 11)
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpers.paths import models_dir, repo_root
from helpers.report import Table, write_json

__all__ = [
    "PRODUCERS",
    "MANIFEST",
    "REFERENCE",
    "MissingExportError",
    "ExportedModel",
    "LegacyExport",
    "export_dir",
    "write_export_manifest",
    "read_export_manifest",
    "load_legacy_exports",
    "exports_table",
    "quiet_legacy_warnings",
]

#: Which notebook writes each framework's export (framework -> notebook stem).
PRODUCERS = {"chainer": "15_export_chainer", "mxnet": "16_export_mxnet", "mlnet": "18_export_mlnet"}
#: File names inside an export folder.
MANIFEST = "manifest.json"
REFERENCE = "reference.npz"


class MissingExportError(FileNotFoundError):
    """A legacy export (manifest, ONNX file or reference outputs) is missing or stale."""


@dataclass
class ExportedModel:
    """One ONNX file of an export: where it is, its opset, and the converter that wrote it."""

    file: str  # relative to the export folder
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
    folder: Path
    models: list[ExportedModel]
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    environment: dict[str, Any] = field(default_factory=dict)
    created: str = ""

    def model(self, opset: int | None = None) -> ExportedModel:
        """The exported model at ``opset`` (default: the first one listed)."""
        for m in self.models:
            if opset is None or m.opset == opset:
                return m
        raise KeyError(f"The {self.framework} export has opsets {[m.opset for m in self.models]}, not {opset}.")


def export_dir(framework: str, create: bool = True) -> Path:
    """The folder of one framework's legacy export: ``build/models/legacy/<framework>``."""
    path = models_dir("legacy") / framework if create else models_dir("legacy").joinpath(framework)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _environment() -> dict[str, Any]:
    from helpers.environment import package_versions

    versions = package_versions(["numpy", "onnx", "onnxruntime", "chainer", "mxnet", "nimbusml"], installed_only=True)
    return {"python": platform.python_version(), "kernel": Path(sys.prefix).name, **versions}


def write_export_manifest(
    folder: str | os.PathLike[str],
    *,
    framework: str,
    framework_version: str,
    models: Sequence[ExportedModel],
    inputs: Mapping[str, np.ndarray],
    outputs: Mapping[str, np.ndarray],
    notebook: str | None = None,
) -> Path:
    """Write ``manifest.json`` and ``reference.npz`` for the ONNX files already saved in ``folder``.

    models: the exported files (names relative to ``folder``), with opset and converter.
    inputs, outputs: ``{ONNX input name: array}`` and ``{ONNX output name: the framework's own output}``.
    notebook: the producing notebook (default: the one the workbook runner is executing).

    Returns the manifest's path. Raises ``FileNotFoundError`` if a listed model file is missing.

    Example::

        write_export_manifest(export_dir("chainer"), framework="chainer", framework_version="7.8.1",
            models=[ExportedModel("digits_cnn_opset11.onnx", 11, "onnx_chainer", "7.8.1")],
            inputs={"image": X}, outputs={"logits": y})
    """
    folder = Path(folder)
    if not models:
        raise ValueError("List at least one exported model in `models`.")
    entries = []
    for m in models:
        path = folder / m.file
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist; save the ONNX file into {folder} before the manifest.")
        entries.append({"file": m.file, "opset": int(m.opset), "converter": m.converter,
                        "converter_version": m.converter_version, "note": m.note, "sha256": _sha256(path)})
    arrays = {f"input/{k}": np.asarray(v) for k, v in inputs.items()}
    arrays.update({f"output/{k}": np.asarray(v) for k, v in outputs.items()})
    np.savez(folder / REFERENCE, **arrays)
    return write_json(folder / MANIFEST, {
        "framework": framework,
        "framework_version": framework_version,
        # helpers.verify.NOTEBOOK_ENV, read directly: verify does not import on the mlnet kernel's Python 3.8
        "notebook": notebook or os.environ.get("WORKBOOK_NOTEBOOK") or "interactive",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),  # noqa: UP017 (3.8 kernel)
        "environment": _environment(),
        "reference": REFERENCE,
        "inputs": {k: {"shape": list(np.shape(v)), "dtype": str(np.asarray(v).dtype)} for k, v in inputs.items()},
        "outputs": {k: {"shape": list(np.shape(v)), "dtype": str(np.asarray(v).dtype)} for k, v in outputs.items()},
        "models": entries,
    })


def _missing(framework: str, what: str) -> MissingExportError:
    notebook = PRODUCERS.get(framework, "the legacy export notebook")
    return MissingExportError(
        f"The {framework} export is not usable: {what}. Run notebooks/{notebook}.ipynb in the legacy kernel "
        f"first (`.venvs/main/bin/python -m workbook.runner {notebook[:2]}`), or call "
        "load_legacy_exports(regenerate=True), which runs it for you."
    )


def read_export_manifest(framework_or_folder: str | os.PathLike[str]) -> LegacyExport:
    """Read an export written by :func:`write_export_manifest` and check that its files are intact.

    framework_or_folder: ``"chainer"``, ``"mxnet"`` (folders under ``build/models/legacy``) or a folder.

    Raises :class:`MissingExportError`, naming the notebook to run, when the manifest, the reference
    outputs or a model file is missing, or a model file changed since the manifest was written.
    """
    given = Path(framework_or_folder)
    folder = given if given.is_absolute() or len(given.parts) > 1 else export_dir(str(given), create=False)
    framework = folder.name
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise _missing(framework, f"{manifest_path} does not exist")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise _missing(framework, f"{manifest_path} is not valid JSON ({err.msg})") from err
    framework = manifest.get("framework", framework)
    reference = folder / manifest.get("reference", REFERENCE)
    if not reference.exists():
        raise _missing(framework, f"the reference outputs {reference} are missing")
    models = []
    for entry in manifest["models"]:
        model = ExportedModel(**{k: entry.get(k, "") for k in ("file", "opset", "converter", "converter_version",
                                                              "note", "sha256")})
        model.path = folder / model.file
        if not model.path.exists():
            raise _missing(framework, f"the model file {model.path} is missing")
        if model.sha256 and _sha256(model.path) != model.sha256:
            raise _missing(framework, f"{model.path} changed after its manifest was written (SHA-256 differs)")
        models.append(model)
    with np.load(reference, allow_pickle=False) as npz:
        inputs = {k.split("/", 1)[1]: npz[k] for k in npz.files if k.startswith("input/")}
        outputs = {k.split("/", 1)[1]: npz[k] for k in npz.files if k.startswith("output/")}
    return LegacyExport(framework, manifest["framework_version"], manifest.get("notebook", ""), folder, models,
                        inputs, outputs, manifest.get("environment", {}), manifest.get("created", ""))


def load_legacy_exports(
    frameworks: Sequence[str] = ("chainer", "mxnet"),
    regenerate: Callable[..., Any] | None = None,
    quick: bool = False,
) -> dict[str, LegacyExport]:
    """Read the legacy exports; with a ``regenerate`` runner, first run the notebook of each missing one.

    frameworks: which exports to read (keys of :data:`PRODUCERS`).
    regenerate: a notebook runner, called as ``regenerate(path, parameters={"quick": quick})`` when an
        export is missing or stale, returning an object with ``ok`` and ``describe()`` (the workbook's
        ``workbook.runner.execute_notebook`` runs the notebook in its own kernel). Without one, a missing
        export raises :class:`MissingExportError` naming the notebook to run. helpers never runs notebooks
        itself: the notebook that wants regeneration passes the runner.
    quick: run regenerated notebooks in quick mode.
    """
    unknown = [f for f in frameworks if f not in PRODUCERS]
    if unknown:
        raise ValueError(f"Unknown legacy frameworks {unknown}; choose from {sorted(PRODUCERS)}.")
    found = {}
    for framework in frameworks:
        try:
            found[framework] = read_export_manifest(framework)
            continue
        except MissingExportError as err:
            if regenerate is None:
                raise
            reason = str(err).split(". Run ")[0]
        notebook = repo_root() / "notebooks" / f"{PRODUCERS[framework]}.ipynb"
        print(f"{reason}.\nRunning {notebook.name} in its kernel to regenerate it ...", flush=True)
        run = regenerate(notebook, parameters={"quick": quick})
        if not run.ok:
            raise MissingExportError(f"Regenerating the {framework} export failed. {run.describe()}")
        print(f"... done in {run.seconds:.0f} s (executed copy: {run.output}).", flush=True)
        found[framework] = read_export_manifest(framework)
    return found


def exports_table(exports: Mapping[str, LegacyExport]) -> Table:
    """One row per exported ONNX file: framework, versions of the environment that made it, opset."""
    rows = []
    for export in exports.values():
        env = export.environment
        for m in export.models:
            rows.append({
                "framework": f"{export.framework} {export.framework_version}", "file": m.file, "opset": m.opset,
                "converter": f"{m.converter} {m.converter_version}", "made with": (
                    f"Python {env.get('python', '?')}, numpy {env.get('numpy', '?')}, onnx {env.get('onnx', '?')}"),
                "samples": len(next(iter(export.inputs.values()))), "by": export.notebook,
            })
    return Table(rows, title="Legacy exports found")


def quiet_legacy_warnings() -> None:
    """Silence the deprecation noise Chainer and MXNet print under current Python and numpy.

    Only warnings from those packages (and ONNX Runtime's per-weight notices about weights listed as
    graph inputs) are hidden; everything else still shows.
    """
    import logging
    import warnings

    for module in ("chainer", "onnx_chainer", "mxnet", "numpy.distutils", "pkg_resources", "setuptools"):
        warnings.filterwarnings("ignore", module=module)
    warnings.filterwarnings("ignore", message=".*(pkg_resources|distutils|np\\.bool|np\\.object).*")
    warnings.filterwarnings("ignore", message="IProgress not found")  # no ipywidgets here: text progress bars
    logging.getLogger("mxnet").setLevel(logging.ERROR)
    logging.getLogger("root").setLevel(logging.ERROR)
    try:
        import onnxruntime as ort

        ort.set_default_logger_severity(3)  # errors only: old exporters list weights as inputs, ORT warns per weight
    except ImportError:  # pragma: no cover
        pass
