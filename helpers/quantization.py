"""Smaller, faster ONNX models: dynamic int8, static int8 (QDQ, calibrated) and float16, with sizes.

Thin wrappers over ``onnxruntime.quantization`` and ``onnxruntime.transformers.float16`` with the
choices explained in notebooks/32_quantization.ipynb (where they are introduced): dynamic
quantization for transformers (activations vary per input, so their scale is computed at run time),
static QDQ for CNNs (activation ranges calibrated once on representative data), float16 to halve the
file (on CPUs without fast fp16 arithmetic it is rarely faster).

>>> from helpers.quantization import file_size_mb
>>> file_size_mb(__file__) < 1
True
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["file_size_mb", "quantize_dynamic_int8", "quantize_static_qdq", "to_float16", "ArrayCalibrationReader"]


def file_size_mb(path: str | os.PathLike[str]) -> float:
    """Size of an ONNX file in MB (10^6 bytes), including a ``<file>.data`` external-data file beside it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No file at {path}.")
    extra = path.with_name(path.name + ".data")
    return (path.stat().st_size + (extra.stat().st_size if extra.exists() else 0)) / 1e6


def quantize_dynamic_int8(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    per_channel: bool = True,
    reduce_range: bool = True,
    op_types: Sequence[str] | None = ("MatMul", "Gemm"),
) -> Path:
    """Dynamic int8 quantization: int8 weights, activation scales computed at run time.

    per_channel: one scale per output channel of each weight (better accuracy, same speed).
    reduce_range: 7-bit weights, which avoids overflow in the u8 x s8 multiply-add of AVX2 and
        AVX-512 CPUs without VNNI (on VNNI CPUs it costs a little accuracy for nothing).
    op_types: which operators to quantize (default MatMul and Gemm, the transformer's weights).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                     reduce_range=reduce_range, op_types_to_quantize=list(op_types) if op_types else None)
    return Path(dst)


class ArrayCalibrationReader:
    """A ``CalibrationDataReader`` over in-memory batches: ``{input name: array}`` dicts, one per step."""

    def __init__(self, batches: Iterable[Mapping[str, np.ndarray]]) -> None:
        self._batches = [dict(b) for b in batches]
        if not self._batches:
            raise ValueError("Calibration needs at least one batch of representative inputs.")
        self._iter = iter(self._batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._iter, None)

    def rewind(self) -> None:
        self._iter = iter(self._batches)


def quantize_static_qdq(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    calibration: Iterable[Mapping[str, np.ndarray]],
    *,
    per_channel: bool = True,
    reduce_range: bool = False,
    method: str = "MinMax",
) -> Path:
    """Static int8 quantization in QDQ format, calibrated on ``calibration`` batches.

    calibration: dicts ``{input name: array}`` of representative data (a few hundred samples).
    method: calibration method, ``MinMax``, ``Entropy`` or ``Percentile``.
    The model is pre-processed (shape inference, fusions) first, as ONNX Runtime recommends.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class _Reader(ArrayCalibrationReader, CalibrationDataReader):
        pass

    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    prepped = dst.with_name(dst.stem + ".prep.onnx")
    quant_pre_process(str(src), str(prepped), skip_symbolic_shape=True)
    try:
        quantize_static(str(prepped), str(dst), _Reader(calibration), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=per_channel,
                        reduce_range=reduce_range, calibrate_method=getattr(CalibrationMethod, method))
    finally:
        prepped.unlink(missing_ok=True)
    return dst


def to_float16(src: str | os.PathLike[str], dst: str | os.PathLike[str], keep_io_types: bool = True) -> Path:
    """Convert weights and arithmetic to float16; ``keep_io_types`` keeps float32 inputs and outputs."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=keep_io_types)
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst))
    return Path(dst)
