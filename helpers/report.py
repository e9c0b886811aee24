"""Tables, JSON reports and :func:`glue`: what every notebook records, and the tables helpers return.

A :class:`Table` renders as markdown in a notebook and in the workbook's ``.md`` reports, as text in a terminal.

>>> t = Table([{"model": "cnn", "err": 1.5e-7}], title="Parity")
>>> print(t.to_markdown())
**Parity**
<BLANKLINE>
| model | err |
|---|---|
| cnn | 1.5e-07 |
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.paths import build_dir


def format_value(value: Any) -> str:
    """Format one cell: floats with 4 significant digits, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2g}" if abs(value) < 1e-3 else f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


@dataclass
class Table:
    """Rows of dicts with a column order; renders as markdown or plain text."""

    rows: list[Mapping[str, Any]]
    columns: Sequence[str] | None = None
    title: str = ""
    notes: list[str] = field(default_factory=list)

    def _columns(self) -> list[str]:
        return list(self.columns or dict.fromkeys(key for row in self.rows for key in row))

    def to_markdown(self) -> str:
        """The table as GitHub-flavoured markdown (title and notes included)."""
        cols = self._columns()
        lines = [f"**{self.title}**", ""] if self.title else []
        lines.append("| " + " | ".join(cols) + " |")
        lines.append("|" + "---|" * len(cols))
        for row in self.rows:
            lines.append("| " + " | ".join(format_value(row.get(c)) for c in cols) + " |")
        if self.notes:
            lines += [""] + [f"_{note}_" for note in self.notes]
        return "\n".join(lines)

    def to_text(self) -> str:
        """The table as aligned plain text, for terminals and logs."""
        cols = self._columns()
        cells = [[format_value(row.get(c)) for c in cols] for row in self.rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        out = [self.title] if self.title else []
        out += [fmt.format(*cols), fmt.format(*("-" * w for w in widths))]
        out += [fmt.format(*r) for r in cells]
        out += self.notes
        return "\n".join(out)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __str__(self) -> str:
        return self.to_text()

    def __len__(self) -> int:
        return len(self.rows)


def append_jsonl(path: str | os.PathLike[str], record: Mapping[str, Any]) -> None:
    """Append one JSON record as a line, in one locked write so that parallel writers do not interleave."""
    line = json.dumps(dict(record), default=str, sort_keys=False) + "\n"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)  # closing releases the lock


def write_json(path: str | os.PathLike[str], payload: Any) -> Path:
    """Write ``payload`` as indented JSON, creating parent folders; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def write_report(name: str, markdown: str, data: Any, folder: str | os.PathLike[str] | None = None) -> tuple[Path, Path]:
    """Write a report pair, ``<name>.md`` (for people) and ``<name>.json`` (for programs); returns both paths.

    folder: default ``build/reports``. The workbook's one report writer.
    """
    folder = Path(folder) if folder is not None else build_dir("reports")
    md = folder / f"{name}.md"
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(markdown.rstrip("\n") + "\n", encoding="utf-8")
    return md, write_json(folder / f"{name}.json", data)


def glue(name: str | None = None, value: Any = None, **values: Any) -> Any:
    """Record results of the running notebook for the tests to assert on; returns what was recorded.

    One value, ``glue("accuracy", 0.97)``, or several, ``glue(accuracy=0.97, opset=18)``.
    Values land in ``build/results/<notebook>.json`` (``interactive.json`` outside the workbook runner).

    >>> glue("accuracy", 0.97)
    0.97
    >>> glue(accuracy=0.97, opset=18)
    {'accuracy': 0.97, 'opset': 18}
    """
    if name is not None and values:
        raise TypeError("glue takes one name and value, or keyword arguments, not both")
    new = {name: value} if name is not None else values
    if not new:
        raise TypeError("glue needs something to record: glue('name', value) or glue(name=value, ...)")
    notebook = os.environ.get("WORKBOOK_NOTEBOOK") or "interactive"
    write_json(build_dir("results") / f"{notebook}.json", {**glued(notebook), **new})
    return value if name is not None else new


def glued(notebook: str) -> dict[str, Any]:
    """Everything a notebook recorded with :func:`glue` in its latest run ({} if nothing)."""
    path = build_dir("results") / f"{notebook}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
