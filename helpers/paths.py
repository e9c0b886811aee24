"""Where the workbook keeps things: the repository, shipped data, build products.

Build products (executed notebooks, exported models, reports) all go under one
folder, ``build/`` at the repository root unless ``ONNX_WORKBOOK_BUILD`` names
another. Tests point that variable at a temporary folder so each run is clean.

>>> from helpers.paths import build_dir
>>> build_dir("models").name
'models'
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["BUILD_ENV", "repo_root", "data_dir", "build_dir", "models_dir", "reports_dir"]

#: Environment variable that moves every build product to another folder.
BUILD_ENV = "ONNX_WORKBOOK_BUILD"


def repo_root() -> Path:
    """The repository's root folder (the parent of the ``helpers`` package)."""
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The shipped data folder, ``data/``."""
    return repo_root() / "data"


def build_dir(*parts: str, create: bool = True) -> Path:
    """A folder under the build root, created on demand.

    >>> build_dir("reports").parts[-1]
    'reports'
    """
    root = repo_root() / Path(os.environ.get(BUILD_ENV) or "build")  # a relative setting is from the repo root
    path = root.joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir(*parts: str) -> Path:
    """Where notebooks write exported models: ``build/models/<parts>``."""
    return build_dir("models", *parts)


def reports_dir() -> Path:
    """Where reports (parity records, benchmark tables) go: ``build/reports``."""
    return build_dir("reports")
