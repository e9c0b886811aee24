"""Run-time repairs for known breakages in third-party converters, each citing its upstream report.

onnxmltools 1.14-1.16 still ship the CoreML and LIBSVM converters, but they import
helpers that were deleted from ``onnxmltools.convert.common`` when onnxconverter-common
was folded in (``find_type_conversion``, ``cast_list``, ``check_input_and_output_numbers``,
``check_input_and_output_types`` and the ``common.data_types.data_types`` module path).
Importing them fails with ``ImportError``: upstream issue onnx/onnxmltools#735
(https://github.com/onnx/onnxmltools/issues/735), fixed for CoreML in the unmerged
pull request onnx/onnxmltools#776. The CoreML converter also forgets to import its own
shape calculators and converters ("Unsupported shape calculation for operator ...").

The ``libsvm==3.23.0.4`` binding uses ``scipy`` as an alias of numpy (``scipy.ndarray``,
``scipy.asarray``), which SciPy removed long ago; with SciPy installed, training on
numpy arrays fails with ``AttributeError: Module 'scipy' has no attribute 'ndarray'``.

And the LIBSVM converter has a silent bug: it sorts the class labels while the support
vectors and scores stay in LIBSVM's own order (the order in which labels first appear in
the training data), so the ONNX labels are wrong whenever that order is not ascending
(a binary model comes out fully inverted). :func:`fix_libsvm_class_labels` rewrites the
labels in LIBSVM's order. Introduced in notebooks/14_export_coreml_libsvm.ipynb.

Every function here only adds what is missing: once a release fixes the bug, it does nothing.

Example::

    from helpers.workarounds import patch_onnxmltools
    patched = patch_onnxmltools()   # names what it added
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

__all__ = [
    "ONNXMLTOOLS_ISSUE",
    "ONNXMLTOOLS_FIX_PR",
    "patch_onnxmltools",
    "patch_libsvm",
    "fix_libsvm_class_labels",
    "import_coremltools",
]

#: The upstream report of the broken imports, and the pull request that fixes CoreML.
ONNXMLTOOLS_ISSUE = "https://github.com/onnx/onnxmltools/issues/735"
ONNXMLTOOLS_FIX_PR = "https://github.com/onnx/onnxmltools/pull/776"

_DATA_TYPES_ALIAS = "onnxmltools.convert.common.data_types.data_types"


def _find_type_conversion(source_type: Any, target_type: Any) -> str:
    """The operator that turns ``source_type`` into ``target_type`` (onnxconverter-common's old helper)."""
    from onnxmltools.convert.common.data_types import FloatTensorType

    if type(source_type) is type(target_type):
        return "identity"
    if type(target_type) is FloatTensorType:
        return "imageToFloatTensor"
    raise ValueError(f"Unsupported type conversion from {source_type} to {target_type}.")


def _cast_list(kind: Any, items: Sequence[Any]) -> list[Any]:
    """``[kind(item) for item in items]`` (onnxconverter-common's old helper)."""
    return [kind(item) for item in items]


def _count_range(value: Any) -> tuple[int | None, int | None]:
    if isinstance(value, (list, tuple)):
        return value[0], value[1]
    return value, value


def _check_input_and_output_numbers(operator: Any, input_count_range: Any = None,
                                    output_count_range: Any = None) -> None:
    """Raise if the operator has too few or too many inputs or outputs (old helper)."""
    for what, items, allowed in (("input", operator.inputs, input_count_range),
                                 ("output", operator.outputs, output_count_range)):
        low, high = _count_range(allowed)
        if low is not None and len(items) < low:
            raise RuntimeError(f"{operator.full_name} needs at least {low} {what}s, it has {len(items)}.")
        if high is not None and len(items) > high:
            raise RuntimeError(f"{operator.full_name} takes at most {high} {what}s, it has {len(items)}.")


def _check_input_and_output_types(operator: Any, good_input_types: Any = None,
                                  good_output_types: Any = None) -> None:
    """Raise if an input or output of the operator has a type outside the allowed ones (old helper)."""
    for what, items, good in (("input", operator.inputs, good_input_types),
                              ("output", operator.outputs, good_output_types)):
        if good is None:
            continue
        for variable in items:
            if type(variable.type) not in good:
                raise RuntimeError(
                    f"{operator.full_name}: {what} {variable.full_name} has type {type(variable.type).__name__}; "
                    f"allowed: {[t.__name__ for t in good]}."
                )


def patch_onnxmltools() -> list[str]:
    """Put back what onnxmltools' CoreML and LIBSVM converters import, and register their pieces.

    Adds only what is missing (onnx/onnxmltools#735), so it is safe to call
    twice and does nothing on a fixed release. Returns the names it added.

    Example::

        patch_onnxmltools()
        # ['data_types.find_type_conversion', 'utils.cast_list', ...]
    """
    import importlib

    import onnxmltools.convert.common.data_types as data_types
    import onnxmltools.convert.common.utils as utils

    import_coremltools()  # the CoreML converter's package imports coremltools: keep it light
    added = []
    for module, label, name, fn in (
        (data_types, "data_types", "find_type_conversion", _find_type_conversion),
        (utils, "utils", "cast_list", _cast_list),
        (utils, "utils", "check_input_and_output_numbers", _check_input_and_output_numbers),
        (utils, "utils", "check_input_and_output_types", _check_input_and_output_types),
    ):
        if not hasattr(module, name):
            setattr(module, name, fn)
            added.append(f"{label}.{name}")
    try:
        importlib.import_module(_DATA_TYPES_ALIAS)
    except ImportError:
        sys.modules[_DATA_TYPES_ALIAS] = data_types
        added.append(_DATA_TYPES_ALIAS.removeprefix("onnxmltools.convert.common."))
    # The CoreML converter never imports its registrations (fixed in onnx/onnxmltools#776). Its
    # neural-network converters stay out: they import ``onnx.onnx_proto``, gone from onnx.
    for sub in ("shape_calculators", "operator_converters"):
        importlib.import_module(f"onnxmltools.convert.coreml.{sub}")
    importlib.import_module("onnxmltools.convert.libsvm")
    return added


def patch_libsvm() -> list[str]:
    """Let ``libsvm==3.23.0.4`` take numpy arrays again: its ``scipy`` alias becomes numpy.

    The binding calls ``scipy.ndarray``, ``scipy.asarray`` and friends, numpy names
    that SciPy no longer re-exports. Returns the modules it repaired.
    """
    import importlib

    import numpy as np

    importlib.import_module("libsvm.svmutil")  # puts the binding's folder on sys.path, as onnxmltools expects
    repaired = []
    for name in ("svm", "svmutil", "commonutil", "libsvm.svm", "libsvm.svmutil", "libsvm.commonutil"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        alias = getattr(module, "scipy", None)
        if alias is not None and alias is not np and not hasattr(alias, "ndarray"):
            module.scipy = np
            repaired.append(name)
    return repaired


def fix_libsvm_class_labels(onnx_model: Any, libsvm_model: Any) -> Any:
    """Rewrite ``classlabels_ints`` of every ``SVMClassifier`` node in LIBSVM's class order; returns the model.

    onnxmltools sorts the labels but keeps the support vectors, coefficients and
    scores in LIBSVM's order, so class ``i`` of the scores gets the ``i``-th
    smallest label instead of ``model.get_labels()[i]``. Regressors pass through.
    """
    if not hasattr(libsvm_model, "get_labels"):
        raise TypeError(f"Expected a LIBSVM model (svm_model), got {type(libsvm_model).__name__}.")
    if libsvm_model.get_svm_type() not in (0, 1):  # C_SVC, NU_SVC: only classifiers have labels
        return onnx_model
    labels = [int(v) for v in libsvm_model.get_labels()]
    for node in onnx_model.graph.node:
        if node.op_type != "SVMClassifier":
            continue
        for attr in node.attribute:
            if attr.name == "classlabels_ints":
                if len(attr.ints) != len(labels):
                    raise ValueError(
                        f"The ONNX model has {len(attr.ints)} class labels, the LIBSVM model {len(labels)}; "
                        "pass the LIBSVM model this ONNX model was converted from."
                    )
                del attr.ints[:]
                attr.ints.extend(labels)
    return onnx_model


def import_coremltools(skip: Sequence[str] = ("tensorflow", "torch", "transformers")) -> Any:
    """Import coremltools without letting it import TensorFlow and PyTorch; returns the module.

    coremltools imports every framework it can convert from when it loads: TensorFlow,
    PyTorch and, through them, transformers, which takes 10-40 s on a busy 2-core
    machine. The CoreML spec, its builders and onnxmltools' converter need none of
    them, so they are hidden while coremltools loads (it then reports them missing
    and keeps its TensorFlow and PyTorch converters off). Frameworks already imported
    are left alone, and nothing stays hidden afterwards.

    Example::

        ct = import_coremltools()
    """
    import importlib

    if "coremltools" in sys.modules:
        return sys.modules["coremltools"]
    hidden = [name for name in skip if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        return importlib.import_module("coremltools")
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
