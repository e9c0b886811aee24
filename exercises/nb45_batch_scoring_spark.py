"""Checks of the exercises of notebooks/45_batch_scoring_spark.ipynb; reference solutions in exercises/solutions/45_batch_scoring_spark.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from exercises import exercise, onnx_session


@exercise("45.1", "without the NaN check, which label does the digits CNN give an image of NaN pixels?")
def _check_nan_label(answer: Any, *, onnx_path: Any) -> str | None:

    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):  # noqa: UP038
        return f"answer the label as a whole number (the argmax of the logits), not {type(answer).__name__}."
    session = onnx_session(onnx_path)
    logits = session.run(None, {session.get_inputs()[0].name: np.full((1, 1, 8, 8), np.nan, np.float32)})[0]
    if int(answer) != int(logits.argmax(axis=1)[0]):
        return "not the label ONNX Runtime's logits give that row: run the model on it and take the argmax."
    return None


@exercise("45.2", "break the row accounting twice (a lost row, a repeated input id); answer both errors")
def _check_accounting_errors(answer: Any) -> str | None:
    from helpers.spark import RowAccountingError

    if not isinstance(answer, (tuple, list)) or len(answer) != 2:  # noqa: UP038
        return "answer a pair: (the error for a lost row, the error for a repeated input id)."
    lost, repeated = answer
    if not all(isinstance(e, RowAccountingError) for e in (lost, repeated)):
        return "answer the RowAccountingError objects that sparkh.account_rows raised (catch them with except ... as err)."
    if "'lost': 1" not in str(lost):
        return "the first error should report exactly one lost row: compare all ids with all but one of them."
    if "not unique" not in str(repeated):
        return "the second error should be about a repeated input id: give the same id to two input rows."
    return None
