"""Notebook parameters: a range stated once, checked at the top of the notebook.

Readers change parameters in JupyterLab and CI pipelines pass them to papermill, so a value outside
what a notebook supports must fail at once, saying the range and why, instead of deep inside a cell.

>>> from helpers.parameters import check_parameter
>>> check_parameter("epochs", 3, low=1, high=200)
3
>>> check_parameter("opset", 12, low=18, why="the dynamo exporter writes opset 18 and later")
Traceback (most recent call last):
...
ValueError: parameter opset=12 is outside the supported range 18 and above: the dynamo exporter writes opset 18 and later.
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from typing import Any

__all__ = ["check_parameter", "notebook_parameters"]


def check_parameter(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: Collection[Any] | None = None,
    why: str = "",
) -> Any:
    """Return ``value`` if it is in range, else raise a ``ValueError`` naming the range and why.

    name: the parameter's name, as in the cell tagged ``parameters``.
    low, high: inclusive bounds for a number.
    choices: the allowed values, for anything else.
    why: what limits the range (and the way around it), appended to the message.
    """
    reason = f": {why.rstrip('.')}." if why else "."
    if choices is not None:
        if value not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise ValueError(f"parameter {name}={value!r} is not one of {allowed}{reason}")
        return value
    # a tuple, not int | float: helpers also runs in the mlnet kernel (Python 3.8)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"parameter {name}={value!r} must be a number{reason}")
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            span = f"{low} to {high}"
        elif low is not None:
            span = f"{low} and above"
        else:
            span = f"{high} and below"
        raise ValueError(f"parameter {name}={value!r} is outside the supported range {span}{reason}")
    return value


def notebook_parameters(source: str) -> dict[str, Any]:
    """The names and default values assigned at the top level of a ``parameters`` cell's source.

    >>> notebook_parameters("quick = False  # fast\\nopset = 18\\n")
    {'quick': False, 'opset': 18}
    """
    found: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                found[node.targets[0].id] = ast.unparse(node.value)
    return found
