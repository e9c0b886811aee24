"""The workbook's reports: the parity records the notebooks append, and the README section they update.

The runner clears a notebook's records before it runs, and writes ``parity.md`` and ``parity.json`` after a run.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.paths import reports_dir
from helpers.report import write_report
from helpers.verify import PARITY_FILE, framework_name, parity_table


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


def remove_jsonl(path: str | os.PathLike[str], drop: Callable[[dict[str, Any]], bool]) -> int:
    """Delete the records for which ``drop(record)`` is true, in place and under the writers' lock
    (``helpers.report.append_jsonl``); returns how many. Unparsable lines are kept.

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


def _parity_file(path: str | os.PathLike[str] | None) -> Path:
    return Path(path) if path else reports_dir() / PARITY_FILE


def clear_parity_records(notebook: str, path: str | os.PathLike[str] | None = None) -> int:
    """Delete ``notebook``'s parity records; returns how many. Run before a notebook, so that a run that
    records nothing cannot pass on an earlier run's records."""
    return remove_jsonl(_parity_file(path), lambda rec: rec.get("notebook", "") == notebook)


def parity_records(path: str | os.PathLike[str] | None = None, latest_only: bool = True) -> list[dict[str, Any]]:
    """Read parity records; with ``latest_only`` keep the newest per (notebook, model, converter)."""
    records = read_jsonl(_parity_file(path))
    for rec in records:  # records written with another spelling read the same way
        if rec.get("framework"):
            rec["framework"] = framework_name(rec["framework"])
    if not latest_only:
        return records
    latest = {(rec.get("notebook", ""), rec.get("model", ""), rec.get("converter", "")): rec for rec in records}
    return list(latest.values())


def write_parity_report(path: str | os.PathLike[str] | None = None) -> tuple[Path, Path]:
    """Write ``parity.md`` and ``parity.json`` beside the records; returns both paths."""
    from helpers.environment import package_versions

    records = parity_records(path)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    versions = package_versions(["onnx", "onnxruntime"])
    header = f"Generated {stamp} with " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."
    return write_report("parity", f"{header}\n\n{parity_table(records).to_markdown()}",
                        {"generated": stamp, "versions": versions, "records": records}, _parity_file(path).parent)


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
