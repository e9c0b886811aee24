"""What Spark's Python workers need to score with ONNX Runtime: shipped with the job, not installed.

A real cluster (Databricks, Synapse, Fabric, a standalone Spark cluster) has onnxruntime, numpy and
pandas on its workers, but not this repository. notebooks/45_batch_scoring_spark.ipynb ships this one
file with the job, ``spark.sparkContext.addPyFile(".../deploy/spark_scoring.py")``, and the scoring
functions import it inside the worker (``from spark_scoring import worker_session``). It needs only
onnxruntime (imported on first use) and the standard library.

Why a module at all, when the scoring functions are defined in the notebook: a function shipped to
Spark is unpickled for every task, so a session cache kept in the notebook's globals starts empty each
time; a module is imported once per Python worker process, and Spark reuses workers
(``spark.python.worker.reuse``), so a session created here lives as long as its worker.
"""

from __future__ import annotations

from typing import Any

__all__ = ["worker_session", "session_count"]

_SESSIONS: dict[tuple[str, int], Any] = {}


def worker_session(path: str, threads: int = 1) -> Any:
    """One ONNX Runtime session per Python process for ``(path, threads)``, created on first use.

    path: the model file on this worker (``SparkFiles.get(name)`` after ``addFile``).
    threads: ONNX Runtime intra-op threads; threads times concurrent tasks should not exceed the cores.
    Spinning is off: on a shared machine, waiting threads that spin take time slices other tasks need.
    """
    key = (str(path), int(threads))
    if key not in _SESSIONS:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        _SESSIONS[key] = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return _SESSIONS[key]


def session_count() -> int:
    """How many sessions :func:`worker_session` created in this process."""
    return len(_SESSIONS)
