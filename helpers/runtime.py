"""Running ONNX models with ONNX Runtime: one session builder, and inputs checked before ``run``.

ONNX Runtime's own errors for a wrong input are accurate but terse ("Unexpected input data type",
"Invalid rank for input", "Required inputs (['x']) are missing"). :func:`validate_inputs` checks a
feed against the session's declared inputs *before* calling ``run`` and raises :class:`InputError`
naming the input, what it expects (dtype and shape with symbolic dimensions), what arrived, and the
fix. :class:`Session` wraps an ``InferenceSession`` and does that on every call.
:func:`make_session` builds a session from keyword arguments; notebooks 30 and 31 first set each
``SessionOptions`` field by hand. Introduced in notebooks/30_inference_onnxruntime.ipynb.

>>> from helpers.runtime import make_session, make_two_io_model
>>> session = make_session(make_two_io_model(), intra_op_threads=1, spinning=False)
>>> [i.name for i in session.get_inputs()]
['features', 'weights']
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "InputError",
    "ONNX_TO_NUMPY",
    "make_session",
    "Session",
    "validate_inputs",
    "capture_error",
    "make_two_io_model",
]

# -- the input validator: one implementation, in deploy/onnx_scoring.py ------------------------------
# The scoring folder must deploy on its own (numpy and onnxruntime only), so the validator lives there
# and this module loads that file by path; the endpoint and the workbook check inputs with the same code.
def _load_scoring() -> Any:
    import importlib.util
    import sys

    if "onnx_scoring" in sys.modules:
        return sys.modules["onnx_scoring"]
    path = Path(__file__).resolve().parent.parent / "deploy" / "onnx_scoring.py"
    spec = importlib.util.spec_from_file_location("onnx_scoring", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["onnx_scoring"] = module
    spec.loader.exec_module(module)
    return module


_scoring = _load_scoring()
#: ONNX Runtime's type strings and the numpy dtype each needs.
ONNX_TO_NUMPY = _scoring.ONNX_TO_NUMPY
#: A feed does not fit the model's declared inputs (name, dtype, rank or a fixed dimension).
InputError = _scoring.InputError
validate_inputs = _scoring.validate_inputs
_shape_text = _scoring._shape_text

_OPT_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED",
               "all": "ORT_ENABLE_ALL"}


def make_session(
    model: Any,
    *,
    intra_op_threads: int = 0,
    inter_op_threads: int = 0,
    parallel: bool = False,
    optimization: str = "all",
    optimized_path: str | os.PathLike[str] | None = None,
    profile_prefix: str | os.PathLike[str] | None = None,
    memory_arena: bool = True,
    spinning: bool | None = None,
    providers: Sequence[str] = ("CPUExecutionProvider",),
) -> Any:
    """An ``onnxruntime.InferenceSession`` with the common ``SessionOptions`` as arguments.

    model: an ONNX file path, ``ModelProto`` or serialized bytes.
    intra_op_threads: threads inside one operator (0 = ONNX Runtime's default, one per core).
    inter_op_threads: threads running independent operators at once (only with ``parallel=True``).
    parallel: ``ORT_PARALLEL`` execution mode instead of ``ORT_SEQUENTIAL``.
    optimization: graph optimization level, one of ``disable``, ``basic``, ``extended``, ``all``.
    optimized_path: also write the optimized graph to this file.
    profile_prefix: turn the profiler on; the trace is written to ``<prefix>_<date>.json`` by
        ``session.end_profiling()``.
    memory_arena: keep freed buffers in ONNX Runtime's arena for reuse (faster, holds memory).
    spinning: whether idle intra-op threads spin waiting for work (``None`` = ONNX Runtime's default, on);
        turn it off when other work shares the cores.
    """
    import onnxruntime as ort

    if optimization not in _OPT_LEVELS:
        raise ValueError(f"optimization={optimization!r} is not one of {sorted(_OPT_LEVELS)}.")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(intra_op_threads)
    opts.inter_op_num_threads = int(inter_op_threads)
    opts.execution_mode = ort.ExecutionMode.ORT_PARALLEL if parallel else ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, _OPT_LEVELS[optimization])
    if optimized_path is not None:
        Path(optimized_path).parent.mkdir(parents=True, exist_ok=True)
        opts.optimized_model_filepath = str(optimized_path)
    if profile_prefix is not None:
        Path(profile_prefix).parent.mkdir(parents=True, exist_ok=True)
        opts.enable_profiling = True
        opts.profile_file_prefix = str(profile_prefix)
    opts.enable_cpu_mem_arena = bool(memory_arena)
    if spinning is not None:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "1" if spinning else "0")
    from helpers.inspect import ensure_valid_model

    ensure_valid_model(model)  # one clear error (NotAnOnnxModelError) for a bad file, not ONNX Runtime's
    if hasattr(model, "SerializeToString"):
        model = model.SerializeToString()
    elif isinstance(model, (str, os.PathLike)):
        model = str(model)
    return ort.InferenceSession(model, sess_options=opts, providers=list(providers))


class Session:
    """An ``InferenceSession`` that checks inputs first and returns outputs by name.

    Example::

        s = Session("model.onnx")
        s.run({"image": x})["logits"].shape
        # (1, 10)
    """

    def __init__(self, model: Any, **options: Any) -> None:
        import onnxruntime as ort

        self.session = model if isinstance(model, ort.InferenceSession) else make_session(model, **options)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, feeds: Mapping[str, Any], outputs: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Validate ``feeds``, run, and return ``{output name: array}`` (all outputs when ``outputs`` is empty)."""
        names = list(outputs) if outputs else self.output_names
        unknown = [n for n in names if n not in self.output_names]
        if unknown:
            raise InputError(f"The model has no output {unknown}; its outputs are {self.output_names}.")
        return dict(zip(names, self.session.run(names, validate_inputs(self.session, feeds))))

    def __call__(self, *arrays: Any, **feeds: Any) -> dict[str, np.ndarray]:
        """Run with arrays in input order, or with keyword arguments named like the inputs."""
        if arrays:
            if len(arrays) != len(self.input_names):
                raise InputError(f"The model takes {len(self.input_names)} inputs {self.input_names}; "
                                 f"{len(arrays)} were given positionally.")
            feeds = dict(zip(self.input_names, arrays)) | feeds
        return self.run(feeds)

    def __repr__(self) -> str:
        return f"Session(inputs={self.input_names}, outputs={self.output_names})"


def capture_error(fn: Any, *args: Any, **kwargs: Any) -> str:
    """Call ``fn`` and return ``"<ExceptionType>: <first line of the message>"``; raise if it does not fail."""
    try:
        fn(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 - showing any error is the point
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return f"{type(err).__name__}: {first}"
    raise AssertionError(f"{getattr(fn, '__name__', fn)} did not raise; the example expected an error.")


def make_two_io_model(opset: int = 21) -> Any:
    """A tiny model with two inputs and two outputs, built with ``onnx.helper``.

    Inputs ``features`` (float32, [batch, 4]) and ``weights`` (float32, [4]); outputs ``weighted_sum``
    (float32, [batch]) and ``is_positive`` (bool, [batch]).
    """
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Mul", ["features", "weights"], ["weighted"]),
         helper.make_node("ReduceSum", ["weighted", "axes"], ["weighted_sum"], keepdims=0),
         helper.make_node("Greater", ["weighted_sum", "zero"], ["is_positive"])],
        "two_in_two_out",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 4]),
         helper.make_tensor_value_info("weights", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("weighted_sum", TensorProto.FLOAT, ["batch"]),
         helper.make_tensor_value_info("is_positive", TensorProto.BOOL, ["batch"])],
        initializer=[helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
                     helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="helpers.runtime", doc_string="Weighted sum and its sign.")
    model.ir_version = min(model.ir_version, 10)
    onnx.checker.check_model(model)
    return model
