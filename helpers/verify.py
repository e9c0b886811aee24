"""Check a conversion: the source framework's outputs against ONNX Runtime's, on the same inputs.

Every export notebook ends with :func:`check_conversion`, which compares the outputs, shows the result
as a table and appends a record to ``build/reports/parity.jsonl``. Introduced in notebooks/01_onnx_basics.ipynb.

>>> import numpy as np
>>> r = compare_outputs({"y": np.ones((2, 3))}, {"y": np.ones((2, 3)) + 1e-7}, name="demo")
>>> r.passed, str(r).startswith("demo: pass")
(True, True)
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from helpers.paths import reports_dir
from helpers.report import Table, append_jsonl

#: The JSON-lines file, under ``build/reports``, that collects parity records.
PARITY_FILE = "parity.jsonl"
#: The environment variable the workbook runner sets to the notebook being executed.
NOTEBOOK_ENV = "WORKBOOK_NOTEBOOK"

#: The report's one name per framework; names not listed are kept as given (``chainer``, ``libsvm``, ...).
FRAMEWORK_NAMES = {
    "pytorch": "PyTorch", "torch": "PyTorch",
    "tensorflow": "TensorFlow", "tensorflow-cpu": "TensorFlow", "tf": "TensorFlow",
    "keras": "Keras", "tf.keras": "Keras",
    "sklearn": "scikit-learn", "scikit-learn": "scikit-learn",
    "xgboost": "xgboost", "xgboost-cpu": "xgboost", "lightgbm": "lightgbm", "catboost": "catboost",
    "onnxruntime": "onnxruntime", "onnx runtime": "onnxruntime",
}

Outputs = Union[Mapping[str, Any], Sequence[Any], np.ndarray]


class ParityError(ValueError):
    """The two sets of outputs cannot be compared (missing output, shape or dtype mismatch)."""


@dataclass
class OutputComparison:
    """How one output of the framework compares with the same output from ONNX Runtime."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    max_abs_err: float
    max_rel_err: float
    allclose: bool
    mismatched: int  # elements outside the tolerance (or unequal, for labels and strings)


@dataclass
class ParityResult:
    """The verdict of one comparison, with the numbers behind it."""

    name: str
    outputs: list[OutputComparison]
    rtol: float
    atol: float
    n_samples: int
    label_agreement: float | None = None
    min_label_agreement: float = 1.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def max_abs_err(self) -> float:
        """The largest absolute error over all numeric outputs."""
        return max((o.max_abs_err for o in self.outputs), default=0.0)

    @property
    def max_rel_err(self) -> float:
        """The largest relative error over all numeric outputs."""
        return max((o.max_rel_err for o in self.outputs), default=0.0)

    @property
    def passed(self) -> bool:
        """All outputs within tolerance, and labels agreeing at least ``min_label_agreement``."""
        labels_ok = self.label_agreement is None or self.label_agreement >= self.min_label_agreement
        return labels_ok and all(o.allclose for o in self.outputs)

    @property
    def verdict(self) -> str:
        """``"pass"`` or ``"fail"``."""
        return "pass" if self.passed else "fail"

    def __str__(self) -> str:
        labels = "" if self.label_agreement is None else f", labels agree {self.label_agreement:.2%}"
        worst = [o.name for o in self.outputs if not o.allclose]
        why = f" (outside tolerance: {', '.join(worst)})" if worst else ""
        return (
            f"{self.name}: {self.verdict} on {self.n_samples} samples, max abs err {self.max_abs_err:.3g}, "
            f"max rel err {self.max_rel_err:.3g} (rtol={self.rtol:g}, atol={self.atol:g}){labels}{why}"
        )

    def table(self) -> Table:
        """One row per output, for display in a notebook."""
        return Table([asdict(o) for o in self.outputs], title=f"{self.name}: {self.verdict.upper()}", notes=[str(self)])

    def _repr_markdown_(self) -> str:
        return self.table().to_markdown()

    def assert_passed(self) -> ParityResult:
        """Raise ``AssertionError`` with the details unless the check passed; returns self."""
        if not self.passed:
            raise AssertionError(f"Parity check failed: {self}")
        return self

    def to_record(self) -> dict[str, Any]:
        """A flat JSON-able record for the parity report."""
        return {
            "time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "notebook": os.environ.get(NOTEBOOK_ENV, ""),
            "model": self.name,
            **self.meta,
            **{key: getattr(self, key) for key in ("n_samples", "max_abs_err", "max_rel_err", "rtol", "atol",
                                                   "label_agreement", "verdict")},
            "outputs": [asdict(o) | {"shape": list(o.shape)} for o in self.outputs],
            "python": platform.python_version(),
            "kernel": Path(sys.prefix).name,
        }


def framework_name(framework: str | None) -> str:
    """The parity report's one name for a framework (:data:`FRAMEWORK_NAMES`); raises :class:`ParityError` for none.

    >>> framework_name("torch"), framework_name("Keras"), framework_name("tensorflow"), framework_name("chainer")
    ('PyTorch', 'Keras', 'TensorFlow', 'chainer')
    """
    text = str(framework or "").strip()
    if not text:
        raise ParityError("A parity record needs the source framework: pass framework='PyTorch' (or the library that made the "
                          "reference outputs) to check_conversion, or set result.meta['framework'] before record_parity.")
    return FRAMEWORK_NAMES.get(text.lower(), text)


