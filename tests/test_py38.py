"""What the mlnet kernel (CPython 3.8) imports stays Python 3.8 code, checked statically on every machine.

The modules are listed in one place, pyproject.toml's ``[tool.ruff.per-file-target-version]``, where ruff
lints them with ``target-version = "py38"``: syntax newer than 3.8 (a ``match`` statement, parenthesized
context managers, ...) is an error there. This file proves that list covers everything notebook 18 imports,
including imports inside functions, and that the check fails on a 3.9+ construct.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("helpers", "exercises")


def py38_files() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {path for path, version in config["tool"]["ruff"]["per-file-target-version"].items() if version == "py38"}


def _module_file(name: str) -> Path | None:
    parts = name.split(".")
    for candidate in (ROOT.joinpath(*parts).with_suffix(".py"), ROOT.joinpath(*parts, "__init__.py")):
        if candidate.exists():
            return candidate
    return None


def imported_closure(roots: list[str]) -> set[str]:
    """Every file of the workbook's packages reachable from ``roots`` (module names) through any import."""
    seen: set[Path] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        for prefix in [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)]:
            path = _module_file(prefix)
            if path is None or path in seen:
                continue
            seen.add(path)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
                    todo += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                elif isinstance(node, ast.Import):
                    todo += [a.name for a in node.names if a.name.split(".")[0] in PACKAGES]
    return {str(p.relative_to(ROOT)) for p in seen}


def mlnet_notebook_imports() -> list[str]:
    names = []
    for nb in ROOT.glob("notebooks/*.ipynb"):
        if json.loads(nb.read_text(encoding="utf-8"))["metadata"]["kernelspec"]["name"] != "onnx-workbook-mlnet":
            continue
        code = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]
                         if c["cell_type"] == "code")
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
                names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names += [a.name for a in node.names if a.name.split(".")[0] in PACKAGES]
        names += [f"exercises.{m}" for m in re.findall(r"\b(nb\d\d_\w+)", " ".join(p.stem for p in ROOT.glob("exercises/nb*.py")))
                  if m.startswith("nb" + nb.stem[:2])]
    return names


def test_every_module_the_mlnet_kernel_imports_is_linted_as_python_38():
    needed = imported_closure(mlnet_notebook_imports())
    assert "exercises/nb18_export_mlnet.py" in needed and "helpers/legacy.py" in needed
    missing = sorted(needed - py38_files())
    assert not missing, f"add these to [tool.ruff.per-file-target-version] as \"py38\" in pyproject.toml: {missing}"


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_the_python_38_modules_pass_ruff_as_python_38():
    done = _ruff(*sorted(py38_files()))
    assert done.returncode == 0, done.stdout[-3000:]


def test_the_py38_check_fails_on_syntax_newer_than_3_8(tmp_path):
    sample = tmp_path / "newer.py"
    sample.write_text("with (open('a') as a, open('b') as b):\n    pass\nmatch a:\n    case _:\n        pass\n")
    assert _ruff("--isolated", "--target-version", "py38", str(sample)).returncode != 0
    assert _ruff("--isolated", "--target-version", "py311", str(sample)).returncode == 0
