"""Pre-flight for a workshop: will this machine run the workbook? (``make doctor``)

An attendee runs it the day before. Each row is a check with a verdict (``ok``, ``warn`` for what only some
notebooks need, ``FAIL`` for what the workshop needs) and, when it is not ok, the fix. The command exits
non-zero when a row fails. It needs only the standard library, so it runs before setup has finished; the
kernel and endpoint rows start the kernels' own interpreters.

    python3 -m workbook.doctor            # what `make doctor` runs
    python3 -m workbook.doctor --quick    # skip the rows that start interpreters and the endpoint

>>> disk_verdict(free_bytes=50 * 2**30, need_gb=8).status
'ok'
>>> disk_verdict(free_bytes=2 * 2**30, need_gb=8).status
'FAIL'
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Verdict", "disk_verdict", "memory_verdict", "python_verdict", "port_verdict", "command_verdict",
    "kernel_verdict", "endpoint_verdict", "run_checks", "render", "main",
]

ROOT = Path(__file__).resolve().parent.parent
#: Packages each kernel must import, and whether the workshop needs that kernel (else a missing one warns).
KERNEL_IMPORTS = {
    "onnx-workbook-main": (("numpy", "onnx", "onnxruntime", "torch", "tensorflow", "sklearn", "skl2onnx",
                            "tf2onnx", "azureml_inference_server_http"), True),
    "onnx-workbook-legacy": (("numpy", "onnx", "onnxruntime", "chainer", "mxnet"), False),
    "onnx-workbook-mlnet": (("numpy", "nimbusml"), False),
}


@dataclass
class Verdict:
    """One row of the pre-flight table."""

    check: str
    status: str  # "ok", "warn" or "FAIL"
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def _row(check: str, good: bool, detail: str, fix: str, *, required: bool = True) -> Verdict:
    return Verdict(check, "ok" if good else "FAIL" if required else "warn", detail, "" if good else fix)


def python_verdict(version: tuple[int, int] | None, wanted: tuple[int, int] = (3, 11), *, name: str = "python3.11",
                   required: bool = True, fix: str = "") -> Verdict:
    """Is there an interpreter of the ``wanted`` version (``version`` None: none was found)?"""
    found = "none found" if version is None else f"{name} is {version[0]}.{version[1]}"
    return _row(f"Python {wanted[0]}.{wanted[1]}", version == wanted, found,
                fix or f"install Python {wanted[0]}.{wanted[1]} (e.g. `pyenv install {wanted[0]}.{wanted[1]}`) "
                       "or point WORKBOOK_PYTHON at one", required=required)


def disk_verdict(free_bytes: int, need_gb: float) -> Verdict:
    """Enough free disk for the kernels and build products?"""
    free_gb = free_bytes / 2**30
    return _row("Free disk", free_gb >= need_gb, f"{free_gb:.1f} GiB free, {need_gb:g} GiB needed",
                "free some space, or clone the workbook onto a larger disk")


def memory_verdict(available_bytes: int | None, need_gb: float = 4) -> Verdict:
    """Enough memory available to train and run the notebooks' models?"""
    if available_bytes is None:
        return Verdict("Memory", "warn", "could not read /proc/meminfo", f"make sure {need_gb:g} GiB are free")
    gb = available_bytes / 2**30
    return _row("Memory", gb >= need_gb, f"{gb:.1f} GiB available, {need_gb:g} GiB needed",
                "close other programs (browsers with many tabs, other notebooks' kernels)")