def _as_named(outputs: Outputs, names: Sequence[str] | None, side: str) -> dict[str, Any]:
    """Outputs by name: a mapping as is, a list (or one array) named by ``names`` in order (fewer is fine)."""
    if isinstance(outputs, Mapping):
        return dict(outputs)
    single = isinstance(outputs, np.ndarray) or np.isscalar(outputs) or hasattr(outputs, "detach")
    outputs = [outputs] if single else list(outputs)
    names = list(names) if names is not None else [f"output_{i}" for i in range(len(outputs))]
    if len(outputs) > len(names):
        raise ParityError(f"{side} gave {len(outputs)} outputs but there are {len(names)} names ({names}); "
                          "pass one name per output.")
    return dict(zip(names, outputs))


def _to_array(value: Any) -> np.ndarray:
    """Turn framework tensors, lists and ZipMap outputs (lists of dicts) into numpy arrays."""
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # tf tensor
        value = value.numpy()
    if isinstance(value, list) and value and isinstance(value[0], Mapping):  # skl2onnx ZipMap
        keys = sorted(value[0])
        value = [[row[k] for k in keys] for row in value]
    return np.asarray(value)


def _labels_from(arrays: Mapping[str, np.ndarray], label_output: str | None) -> np.ndarray | None:
    if label_output is not None:
        arr = arrays[label_output]
        return arr if arr.dtype.kind in "iuUSOb" else arr.argmax(axis=-1)
    for arr in arrays.values():  # a label output (integers or strings) wins
        if arr.dtype.kind in "iuUSOb" and arr.ndim <= 2:
            return arr.reshape(len(arr), -1)[:, 0] if arr.ndim == 2 else arr
    for arr in arrays.values():  # else the argmax of the first score output
        if arr.dtype.kind == "f" and arr.ndim >= 2:
            return arr.argmax(axis=-1)
    return None


def _compare_one(key: str, e: np.ndarray, a: np.ndarray, rtol: float, atol: float,
                 classification: bool) -> OutputComparison:
    """Numbers within ``np.isclose``; labels, strings and booleans exactly (judged by label agreement instead when
    ``classification``)."""
    if e.shape != a.shape:
        if e.size != a.size or e.squeeze().shape != a.squeeze().shape:
            raise ParityError(f"Output {key!r}: the framework gave shape {e.shape}, ONNX Runtime gave {a.shape}. "
                              "Check the batch dimension and that both ran on the same inputs.")
        a = a.reshape(e.shape)  # e.g. labels as (N,) against (N, 1)
    if e.dtype.kind not in "fc" and a.dtype.kind not in "fc":
        equal = e.astype(str) == a.astype(str) if e.dtype.kind in "USO" else e == a
        return OutputComparison(key, e.shape, str(a.dtype), 0.0, 0.0, classification or bool(equal.all()),
                                int((~equal).sum()))
    if e.dtype.kind not in "fciub" or a.dtype.kind not in "fciub":
        raise ParityError(f"Output {key!r}: cannot compare numbers with {a.dtype if e.dtype.kind in 'fc' else e.dtype} "
                          f"values (framework dtype {e.dtype}, ONNX Runtime dtype {a.dtype}).")
    e64, a64 = e.astype(np.float64), a.astype(np.float64)
    diff = np.where(np.isnan(e64) & np.isnan(a64), 0.0, np.abs(e64 - a64))
    rel = np.where(diff == 0, 0.0, diff / np.maximum(np.abs(e64), np.finfo(np.float64).tiny))
    close = np.isclose(a64, e64, rtol=rtol, atol=atol, equal_nan=True)
    return OutputComparison(key, e.shape, str(a.dtype), float(np.nanmax(diff, initial=0.0)),
                            float(np.nanmax(rel, initial=0.0)), bool(close.all()), int((~close).sum()))


