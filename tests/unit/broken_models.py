"""A corpus of broken model files, made in code: mutated copies of the good tiny model of ``models.py``.

Each case is a file (or folder) the workbook did not make, as a reader might hand it to a helper:
cut short, empty, another format, a folder, an element type ONNX does not define, text that is not
UTF-8, tensor data that does not match its dims, and weights whose external data file is missing or
short. :func:`make_corpus` writes them all and returns ``{case: path}``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.unit.models import linear_model

#: What a helper must say for each case: the error type's name and a phrase of its message.
MISSING_FILE = "missing_file"


def _serialized(mutate: Callable[[object], None] | None = None) -> bytes:
    model = linear_model()
    if mutate is not None:
        mutate(model)
    return model.SerializeToString()


def _swap(data: bytes, marker: bytes, replacement: bytes) -> bytes:
    """Replace a unique marker with bytes of the same length, so every protobuf length stays right."""
    assert data.count(marker) == 1 and len(marker) == len(replacement)
    return data.replace(marker, replacement)


def _rename_op(model: object) -> None:
    model.graph.node[0].op_type = "MatMuX"


def _rename_attribute(model: object) -> None:
    model.graph.node[2].attribute[0].name = "axiZ"


def _unknown_initializer_type(model: object) -> None:
    model.graph.initializer[1].data_type = 99


def _unknown_input_type(model: object) -> None:
    model.graph.input[0].type.tensor_type.elem_type = 99


def _short_raw_data(model: object) -> None:
    b = model.graph.initializer[1]
    b.raw_data = b.raw_data[:-1]  # 11 bytes for 3 floats


def _overflowing_dims(model: object) -> None:
    w = model.graph.initializer[0]
    del w.dims[:]
    w.dims.extend([2**32, 2**32])  # numpy's product wraps to 0
    w.ClearField("raw_data")


def _external(folder: Path, name: str) -> Path:
    import onnx

    path = folder / f"{name}.onnx"
    onnx.save(linear_model(), path, save_as_external_data=True, location=f"{name}.onnx.data", size_threshold=0)
    return path


def make_corpus(folder: Path) -> dict[str, Path]:
    """Write every broken case under ``folder``; returns ``{case: path}`` (the missing file's path too)."""
    folder.mkdir(parents=True, exist_ok=True)
    good = _serialized()
    files: dict[str, bytes] = {
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "not_onnx_json": b'{"inputs": {"x": [[1, 2, 3, 4]]}}\n',
        "not_onnx_png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        "unknown_element_type_initializer": _serialized(_unknown_initializer_type),
        "unknown_element_type_input": _serialized(_unknown_input_type),
        "bad_utf8_op_type": _swap(_serialized(_rename_op), b"MatMuX", b"MatM\xff\xfe"),
        "bad_utf8_attribute_name": _swap(_serialized(_rename_attribute), b"axiZ", b"ax\xff\xfe"),
        "malformed_raw_tensor": _serialized(_short_raw_data),
        "overflowing_dims": _serialized(_overflowing_dims),
    }
    corpus = {}
    for case, data in files.items():
        path = folder / f"{case}.onnx"
        path.write_bytes(data)
        corpus[case] = path
    corpus["directory"] = folder / "a_folder.onnx"
    corpus["directory"].mkdir(exist_ok=True)
    (corpus["directory"] / "model.onnx").write_bytes(good)
    corpus["missing_external_data"] = _external(folder, "missing_external_data")
    (folder / "missing_external_data.onnx.data").unlink()
    corpus["short_external_data"] = _external(folder, "short_external_data")
    data_file = folder / "short_external_data.onnx.data"
    data_file.write_bytes(data_file.read_bytes()[:10])
    corpus[MISSING_FILE] = folder / "no_such_model.onnx"
    return corpus


#: The number of cases in the corpus (reported in the issue's closing note).
CASES = (
    "truncated", "empty", "not_onnx_json", "not_onnx_png", "unknown_element_type_initializer",
    "unknown_element_type_input", "bad_utf8_op_type", "bad_utf8_attribute_name", "malformed_raw_tensor",
    "overflowing_dims", "directory", "missing_external_data", "short_external_data", MISSING_FILE,
)
