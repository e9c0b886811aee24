"""What is installed and what machine this is: versions, CPU, cores, kernels. Notebook 00 shows the reader
their setup (17 and 19 compare kernels); reports label their numbers with it.

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
    "tensorflow": ("tensorflow-cpu", "tensorflow"),
    "tf": ("tensorflow-cpu", "tensorflow"),
    "sklearn": ("scikit-learn",),
    "xgboost": ("xgboost-cpu", "xgboost"),
    "libsvm": ("libsvm", "libsvm-official"),
}


def package_version(name: str) -> str:
    """The installed version of a package (by import or distribution name, or a module path such as
    ``onnxruntime.quantization``), or ``"not installed"``."""
    for dist in _ALIASES.get(name.lower(), (name,)):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    if "." in name:
        return package_version(name.split(".", 1)[0])
    return "not installed"


def package_versions(names: Iterable[str] = FRAMEWORKS, installed_only: bool = False) -> dict[str, str]:
    """``{name: version}`` for each package; reads metadata only, imports nothing."""
    found = {name: package_version(name) for name in names}
    return {k: v for k, v in found.items() if v != "not installed"} if installed_only else found


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo (none off Linux)."""
    path = Path("/proc/cpuinfo")
    lines = path.read_text().split("\n\n")[0].splitlines() if path.exists() else []
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in lines)}


def cpu_model() -> str:
    """The CPU's model name."""
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The CPU's feature flags (none where /proc/cpuinfo is missing)."""
    return set(_cpuinfo().get("flags", "").split())


def machine_info() -> dict[str, object]:
    """CPU model and flags, logical cores usable by this process, memory, OS and Python."""
    flags = cpu_flags()
    return {
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
        "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1),
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
    return {name: {"display_name": s["spec"]["display_name"], "python": s["spec"]["argv"][0]}
            for name, s in sorted(specs.items())}


def kernel_versions(kernel: str, names: Iterable[str] = FRAMEWORKS, timeout: float = 120) -> dict[str, str]:
    """:func:`package_versions` as another kernel's Python sees them, e.g.
    ``kernel_versions("onnx-workbook-legacy", ["numpy"])`` gives ``{'numpy': '1.23.5'}``."""
    import json
    import subprocess

    from helpers.paths import repo_root

    kernels = installed_kernels()
    if kernel not in kernels:
        raise LookupError(f"Kernel {kernel!r} is not installed (found {sorted(kernels)}); run `make setup`.")
    code = ("import json, sys\nfrom helpers.environment import package_versions\n"
            "print(json.dumps(package_versions(json.loads(sys.argv[1]))))")
    done = subprocess.run([str(kernels[kernel]["python"]), "-c", code, json.dumps(list(names))], cwd=repo_root(),
                          capture_output=True, text=True, timeout=timeout, check=True)
    return json.loads(done.stdout)
