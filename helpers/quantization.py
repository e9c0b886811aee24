"""Sizes of ONNX files, external data included: what quantization and float16 are measured by.

The quantization calls themselves (``quant_pre_process``, ``quantize_dynamic``, ``quantize_static`` with a
``CalibrationDataReader``, ``convert_float_to_float16``) are written out in
notebooks/32_quantization.ipynb, where they are introduced; ``workbook.benchmark_parts.minilm_models`` repeats
them for the benchmark command.

>>> from helpers.quantization import file_size_mb
>>> file_size_mb(__file__) < 1
True
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["file_size_mb"]


def file_size_mb(path: str | os.PathLike[str]) -> float:
    """Size of a file in MB (10^6 bytes); for an ``.onnx`` file, with the external-data files it references
    (``helpers.inspect.external_data_files``: a location outside the model's folder is refused, not measured)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No file at {path}.")
    extra = 0
    if path.suffix == ".onnx":
        from helpers.inspect import external_data_files

        extra = sum(f.stat().st_size for f in external_data_files(path) if f.is_file())
    return (path.stat().st_size + extra) / 1e6
