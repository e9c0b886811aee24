"""File sizes with external data, what quantization and float16 are measured by (notebook 32 writes out the
quantization calls themselves).

>>> from helpers.quantization import file_size_mb
>>> file_size_mb(__file__) < 1
True
"""

from __future__ import annotations

import os
from pathlib import Path


def file_size_mb(path: str | os.PathLike[str]) -> float:
    """Size of a file in MB (10^6 bytes); for an ``.onnx`` file, with the external-data files it references."""
    from helpers.inspect import external_data_files

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No file at {path}.")
    extra = external_data_files(path) if path.suffix == ".onnx" else []
    return (path.stat().st_size + sum(f.stat().st_size for f in extra if f.is_file())) / 1e6
