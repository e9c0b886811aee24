"""The helpers package and its unit tests also work in the legacy kernel (numpy 1.23, onnx 1.18)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENVS = Path(os.environ.get("WORKBOOK_VENVS", ROOT / ".venvs"))
LEGACY_PY = VENVS / "legacy" / "bin" / "python"


@pytest.fixture(scope="module")
def legacy_python():
    if not LEGACY_PY.exists():
        pytest.fail(f"The legacy kernel is missing ({LEGACY_PY}); run `make setup`.", pytrace=False)
    return LEGACY_PY


@pytest.mark.legacy
def test_helpers_unit_tests_pass_in_the_legacy_kernel(legacy_python, tmp_path):
    env = dict(os.environ, ONNX_WORKBOOK_BUILD=str(tmp_path))
    out = subprocess.run(
        # The exercises' checks are tested with the main kernel's frameworks; test_exercises.py checks that every
        # check module imports in this kernel too.
        [str(legacy_python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit",
         "--ignore-glob=tests/unit/test_exercises_*.py", "--ignore=tests/unit/exercises"],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600,
    )
    assert out.returncode == 0, f"legacy kernel unit tests failed:\n{out.stdout[-4000:]}\n{out.stderr[-2000:]}"
    assert " passed" in out.stdout.splitlines()[-1]


@pytest.mark.legacy
def test_legacy_kernel_has_the_pinned_old_stack(legacy_python):
    code = "import numpy, onnx, chainer, mxnet; print(numpy.__version__, onnx.__version__)"
    out = subprocess.run([str(legacy_python), "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    numpy_version, onnx_version = out.stdout.split()
    assert numpy_version.startswith("1.") and onnx_version.startswith("1.18")
