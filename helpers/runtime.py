"""ONNX Runtime sessions: the workbook's one session builder, and a session that checks inputs before ``run``.

Notebook 30 shows :class:`Session` and :func:`capture_error`, notebook 31 :func:`make_session`'s options.
Introduced in notebooks/30_inference_onnxruntime.ipynb.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers.inspect import ensure_valid_model


def _load_scoring() -> Any:
    """deploy/onnx_scoring.py, loaded by path: the endpoint deploys it alone, and the workbook checks inputs
    with the same code."""
    import importlib.util
    import sys

    if "onnx_scoring" not in sys.modules:
        path = Path(__file__).resolve().parent.parent / "deploy" / "onnx_scoring.py"
        spec = importlib.util.spec_from_file_location("onnx_scoring", path)
        sys.modules["onnx_scoring"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["onnx_scoring"])
    return sys.modules["onnx_scoring"]


#: A feed does not fit the model's declared inputs (name, dtype, rank or a fixed dimension).
InputError = _load_scoring().InputError
validate_inputs = _load_scoring().validate_inputs

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
    """An ``onnxruntime.InferenceSession`` of a valid model (path, ``ModelProto`` or bytes), options as arguments.

    intra_op_threads, inter_op_threads: 0 is ONNX Runtime's default (inter-op threads need ``parallel=True``).
    optimization: ``disable``, ``basic``, ``extended`` or ``all``; optimized_path: write the optimized graph there.
    profile_prefix: profile; ``session.end_profiling()`` writes ``<prefix>_<date>.json``.
    spinning: whether idle threads spin waiting for work (``None``: ONNX Runtime's default, on).

    >>> session = make_session(make_two_io_model(), intra_op_threads=1, spinning=False)
    >>> [i.name for i in session.get_inputs()]
    ['features', 'weights']
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
        for pool in ("intra_op", "inter_op"):
            opts.add_session_config_entry(f"session.{pool}.allow_spinning", "1" if spinning else "0")
    ensure_valid_model(model)  # NotAnOnnxModelError for a bad file, not ONNX Runtime's raw error
    if hasattr(model, "SerializeToString"):
        model = model.SerializeToString()
    elif isinstance(model, (str, os.PathLike)):
        model = str(model)
    return ort.InferenceSession(model, sess_options=opts, providers=list(providers))


class Session:
    """An ``InferenceSession`` that checks inputs first (:class:`InputError`) and returns outputs by name.

    >>> s = Session(make_two_io_model())
    >>> s(np.ones((1, 4), np.float32), np.ones(4, np.float32))["weighted_sum"]
    array([4.], dtype=float32)
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
            feeds = {**dict(zip(self.input_names, arrays)), **feeds}
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
    """A tiny model built with ``onnx.helper``: ``features`` [batch, 4] and ``weights`` [4] in, ``weighted_sum``
    [batch] and ``is_positive`` [batch] out."""
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
