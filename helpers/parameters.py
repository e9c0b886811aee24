"""Notebook parameters: each range written once, in the ``parameters`` cell's comment, checked by one call.

Readers change parameters in JupyterLab and CI pipelines pass them to papermill, so a value outside what a
notebook supports must fail at once, saying the range and why, instead of deep inside a cell. The range is
the comment after each assignment in the cell tagged ``parameters`` (what ``papermill --help-notebook``
shows), in one of these forms:

- ``1 to 100`` (numbers; ``the cores`` and ``the newest opset`` are this machine's values),
- ``True or False``,
- ``"fp32" or "int8"`` / ``one of "a", "b", "c"`` (quoted choices),
- ``matching r"[a-z]+"`` (text that matches the regular expression),
- ``any text`` (nothing to check).

The rest of the comment says what the parameter does and why the range is what it is; the error quotes it.
The notebook's second cell checks them all::

    check_parameters("10_export_pytorch", globals())

>>> Declared.parse("epochs", 12, "training epochs: 1 to 100").check(0)
Traceback (most recent call last):
...
ValueError: parameter epochs=0 is outside the supported range 1 to 100 (training epochs: 1 to 100).

Importable in every kernel, Python 3.8 included (standard library only).
"""

from __future__ import annotations

import ast
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping  # noqa: UP035 (Python 3.8 kernel)

__all__ = ["Declared", "declared_parameters", "check_parameters", "check_parameter"]

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
    low: Any = None
    high: Any = None
    choices: tuple[Any, ...] = ()
    pattern: str = ""

    @classmethod
    def parse(cls, name: str, default: Any, help: str) -> Declared:
        """Read the range out of a parameter's comment; ``ValueError`` when the comment states none."""
        found = _PATTERN.search(help)
        if found:
            return cls(name, default, help, "pattern", pattern=found["pattern"])
        if "True or False" in help:
            return cls(name, default, help, "bool", choices=(True, False))
        found = _CHOICES.search(help)
        if found:
            return cls(name, default, help, "choices", choices=tuple(re.findall(r'"([^"]*)"', found["choices"])))
        found = _RANGE.search(help)
        if found:
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
        elif self.kind in ("bool", "choices") and value not in self.choices or self.kind == "bool" and not isinstance(value, bool):
            allowed = " or ".join(repr(c) for c in self.choices)
            raise ValueError(f"parameter {self.name}={value!r} is not {allowed}{why}")
        elif self.kind == "pattern" and not (isinstance(value, str) and re.fullmatch(self.pattern, value)):
            raise ValueError(f"parameter {self.name}={value!r} does not match {self.pattern!r}{why}")
        return value

    def ends(self) -> list[Any]:
        """The values at the edges of what is allowed: both ends of a range, every choice."""
        if self.kind == "range":
            return list(self.bounds())
        return list(self.choices)

    def outside(self) -> Any | None:
        """A value just outside what is allowed (None for free text)."""
        if self.kind == "range":
            low, high = self.bounds()
            return high + 1 if isinstance(high, int) else high * 2 + 1
        if self.kind in ("bool", "choices"):
            return "not-a-choice"
        if self.kind == "pattern":
            return " "
        return None


def _parameters_source(notebook: str | os.PathLike[str]) -> str:
    path = Path(notebook)
    if path.suffix != ".ipynb":
        from helpers.paths import repo_root

        path = repo_root() / "notebooks" / f"{notebook}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return "".join(cell["source"])
    raise ValueError(f"{path.name} has no cell tagged `parameters`: tag its first code cell so papermill can inject values.")


def declared_parameters(notebook: str | os.PathLike[str]) -> dict[str, Declared]:
    """Every parameter of ``notebook`` (a stem such as ``"10_export_pytorch"``, or a path) with its range.

    >>> declared_parameters("10_export_pytorch")["epochs"].bounds()
    (1, 100)
    """
    declared = {}
    for line in _parameters_source(notebook).splitlines():
        found = _LINE.match(line)
        if found:
            name = found["name"]
            declared[name] = Declared.parse(name, ast.literal_eval(found["value"]), found["help"])
    return declared


def check_parameters(notebook: str | os.PathLike[str], values: Mapping[str, Any]) -> None:
    """Check every parameter of ``notebook`` in ``values`` (pass ``globals()``) against its comment's range.

    Raises ``ValueError`` for the first value outside its range, quoting the comment; returns nothing, so the
    call is a quiet last line of a cell.
    """
    for name, declared in declared_parameters(notebook).items():
        declared.check(values[name])


def check_parameter(name: str, value: Any, *, low: float = 0, high: float = 0, choices: Any = None, why: str = "") -> Any:
    """One value against an explicit range, for a bound that depends on another parameter.

    >>> check_parameter("threads", 3, low=1, high=2, why="2 cores")
    Traceback (most recent call last):
    ...
    ValueError: parameter threads=3 is outside the supported range 1 to 2 (2 cores).
    """
    if choices is not None:
        return Declared(name, None, why, "choices", choices=tuple(choices)).check(value)
    return Declared(name, None, why, "range", low=str(low), high=str(high)).check(value)
