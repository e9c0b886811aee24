"""Tables and JSON reports: one small implementation shared by notebooks, tests and commands.

A :class:`Table` renders as markdown in a notebook (and as text in a terminal),
so results show as a table without pandas.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Table", "format_value", "append_jsonl", "remove_jsonl", "read_jsonl", "write_json", "write_report",
           "glue", "glued", "replace_section"]


def format_value(value: Any) -> str:
    """Format one cell: floats with 4 significant digits, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if 1e-3 <= abs(value) < 1e5:
            return f"{value:.4g}"
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
        if self.columns:
            return list(self.columns)
        seen: dict[str, None] = {}
        for row in self.rows:
            seen.update(dict.fromkeys(row))
        return list(seen)

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
    """Append one JSON record as a line; one locked write, so parallel writers (and
    :func:`remove_jsonl`) do not interleave."""
    line = json.dumps(dict(record), default=str, sort_keys=False) + "\n"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)  # closing releases the lock


def remove_jsonl(path: str | os.PathLike[str], drop: Callable[[dict[str, Any]], bool]) -> int:
    """Delete the records for which ``drop(record)`` is true, in place and under the writers' lock;
    returns how many were deleted (0 when the file does not exist). Unparsable lines are kept.

    >>> remove_jsonl("/no/such/file.jsonl", lambda r: True)
    0
    """
    path = Path(path)
    if not path.exists():
        return 0
    with open(path, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        lines = handle.read().splitlines(keepends=True)
        keep = []
        for line in lines:
            try:
                record = json.loads(line) if line.strip() else None
            except json.JSONDecodeError:
                record = None
            if not (isinstance(record, dict) and drop(record)):
                keep.append(line)
        if len(keep) != len(lines):
            handle.seek(0)
            handle.truncate()
            handle.write("".join(keep))
        return len(lines) - len(keep)


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read the records of a JSON-lines file ([] when it does not exist); bad lines are named."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{number} is not valid JSON ({err.msg}); delete the line or the file.") from err
    return records


def write_json(path: str | os.PathLike[str], payload: Any) -> Path:
    """Write ``payload`` as indented JSON, creating parent folders; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def write_report(name: str, markdown: str, data: Any, folder: str | os.PathLike[str] | None = None) -> tuple[Path, Path]:
    """Write a report pair, ``<name>.md`` (for people) and ``<name>.json`` (for programs); returns both paths.

    folder: default ``build/reports``. The workbook's one report writer: the run summary, parity, benchmark,
    load and Spark reports all come through here.
    """
    if folder is None:
        from helpers.paths import build_dir

        folder = build_dir("reports")
    md = Path(folder) / f"{name}.md"
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(markdown.rstrip("\n") + "\n", encoding="utf-8")
    return md, write_json(Path(folder) / f"{name}.json", data)



def glue(name: str | Mapping[str, Any] | None = None, value: Any = None, **values: Any) -> Any:
    """Record results of the running notebook for the tests to assert on; returns what was recorded.

    One value, ``glue("accuracy", 0.97)``, or all of a notebook's claims in one call,
    ``glue(accuracy=0.97, opset=18)`` (or a mapping). Values land in ``build/results/<notebook>.json``
    (the notebook's name comes from the workbook runner; in an interactive session it is
    ``interactive``).

    >>> glue("accuracy", 0.97)
    0.97
    >>> glue(accuracy=0.97, opset=18)
    {'accuracy': 0.97, 'opset': 18}
    """
    from helpers.paths import build_dir

    if isinstance(name, str):
        if values:
            raise TypeError("glue takes one name and value, or keyword arguments, not both")
        new, single = {name: value}, True
    else:
        new, single = {**dict(name or {}), **values}, False
        if not new:
            raise TypeError("glue needs something to record: glue('name', value) or glue(name=value, ...)")
    notebook = os.environ.get("WORKBOOK_NOTEBOOK") or "interactive"
    path = build_dir("results") / f"{notebook}.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data.update(new)
    write_json(path, data)
    return value if single else new


def glued(notebook: str) -> dict[str, Any]:
    """Everything a notebook recorded with :func:`glue` in its latest run ({} if nothing)."""
    from helpers.paths import build_dir

    path = build_dir("results") / f"{notebook}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def replace_section(path: str | os.PathLike[str], name: str, text: str) -> bool:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->`` in a file.

    Returns False (and changes nothing) when the file has no such markers.

    >>> import tempfile
    >>> readme = Path(tempfile.mkdtemp()) / "README.md"
    >>> _ = readme.write_text("# T\\n<!-- parity:start -->\\nold table\\n<!-- parity:end -->\\n")
    >>> replace_section(readme, "parity", "| new table |"), "old" in readme.read_text()
    (True, False)
    >>> replace_section(readme, "benchmark", "| ... |")
    False
    """
    path = Path(path)
    content = path.read_text(encoding="utf-8")
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in content or end not in content:
        return False
    head, rest = content.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{text.strip()}\n{end}{tail}", encoding="utf-8")
    return True
