"""Where the workbook keeps things: the repository, shipped data, and build products (executed notebooks,
exported models, reports) under ``build/``, or the folder ``ONNX_WORKBOOK_BUILD`` names (tests set it).

>>> build_dir("models").name
'models'
"""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The repository's root folder (the parent of the ``helpers`` package)."""
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The shipped data folder, ``data/``."""
    return repo_root() / "data"


def build_dir(*parts: str) -> Path:
    """A folder under the build root, created on demand."""
    path = repo_root().joinpath(os.environ.get("ONNX_WORKBOOK_BUILD") or "build", *parts)  # relative: to the repo
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir(*parts: str) -> Path:
    """Where notebooks write exported models: ``build/models/<parts>``."""
    return build_dir("models", *parts)


def reports_dir() -> Path:
    """Where reports (parity records, benchmark tables) go: ``build/reports``."""
    return build_dir("reports")
