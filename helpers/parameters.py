"""Notebook parameters: each range is written once, in the comment after the parameter in the cell tagged
``parameters`` (what ``papermill --help-notebook`` shows), and every notebook's second cell checks them all
with ``check_parameters("10_export_pytorch", globals())``. A comment states its range in one of these forms:
``1 to 100`` (the bound may be ``the cores`` or ``the newest opset``), ``True or False``, ``"fp32" or "int8"``
or ``one of "a", "b", "c"``, ``matching r"[a-z]+"``, or ``any text``. The rest says why; errors quote it.
Standard library only: every kernel (Python 3.8 included) imports it.

>>> Declared.parse("epochs", 12, "training epochs: 1 to 100").check(0)
Traceback (most recent call last):
...
ValueError: parameter epochs=0 is outside the supported range 1 to 100 (training epochs: 1 to 100).
"""

from __future__ import annotations

import ast
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping  # noqa: UP035 (Python 3.8 kernel)

from helpers.paths import repo_root

_NUMBER = r"-?\d[\d_,]*(?:\.\d+)?"
_RANGE = re.compile(rf"(?P<low>{_NUMBER}) to (?P<high>{_NUMBER}|the cores|the newest opset)\b")
_CHOICES = re.compile(r'(?:one of )?(?P<choices>"[^"]*"(?:, "[^"]*")*,? or "[^"]*"|"[^"]*"(?:, "[^"]*")+)')
_PATTERN = re.compile(r'matching r"(?P<pattern>[^"]+)"')
_LINE = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<value>[^#]+?)\s*#\s*(?P<help>.*)$")


def _number(text: str) -> float:
    if text == "the cores":
        return os.cpu_count() or 1
    if text == "the newest opset":
        import onnx

        return onnx.defs.onnx_opset_version()
    number = float(text.replace("_", "").replace(",", ""))
    return int(number) if number.is_integer() and "." not in text else number


@dataclass(frozen=True)
class Declared:
    """One parameter of a notebook: its default and what its comment allows."""

    name: str
    default: Any
    help: str
    kind: str  # "range", "bool", "choices", "pattern" or "text"
    low: str = ""
    high: str = ""
    choices: tuple[Any, ...] = ()
    pattern: str = ""

    @classmethod
    def parse(cls, name: str, default: Any, help: str) -> Declared:
        """Read the range out of a parameter's comment; ``ValueError`` when the comment states none."""
        if found := _PATTERN.search(help):
            return cls(name, default, help, "pattern", pattern=found["pattern"])
        if "True or False" in help:
            return cls(name, default, help, "bool", choices=(True, False))
        if found := _CHOICES.search(help):
            return cls(name, default, help, "choices", choices=tuple(re.findall(r'"([^"]*)"', found[0])))
        if found := _RANGE.search(help):
            return cls(name, default, help, "range", low=found["low"], high=found["high"])
        if "any text" in help:
            return cls(name, default, help, "text")
        raise ValueError(f"the comment of parameter {name} states no range: write one of `1 to 100`, `True or False`, "
                         f'`"a" or "b"`, `matching r"..."` or `any text` in it (it says: {help!r}).')

    def bounds(self) -> tuple[Any, Any]:
        """(low, high) of a range, with ``the cores`` and ``the newest opset`` read off this machine."""
        return _number(self.low), _number(self.high)

    def check(self, value: Any) -> Any:
        """Return ``value`` if the comment allows it, else raise a ``ValueError`` quoting the comment."""
        why = f" ({self.help.rstrip('.')})."
        if self.kind == "range":
            low, high = self.bounds()
            if isinstance(value, bool) or not isinstance(value, (int, float)):  # noqa: UP038 (Python 3.8)
                raise ValueError(f"parameter {self.name}={value!r} must be a number{why}")
            if not low <= value <= high:
                raise ValueError(f"parameter {self.name}={value!r} is outside the supported range {low} to {high}{why}")
        elif self.kind in ("bool", "choices") and (value not in self.choices or
                                                   self.kind == "bool" and not isinstance(value, bool)):
            raise ValueError(f"parameter {self.name}={value!r} is not {' or '.join(map(repr, self.choices))}{why}")
        elif self.kind == "pattern" and not (isinstance(value, str) and re.fullmatch(self.pattern, value)):
            raise ValueError(f"parameter {self.name}={value!r} does not match {self.pattern!r}{why}")
        return value


def declared_parameters(notebook: str | os.PathLike[str]) -> dict[str, Declared]:
    """Every parameter of ``notebook`` (a stem such as ``"10_export_pytorch"``, or a path) with its range.

    >>> declared_parameters("10_export_pytorch")["epochs"].bounds()
    (1, 100)
    """
    path = Path(notebook)
    if path.suffix != ".ipynb":
        path = repo_root() / "notebooks" / f"{notebook}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    source = next(("".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if source is None:
        raise ValueError(f"{path.name} has no cell tagged `parameters`: tag its first code cell for papermill.")
    lines = [_LINE.match(line) for line in source.splitlines()]
    return {m["name"]: Declared.parse(m["name"], ast.literal_eval(m["value"]), m["help"]) for m in lines if m}


def check_parameters(notebook: str | os.PathLike[str], values: Mapping[str, Any]) -> None:
    """Check every parameter of ``notebook`` in ``values`` (pass ``globals()``) against its comment's range;
    raises ``ValueError`` for the first value outside, quoting the comment."""
    for name, declared in declared_parameters(notebook).items():
        declared.check(values[name])


def check_parameter(name: str, value: Any, *, low: float, high: float, why: str = "") -> Any:
    """One value against an explicit range, for a bound that depends on another parameter.

    >>> check_parameter("threads", 3, low=1, high=2, why="2 cores")
    Traceback (most recent call last):
    ...
    ValueError: parameter threads=3 is outside the supported range 1 to 2 (2 cores).
    """
    return Declared(name, None, why, "range", low=str(low), high=str(high)).check(value)
