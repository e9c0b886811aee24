"""Batch scoring script for an Azure Machine Learning batch endpoint: ONNX Runtime over Parquet files.

An Azure ML batch deployment (``ModelBatchDeployment``) calls ``init()`` once per worker process and
``run(mini_batch)`` with a list of input file paths (``mini_batch_size`` files at a time). Each file is
a Parquet table with an ``id`` column and a ``pixels`` column (64 floats per row: the digits CNN's 8x8
image), as notebooks/45_batch_scoring_spark.ipynb writes them. ``run`` returns a pandas DataFrame with
one row per input row: ``id``, ``prediction``, ``error`` (the reason a row was not scored: wrong
length, NaN) and ``file``; with ``output_action="append_row"`` Azure appends them to one output file.
A file that cannot be read gives one row with the reason instead of failing the mini-batch.

Settings (environment variables): ``AZUREML_MODEL_DIR`` (set by Azure: the registered model's folder),
``BATCH_MODEL_FILE`` (which .onnx file when the folder holds several), ``ORT_THREADS`` (ONNX Runtime
threads per process, default 1: instances x ``max_concurrency_per_instance`` processes share the cores).
"""

from __future__ import annotations

import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # onnx_scoring.py ships beside this file

import numpy as np  # noqa: E402
import onnx_scoring  # noqa: E402

logger = logging.getLogger("batch_score")
session = None
PIXELS = 64


def init() -> None:
    """Open one ONNX Runtime session per process (Azure calls this once, before any ``run``)."""
    global session
    import onnxruntime as ort

    path = onnx_scoring.find_model(os.environ.get("AZUREML_MODEL_DIR"), os.environ.get("BATCH_MODEL_FILE"))
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("ORT_THREADS", "1"))
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    logger.info("batch_score: loaded %s", path)


def score_table(table) -> dict:  # noqa: ANN001 - a pyarrow.Table
    """Predictions for one table's rows: ``{"id", "prediction", "error"}``; bad rows get a reason."""
    ids = table.column("id").to_numpy()
    rows = table.column("pixels").to_pylist()
    x = np.zeros((len(rows), PIXELS), np.float32)
    errors: list = [None] * len(rows)
    for i, row in enumerate(rows):
        if row is None or len(row) != PIXELS:
            errors[i] = f"expected {PIXELS} pixels, got {0 if row is None else len(row)}"
            continue
        x[i] = np.asarray([np.nan if v is None else v for v in row], np.float32)
        if not np.isfinite(x[i]).all():
            errors[i] = "NaN or infinite pixel"
    ok = np.array([e is None for e in errors], bool)
    prediction = np.full(len(rows), -1, np.int64)
    if ok.any():
        inp = session.get_inputs()[0]
        logits = session.run(None, {inp.name: x[ok].reshape(-1, 1, 8, 8)})[0]
        prediction[ok] = logits.argmax(axis=1)
    return {"id": ids, "prediction": prediction, "error": errors}


def run(mini_batch: list[str]):  # noqa: ANN201 - a pandas DataFrame
    """Score every file of ``mini_batch``; one output row per input row (plus one per unreadable file)."""
    import pandas as pd
    import pyarrow.parquet as pq

    if session is None:
        raise RuntimeError("run() before init(): Azure calls init() first; locally, call batch_score.init().")
    frames = []
    for path in mini_batch:
        try:
            table = pq.read_table(path, columns=["id", "pixels"])
        except Exception as err:  # noqa: BLE001 - one bad file must not fail the other files
            logger.warning("batch_score: cannot read %s: %s", path, err)
            frames.append(pd.DataFrame({"id": [None], "prediction": [None], "error": [f"cannot read file: {err}"],
                                        "file": [os.path.basename(path)]}))
            continue
        scored = score_table(table)
        frame = pd.DataFrame({"id": scored["id"], "prediction": pd.array(scored["prediction"], dtype="Int64"),
                              "error": scored["error"], "file": os.path.basename(path)})
        frame.loc[frame["error"].notna(), "prediction"] = pd.NA
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["id", "prediction", "error", "file"])
