"""Run-time repairs for known breakages in third-party converters, used by notebooks/14_export_coreml_libsvm.ipynb.

Each cites its upstream report and adds only what is missing, so it does nothing once a release fixes the bug.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

#: onnxmltools 1.14-1.16 deleted helpers its CoreML and LIBSVM converters import (fixed for CoreML in the
#: unmerged onnx/onnxmltools#776).
ONNXMLTOOLS_ISSUE = "https://github.com/onnx/onnxmltools/issues/735"

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


def patch_onnxmltools() -> list[str]:
    """Put back what onnxmltools' CoreML and LIBSVM converters import (onnx/onnxmltools#735) and register their
    pieces; returns the names it added, e.g. ``['data_types.find_type_conversion', 'utils.cast_list', ...]``."""
    import onnxmltools.convert.common.data_types as data_types
    import onnxmltools.convert.common.utils as utils
    from skl2onnx.common.utils import check_input_and_output_numbers, check_input_and_output_types

    import_coremltools()  # the CoreML converter's package imports coremltools: keep it light
    added = []
    for module, label, name, fn in (
        (data_types, "data_types", "find_type_conversion", _find_type_conversion),
        (utils, "utils", "cast_list", _cast_list),
        (utils, "utils", "check_input_and_output_numbers", check_input_and_output_numbers),  # skl2onnx kept them
        (utils, "utils", "check_input_and_output_types", check_input_and_output_types),
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
    """Let ``libsvm==3.23.0.4``, which calls ``scipy.ndarray`` (a numpy name SciPy no longer re-exports), take
    numpy arrays again: its ``scipy`` alias becomes numpy. Returns the modules it repaired."""
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

    onnxmltools sorts the labels but keeps the scores in LIBSVM's order (the order labels first appear in the
    training data), so class ``i`` gets the ``i``-th smallest label instead of ``model.get_labels()[i]``: the
    labels are wrong whenever that order is not ascending. Regressors pass through.
    """
    if not hasattr(libsvm_model, "get_labels"):
        raise TypeError(f"Expected a LIBSVM model (svm_model), got {type(libsvm_model).__name__}.")
    if libsvm_model.get_svm_type() not in (0, 1):  # C_SVC, NU_SVC: only classifiers have labels
        return onnx_model
    labels = [int(v) for v in libsvm_model.get_labels()]
    for node in onnx_model.graph.node:
        for attr in node.attribute:
            if node.op_type != "SVMClassifier" or attr.name != "classlabels_ints":
                continue
            if len(attr.ints) != len(labels):
                raise ValueError(f"The ONNX model has {len(attr.ints)} class labels, the LIBSVM model {len(labels)}; "
                                 "pass the LIBSVM model this ONNX model was converted from.")
            attr.ints[:] = labels
    return onnx_model


def import_coremltools() -> Any:
    """Import coremltools without letting it import TensorFlow, PyTorch and transformers (10-40 s on a busy
    machine), which CoreML specs and onnxmltools do not need: they are hidden only while it loads."""
    hidden = [name for name in ("tensorflow", "torch", "transformers") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        return importlib.import_module("coremltools")
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
