"""What is installed and what machine this is: versions, CPU, cores, kernel.

Used by notebook 00 to show the reader their setup, and by every report to label its numbers.

>>> from helpers.environment import package_version
>>> package_version("numpy") != "not installed"
True
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

__all__ = [
    "FRAMEWORKS",
    "package_version",
    "package_versions",
    "machine_info",
    "kernel_name",
    "versions_table",
    "installed_kernels",
    "kernel_versions",
    "environment_record",
]

#: The packages the workbook's notebooks use, in the order the reader meets them.
FRAMEWORKS = (
    "onnx", "onnxruntime", "onnxscript", "numpy", "torch", "tensorflow", "keras", "tf2onnx",
    "scikit-learn", "skl2onnx", "onnxmltools", "xgboost", "lightgbm", "catboost", "coremltools",
    "libsvm", "chainer", "mxnet", "netron", "azureml-inference-server-http", "azure-ai-ml",
    "azureml-core", "papermill", "jupyterlab",
)

# Names a reader says, mapped to the distributions that provide them (first installed wins).
_ALIASES = {
    "pytorch": ("torch",),
    "torch": ("torch",),
    "tensorflow": ("tensorflow-cpu", "tensorflow"),
    "tf": ("tensorflow-cpu", "tensorflow"),
    "sklearn": ("scikit-learn",),
    "xgboost": ("xgboost-cpu", "xgboost"),
    "libsvm": ("libsvm", "libsvm-official"),
    "torch.onnx": ("torch",),
    "keras": ("keras",),
}


def package_version(name: str) -> str:
    """The installed version of a package (by import or distribution name), or ``"not installed"``.

    >>> package_version("a-package-that-does-not-exist")
    'not installed'
    >>> package_version("onnxruntime.quantization") == package_version("onnxruntime")
    True
    """
    for dist in _ALIASES.get(name.lower(), (name,)):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    if "." in name:  # a module path such as onnxruntime.quantization: its package's version
        return package_version(name.split(".", 1)[0])
    return "not installed"


def package_versions(names: Iterable[str] = FRAMEWORKS, installed_only: bool = False) -> dict[str, str]:
    """``{name: version}`` for each package; reads metadata only, imports nothing."""
    found = {name: package_version(name) for name in names}
    return {k: v for k, v in found.items() if v != "not installed"} if installed_only else found


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def machine_info() -> dict[str, object]:
    """CPU model, logical cores usable by this process, memory, OS and Python."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    mem_gib = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem_gib = round(pages / 2**30, 1)
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        pass
    flags = _cpu_flags()
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "memory_gib": mem_gib,
        "avx512_vnni": "avx512_vnni" in flags,
        "avx2": "avx2" in flags,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def kernel_name() -> str:
    """The workbook kernel this Python belongs to (``main``, ``legacy``) or the venv's folder name."""
    return Path(sys.prefix).name


def versions_table(names: Iterable[str] = FRAMEWORKS) -> object:
    """A :class:`helpers.report.Table` of package versions in this kernel."""
    from helpers.report import Table

    rows = [{"package": k, "version": v} for k, v in package_versions(names).items()]
    return Table(rows, title=f"Packages in the {kernel_name()} kernel (Python {platform.python_version()})")


def installed_kernels() -> dict[str, dict[str, object]]:
    """The Jupyter kernels this environment can start: ``{name: {"display_name", "python"}}``."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().get_all_specs()
    return {
        name: {"display_name": s["spec"]["display_name"], "python": s["spec"]["argv"][0]}
        for name, s in sorted(specs.items())
    }


def kernel_versions(kernel: str, names: Iterable[str] = FRAMEWORKS, timeout: float = 120) -> dict[str, str]:
    """Package versions as seen by another kernel's Python (runs it in a subprocess).

    Example::

        kernel_versions("onnx-workbook-legacy", ["numpy"])
        # {'numpy': '1.23.5'}
    """
    import json
    import subprocess

    kernels = installed_kernels()
    if kernel not in kernels:
        raise LookupError(
            f"Kernel {kernel!r} is not installed (found {sorted(kernels)}); run `make setup` to create it."
        )
    code = (
        "import json, sys\nfrom importlib import metadata\nout = {}\n"
        "for n in json.loads(sys.argv[1]):\n"
        "    try: out[n] = metadata.version(n)\n"
        "    except metadata.PackageNotFoundError: out[n] = 'not installed'\n"
        "print(json.dumps(out))"
    )
    wanted = [d for n in names for d in _ALIASES.get(n.lower(), (n,))]
    done = subprocess.run(
        [str(kernels[kernel]["python"]), "-c", code, json.dumps(wanted)],
        capture_output=True, text=True, timeout=timeout, check=True,
    )
    found = json.loads(done.stdout)
    result = {}
    for n in names:
        dists = _ALIASES.get(n.lower(), (n,))
        result[n] = next((found[d] for d in dists if found.get(d, "not installed") != "not installed"), "not installed")
    return result


def environment_record(names: Iterable[str] = FRAMEWORKS) -> dict[str, object]:
    """The machine and, for each workbook kernel installed, its package versions (installed ones only).

    The runner writes it to ``build/reports/environment.json`` after a run, and the book shows it.
    A kernel whose Python cannot be asked is listed with the reason instead of versions.
    """
    import datetime as _dt

    kernels: dict[str, object] = {}
    for name, spec in installed_kernels().items():
        if not name.startswith("onnx-workbook-"):
            continue
        try:
            found = kernel_versions(name, names)
            kernels[name] = {"display_name": spec["display_name"],
                             "versions": {k: v for k, v in found.items() if v != "not installed"}}
        except Exception as err:  # a broken kernel must not hide the others
            kernels[name] = {"display_name": spec["display_name"], "error": f"{type(err).__name__}: {err}"[:300]}
    return {"recorded": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine_info(),
            "kernels": kernels}