def compare_outputs(
    expected: Outputs,
    actual: Outputs,
    *,
    names: Sequence[str] | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    classification: bool = False,
    label_output: str | None = None,
    min_label_agreement: float = 1.0,
    name: str = "model",
) -> ParityResult:
    """Compare the framework's outputs (``expected``) with ONNX Runtime's (``actual``); :class:`ParityError` when
    an output is missing, shapes differ, or there is nothing to compare.

    expected, actual: dicts of named outputs, lists in the same order (named by ``names``), or one array.
    rtol, atol: the tolerance of ``np.isclose`` for floating-point outputs.
    classification: also measure label agreement (from an integer or string output, else the argmax
        of the first score output, or ``label_output``); min_label_agreement: the share needed to pass.
    """
    exp = {k: _to_array(v) for k, v in _as_named(expected, names, "The framework").items()}
    act = {k: _to_array(v) for k, v in _as_named(actual, names, "ONNX Runtime").items()}
    if not exp:
        raise ParityError(f"Nothing to compare: the framework's outputs are empty (ONNX Runtime gave {sorted(act)}). "
                          "Pass the source framework's outputs on the same inputs as `expected`.")
    missing = [k for k in exp if k not in act]
    if missing:
        raise ParityError(f"ONNX Runtime gave no output named {missing}; it gave {sorted(act)}. "
                          "Name the outputs at export time, or pass both sides as lists in the same order.")
    comparisons = [_compare_one(key, e, act[key], rtol, atol, classification) for key, e in exp.items()]
    n_samples = max(c.shape[0] if c.shape else 1 for c in comparisons)
    agreement = None
    if classification:
        le, la = _labels_from(exp, label_output), _labels_from(act, label_output)
        if le is None or la is None:
            raise ParityError("classification=True but no output holds labels or scores; "
                              "pass label_output='<name>' to say which one does.")
        agreement = float(np.mean(le.astype(str).ravel() == la.astype(str).ravel()))
    return ParityResult(name, comparisons, rtol, atol, n_samples, agreement, min_label_agreement)


def run_onnx(
    model: Any,
    inputs: Mapping[str, Any] | np.ndarray | Sequence[np.ndarray],
    output_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run a model (path, ``ModelProto`` or session) in ONNX Runtime; returns ``{output name: value}``.

    inputs: a dict by input name, one array for a single-input model, or a list in the model's input order.
    """
    import onnxruntime as ort

    from helpers.runtime import make_session

    sess = model if isinstance(model, ort.InferenceSession) else make_session(model)
    declared = [i.name for i in sess.get_inputs()]
    if not isinstance(inputs, Mapping):
        arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
        if len(arrays) != len(declared):
            raise ParityError(f"The model takes {len(declared)} inputs {declared}, {len(arrays)} were given; "
                              "pass a dict {input name: array}.")
        inputs = dict(zip(declared, arrays))
    unknown = sorted(set(inputs) - set(declared))
    if unknown:
        raise ParityError(f"The model has no input named {unknown}; its inputs are {declared}.")
    names = list(output_names) if output_names else [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, dict(inputs))))


def _opset(model: Any) -> int | str | None:
    """The model's ai.onnx opset, else its first domain's (classic ML models may declare only ``ai.onnx.ml``)."""
    from helpers.inspect import load_model
    from helpers.opset import opset_of

    if hasattr(model, "get_inputs"):
        return None  # a session: no proto to read
    proto = load_model(model, load_external_data=False)
    return opset_of(proto, default=None) or next((f"{o.domain} {o.version}" for o in proto.opset_import), None)


def check_conversion(
    model: Any,
    inputs: Mapping[str, Any] | np.ndarray | Sequence[np.ndarray],
    expected: Outputs,
    *,
    name: str,
    framework: str,
    converter: str,
    framework_version: str | None = None,
    converter_version: str | None = None,
    output_names: Sequence[str] | None = None,
    record: bool = True,
    **compare: Any,
) -> ParityResult:
    """Run ``model`` (file, ``ModelProto`` or session) in ONNX Runtime on ``inputs``, compare with ``expected``
    (the framework's outputs: by ONNX output name, or a list in output order), record the result.

    name, framework, converter: how the record names the model and the tools (versions default to the
        installed packages'). compare: passed to :func:`compare_outputs` (rtol, atol, classification, ...).
    A failed check does not raise, so a notebook can show it; call ``.assert_passed()`` to enforce it.
    """
    from helpers.environment import package_version

    framework = framework_name(framework)
    actual = run_onnx(model, inputs, output_names)
    result = compare_outputs(expected, actual, names=list(actual), name=name, **compare)
    result.meta = {
        "framework": framework,
        "framework_version": framework_version or package_version(framework.split()[0].lower()),
        "converter": converter,
        "converter_version": converter_version or package_version(converter.split()[0].lower()),
        "opset": _opset(model),
        "onnxruntime_version": package_version("onnxruntime"),
    }
    if record:
        record_parity(result)
    return result


def record_parity(result: ParityResult, **meta: Any) -> Path:
    """Append ``result`` to the parity report, ``build/reports/parity.jsonl``; returns its path.

    meta: set or override fields of ``result.meta`` first (``framework=`` is required, ``converter=``, ...).
    """
    result.meta = {**result.meta, **meta}
    result.meta["framework"] = framework_name(result.meta.get("framework"))
    append_jsonl(reports_dir() / PARITY_FILE, result.to_record())
    return reports_dir() / PARITY_FILE


def parity_table(records: Sequence[Mapping[str, Any]]) -> Table:
    """Parity records (``result.to_record()``) as a table: framework, converter, opset, max error, verdict."""
    columns = ("notebook", "model", "framework", "framework_version", "converter", "converter_version", "opset",
               "max_abs_err", "label_agreement", "verdict")
    passed = sum(r.get("verdict") == "pass" for r in records)
    return Table(list(records), columns, title="ONNX conversion parity",
                 notes=[f"{passed} of {len(records)} conversions pass."])
