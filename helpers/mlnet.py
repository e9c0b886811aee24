"""ML.NET from the main kernel (notebook 19): run a job in the mlnet kernel's interpreter (Python 3.8, NimbusML).

Nothing here imports NimbusML.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

MLNET_KERNEL = "onnx-workbook-mlnet"


def _mlnet_python() -> Path:
    """The mlnet kernel's interpreter, from its kernelspec; ``FileNotFoundError`` saying how to get it."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        python = Path(KernelSpecManager().get_kernel_spec(MLNET_KERNEL).argv[0])
    except NoSuchKernel:
        python = None
    if python is None or not python.exists():
        raise FileNotFoundError(f"The {MLNET_KERNEL} kernel is missing: it needs Python 3.8 (`pyenv install 3.8.18` "
                                "or WORKBOOK_PYTHON38), then `make setup`.")
    return python


def run_in_mlnet(code: str, workdir: str | os.PathLike[str], *, timeout: float = 300) -> dict[str, Any]:
    """Run Python ``code`` in the mlnet kernel's interpreter, in ``workdir``; return the ``result.json`` it writes there.

    The code reads its inputs from files in ``workdir`` (``.npy`` the caller saved). ``RuntimeError`` carries the
    end of the child's error output when it fails.
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
        done = subprocess.run([str(_mlnet_python()), script.name], cwd=workdir, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        raise TimeoutError(f"The ML.NET job in {script} ran longer than {timeout:.0f} s.") from err
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-6:])
        raise RuntimeError(f"The ML.NET job failed (exit {done.returncode}):\n{tail}")
    if not result.exists():
        raise RuntimeError(f"The ML.NET job ran but wrote no {result.name} in {workdir}.")
    return json.loads(result.read_text(encoding="utf-8"))
