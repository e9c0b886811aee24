"""Checks of the exercises of notebooks/45_batch_scoring_spark.ipynb; reference solutions in exercises/solutions/45_batch_scoring_spark.py."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from exercises import exercise, onnx_session


@exercise("45.1", "without the NaN check, what does the digits CNN give an image of NaN pixels? answer its logits and label")
def _check_nan_label(answer: Any, *, onnx_path: Any) -> str | None:
    if not isinstance(answer, dict) or not {"logits", "label"} <= set(answer):
        return "answer a dict {'logits': what ONNX Runtime returned for the NaN image, 'label': the argmax of them}."
    label = answer["label"]
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)):  # noqa: UP038
        return f"answer the label as a whole number (the argmax of the logits), not {type(label).__name__}."
    session = onnx_session(onnx_path)
    logits = session.run(None, {session.get_inputs()[0].name: np.full((1, 1, 8, 8), np.nan, np.float32)})[0]
    given = np.asarray(answer["logits"], dtype=np.float64).reshape(-1)
    if given.shape != logits.reshape(-1).shape or not np.array_equal(given, logits.reshape(-1), equal_nan=True):
        return ("those are not the logits ONNX Runtime computes for an image of NaN pixels: run the model on "
                "np.full((1, 1, 8, 8), np.nan, np.float32) and answer its output.")
    if int(label) != int(logits.argmax(axis=1)[0]):
        return "not the label those logits give: take np.argmax of them, as the scoring function does."
    return None


@exercise("45.2", "read the digits with a small maxRecordsPerBatch; answer the (partition, rows) of every frame mapInPandas got")
def _check_batches(answer: Any, *, rows: int) -> str | None:
    if not isinstance(answer, dict) or not {"max_records", "batches"} <= set(answer):
        return ("answer a dict {'max_records': the spark.sql.execution.arrow.maxRecordsPerBatch you set, 'batches': "
                "one (partition id, rows) pair per pandas frame your function received}.")
    limit = answer["max_records"]
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or not 1 <= limit < rows:  # noqa: UP038
        return f"'max_records' should be the whole number you set, below the {rows:,} rows (so the input splits)."
    try:
        batches = [(int(p), int(n)) for p, n in answer["batches"]]
    except (TypeError, ValueError):
        return "'batches' should be (partition id, rows) pairs, one per frame: TaskContext.get().partitionId(), len(pdf)."
    total = sum(n for _, n in batches)
    if total != rows:
        return f"the frames hold {total:,} rows, not the {rows:,} of the digits input: count every frame of every partition."
    if any(n > limit for _, n in batches):
        return f"a frame holds more than {limit:,} rows: set maxRecordsPerBatch to {limit} before the job runs (spark.conf.set)."
    per_partition: dict[int, list[int]] = defaultdict(list)
    for partition, n in batches:
        per_partition[partition].append(n)
    if len(per_partition) < 2:
        return ("all frames come from one partition: read the digits Parquet files through Spark and record "
                "TaskContext.get().partitionId() in each frame, not a split you computed.")
    for partition, sizes in per_partition.items():
        if sum(n < limit for n in sizes) > 1:
            return (f"partition {partition} has several short frames {sorted(sizes)[:4]}: Spark fills every frame of a "
                    "partition to maxRecordsPerBatch except the last. Record what the job saw.")
    if all(len(sizes) == 1 for sizes in per_partition.values()):
        return "every partition arrived in one frame: set maxRecordsPerBatch below a partition's rows to see the split."
    return None