def port_verdict(port: int, host: str = "127.0.0.1") -> Verdict:
    """Is ``port`` free for JupyterLab (``make lab``)?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
            free = True
        except OSError:
            free = False
    return _row(f"Port {port}", free, "free" if free else "in use",
                "another server listens there: stop it (`jupyter lab list`, then `jupyter lab stop PORT`) or run "
                "`make lab LAB_PORT=8890`")


def command_verdict(check: str, command: str, fix: str, *, required: bool = True, what: str = "") -> Verdict:
    """Is ``command`` on the PATH?"""
    path = shutil.which(command)
    return _row(check, path is not None, f"{path}{what}" if path else f"no `{command}` on the PATH", fix,
                required=required)


def kernel_verdict(kernel: str, python: str | None, modules: Sequence[str], *, required: bool = True,
                   runner: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> Verdict:
    """Does ``kernel`` exist and import its key packages? (``python`` None: the kernel is not registered)."""
    check = f"Kernel {kernel.removeprefix('onnx-workbook-')}"
    if python is None:
        return _row(check, False, "not installed", "run `make setup`", required=required)
    code = ("import importlib, json, sys\nbad = []\nfor m in sys.argv[1:]:\n    try: importlib.import_module(m)\n"
            "    except Exception as e: bad.append(f'{m} ({type(e).__name__}: {e})'[:160])\nprint(json.dumps(bad))")
    try:
        done = runner([python, "-c", code, *modules], capture_output=True, text=True, timeout=300, check=False)
        bad = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else [done.stderr.strip()[-160:]]
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError) as err:
        bad = [f"{type(err).__name__}: {err}"[:160]]
    return _row(check, not bad, f"imports {', '.join(modules)}" if not bad else "cannot import " + "; ".join(bad),
                "run `make setup` again; if it persists, delete .venvs/ and run `make setup`", required=required)


def endpoint_verdict(main_python: str | None, timeout: float = 120,
                     runner: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> Verdict:
    """Can the local endpoint (the Azure ML inference server with deploy/score.py) start and answer?"""
    if main_python is None:
        return _row("Local endpoint", False, "the main kernel is not installed", "run `make setup`")
    code = (
        "import tempfile, numpy as np, onnx\nfrom onnx import TensorProto, helper\n"
        "from helpers.serve import LocalEndpoint, package_model\n"
        "g = helper.make_graph([helper.make_node('Relu', ['x'], ['y'])], 'g',\n"
        "    [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', 4])],\n"
        "    [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['batch', 4])])\n"
        "m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])\n"
        "d = tempfile.mkdtemp(); onnx.save(m, d + '/m.onnx')\n"
        "with LocalEndpoint('deploy/score.py', package_model(d + '/m.onnx', d + '/models', 'doctor')) as ep:\n"
        "    r = ep.post({'inputs': {'x': [[1.0, -1.0, 2.0, -2.0]]}})\n"
        "    print(r.status)\n"
    )
    try:
        done = runner([main_python, "-c", code], capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT)
        status = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        detail = f"answered HTTP {status}" if status else (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        good = status == "200"
    except (OSError, subprocess.TimeoutExpired) as err:
        good, detail = False, f"{type(err).__name__}: {err}"[:200]
    return _row("Local endpoint", good, detail,
                "run `make setup`; if the server starts but fails, run notebook 40 and read its log cell")


def _mem_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _version_of(python: str) -> tuple[int, int] | None:
    path = shutil.which(python) or (python if Path(python).exists() else None)
    if not path:
        return None
    try:
        out = subprocess.run([path, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                             text=True, timeout=30, check=True).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def _kernels(venvs: Path) -> dict[str, str]:
    """Registered kernels -> their interpreter, read from the main venv's kernelspecs (no Jupyter import)."""
    found = {}
    for spec in (venvs / "main" / "share" / "jupyter" / "kernels").glob("*/kernel.json"):
        try:
            found[spec.parent.name] = json.loads(spec.read_text())["argv"][0]
        except (OSError, ValueError, KeyError, IndexError):
            continue
    return found


def run_checks(*, quick: bool = False, lab_port: int = 8888, venvs: Path | None = None) -> list[Verdict]:
    """Every pre-flight check, in the order an attendee would fix them."""
    venvs = venvs or Path(os.environ.get("WORKBOOK_VENVS", ROOT / ".venvs"))
    python = os.environ.get("WORKBOOK_PYTHON", "python3.11")
    py38 = subprocess.run(["bash", str(ROOT / "scripts" / "find_python38.sh")], capture_output=True, text=True,
                          check=False) if (ROOT / "scripts" / "find_python38.sh").exists() else None
    installed = (venvs / "main" / "bin" / "python").exists()
    rows = [
        python_verdict(_version_of(python), name=python),
        python_verdict(_version_of(py38.stdout.strip()) if py38 and py38.returncode == 0 else None, (3, 8),
                       name="python3.8", required=False,
                       fix="only the ML.NET notebooks (18, 19) need it: `pyenv install 3.8.18`, then `make setup`"),
        disk_verdict(shutil.disk_usage(ROOT).free, need_gb=2 if installed else 8),
        memory_verdict(_mem_available()),
        command_verdict("Chromium", "chromium", "only Netron's PNG pictures need it: `sudo apt-get install chromium` "
                        "(Ubuntu's chromium is a snap that cannot be driven headless from here: use Google Chrome's "
                        ".deb, or do without the pictures)", required=False),
        command_verdict("Node.js", "node", "only notebook 42 needs it: `sudo apt-get install nodejs npm`", required=False),
        command_verdict("Java", "java", "only notebook 45 (Spark) needs it: `sudo apt-get install openjdk-17-jre-headless`",
                        required=False),
        port_verdict(lab_port),
    ]
    kernels = _kernels(venvs)
    if not quick:
        for name, (modules, required) in KERNEL_IMPORTS.items():
            rows.append(kernel_verdict(name, kernels.get(name), modules, required=required))
        rows.append(endpoint_verdict(kernels.get("onnx-workbook-main")))
    return rows


def render(rows: Sequence[Verdict], color: bool = False) -> str:
    """The rows as an aligned text table, failures and warnings in colour when ``color``."""
    paint = {"ok": "\033[32m", "warn": "\033[33m", "FAIL": "\033[31m"} if color else {}
    width = max(len(r.check) for r in rows)
    lines = []
    for r in rows:
        status = f"{paint.get(r.status, '')}{r.status:<4}{chr(27) + '[0m' if color else ''}"
        lines.append(f"{status}  {r.check:<{width}}  {r.detail}")
        if r.fix:
            lines.append(f"      {'':<{width}}  fix: {r.fix}")
    failed = sum(r.failed for r in rows)
    warned = sum(r.status == "warn" for r in rows)
    lines.append(f"\n{len(rows) - failed - warned} ok, {warned} warnings, {failed} failed"
                 + (": fix the FAIL rows before the workshop." if failed else "."))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the table; exit 1 when a row failed."""
    parser = argparse.ArgumentParser(prog="python3 -m workbook.doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the kernel imports and the endpoint start")
    parser.add_argument("--lab-port", type=int, default=8888, help="the port `make lab` will use (default 8888)")
    args = parser.parse_args(argv)
    rows = run_checks(quick=args.quick, lab_port=args.lab_port)
    print(render(rows, color=sys.stdout.isatty()))
    return 1 if any(r.failed for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
