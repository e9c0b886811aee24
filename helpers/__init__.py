"""Shared helpers for the onnx-workbook notebooks.

Importing ``helpers`` is free: it loads no framework. Each concern lives in its
own module, and a module imports its heavy dependencies (onnx, onnxruntime,
torch, ...) inside the functions that need them, so every kernel can use it.

>>> import helpers
>>> from helpers import data, verify, inspect
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
