"""Sizes of ONNX files, external data included: what quantization and float16 are measured by.

The quantization calls themselves (``quant_pre_process``, ``quantize_dynamic``, ``quantize_static`` with a
``CalibrationDataReader``, ``convert_float_to_float16``) are written out in
notebooks/32_quantization.ipynb, where they are introduced; ``helpers.benchmark.minilm_models`` repeats
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
    """Size of an ONNX file in MB (10^6 bytes), including a ``<file>.data`` external-data file beside it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No file at {path}.")
    extra = path.with_name(path.name + ".data")
    return (path.stat().st_size + (extra.stat().st_size if extra.exists() else 0)) / 1e6
