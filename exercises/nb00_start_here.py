"""Checks of the exercises of notebooks/00_start_here.ipynb; reference solutions in exercises/solutions/00_start_here.py."""

from __future__ import annotations

from typing import Any

from exercises import exercise


@exercise("0.1", "which of numpy, onnx and onnxruntime have another version in the legacy kernel? answer the set")
def _check_kernel_difference(answer: Any, *, legacy: dict) -> str | None:
    from helpers.environment import package_versions

    names = ("numpy", "onnx", "onnxruntime")
    if not isinstance(answer, (set, frozenset, list, tuple)) or not all(isinstance(a, str) for a in answer):  # noqa: UP038
        return "answer a set of package names, e.g. {'name', ...}."
    main = package_versions(names)
    differ = {name for name in names if legacy.get(name) != main[name]}
    given = set(answer)
    if given - set(names):
        return f"only {', '.join(names)} are asked about; drop {sorted(given - set(names))}."
    if given != differ:
        return "not this set: compare the legacy table of section 3 with environment.package_versions() of this kernel."
    return None


@exercise("0.2", "read notebook 01's parameters cell; answer {parameter name: default value}")
def _check_parameters_of_01(answer: Any, *, notebook: Any) -> str | None:
    import ast

    import papermill

    # papermill reads the cell tagged `parameters` as `papermill --help-notebook` does: defaults as source text
    expected = {name: ast.literal_eval(p["default"]) for name, p in papermill.inspect_notebook(str(notebook)).items()}
    if not isinstance(answer, dict):
        return "answer a dict {name: default value}, one entry per assignment in the cell tagged `parameters`."
    if set(answer) != set(expected):
        return (f"the names are not the parameters cell's ({len(expected)} parameters, you have {len(answer)}): "
                "find the cell whose metadata tags include 'parameters'.")
    wrong = sorted(k for k in expected if answer[k] != expected[k] or type(answer[k]) is not type(expected[k]))
    if wrong:
        return f"the defaults of {wrong} differ: answer Python values (True, 21), not strings."
    return None
