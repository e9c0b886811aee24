"""The checks of notebooks/45_batch_scoring_spark.ipynb's exercises refuse the shortcuts (no Spark needed:
45.2's answers are the (partition, rows) pairs a job records, built here)."""

from __future__ import annotations

import numpy as np
import pytest

import exercises


def _refused(exercise_id, answer, hint, **context):
    feedback = exercises.check(exercise_id, answer, **context)
    assert not feedback and hint in feedback.message, feedback.message


@pytest.fixture(scope="module")
def nan_cnn(tmp_path_factory):
    """A tiny 'CNN' whose logits are NaN for NaN pixels: flatten, sum, add a bias per class."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"]),
         helper.make_node("ReduceSum", ["flat"], ["total"], keepdims=1),
         helper.make_node("Add", ["total", "bias"], ["logits"])],
        "nan_cnn", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        [helper.make_tensor("bias", TensorProto.FLOAT, [10], np.arange(10, dtype=np.float32))])
    path = tmp_path_factory.mktemp("nan") / "nan_cnn.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def test_45_1_accepts_the_nan_logits_and_their_argmax(nan_cnn):
    logits = np.full((1, 10), np.nan, np.float32)
    assert exercises.check("45.1", {"logits": logits, "label": 0}, onnx_path=nan_cnn), "argmax of all-NaN is index 0"


def test_45_1_refuses_a_guessed_label_without_the_logits(nan_cnn):
    _refused("45.1", 0, "answer a dict", onnx_path=nan_cnn)
    _refused("45.1", {"logits": np.zeros((1, 10)), "label": 0}, "not the logits ONNX Runtime computes", onnx_path=nan_cnn)


def test_45_1_refuses_a_wrong_label_and_a_string(nan_cnn):
    logits = np.full((1, 10), np.nan, np.float32)
    _refused("45.1", {"logits": logits, "label": 7}, "not the label", onnx_path=nan_cnn)
    _refused("45.1", {"logits": logits, "label": "0"}, "whole number", onnx_path=nan_cnn)


def _frames(partitions, limit):
    """The (partition, rows) pairs Spark gives mapInPandas: each partition cut into frames of `limit` rows."""
    return [(p, min(limit, n - start)) for p, n in enumerate(partitions) for start in range(0, n, limit)]


def test_45_2_accepts_the_frames_a_job_recorded():
    assert exercises.check("45.2", {"max_records": 1_000, "batches": _frames([5_000, 5_000], 1_000)}, rows=10_000)
    assert exercises.check("45.2", {"max_records": 300, "batches": _frames([2_500, 2_500, 2_500, 2_500], 300)}, rows=10_000)


def test_45_2_refuses_a_split_computed_without_spark():
    guess = [(0, 1_000)] * 10  # the arithmetic of rows / maxRecordsPerBatch, no partitions
    _refused("45.2", {"max_records": 1_000, "batches": guess}, "all frames come from one partition", rows=10_000)


def test_45_2_refuses_the_notebooks_own_setting_where_each_partition_is_one_frame():
    _refused("45.2", {"max_records": 6_000, "batches": _frames([5_000, 5_000], 6_000)},
             "every partition arrived in one frame", rows=10_000)


def test_45_2_refuses_frames_over_the_limit_and_rows_lost():
    _refused("45.2", {"max_records": 500, "batches": _frames([5_000, 5_000], 1_000)}, "more than 500 rows", rows=10_000)
    _refused("45.2", {"max_records": 1_000, "batches": _frames([5_000, 4_000], 1_000)}, "not the 10,000", rows=10_000)


def test_45_2_refuses_a_partition_with_several_short_frames():
    made_up = [(0, 1_000)] * 4 + [(0, 500), (0, 500)] + [(1, 1_000)] * 4 + [(1, 1_000)]
    _refused("45.2", {"max_records": 1_000, "batches": made_up}, "several short frames", rows=10_000)


def test_45_2_refuses_a_limit_as_large_as_the_input_and_malformed_answers():
    _refused("45.2", {"max_records": 10_000, "batches": [(0, 10_000)]}, "below the 10,000 rows", rows=10_000)
    _refused("45.2", {"max_records": 1_000, "batches": [1_000] * 10}, "(partition id, rows) pairs", rows=10_000)
    _refused("45.2", [(0, 1_000)], "answer a dict", rows=10_000)
