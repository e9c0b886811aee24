"""Shared helpers for the onnx-workbook notebooks. Importing ``helpers`` loads no framework: each module
imports its heavy dependencies inside the functions that need them, so every kernel can use it."""

__version__ = "0.1.0"
