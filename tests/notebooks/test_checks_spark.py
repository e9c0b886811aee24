"""Notebook 45's check can fail: each case changes one recorded value the way a broken run would."""

from __future__ import annotations

import copy

import pytest

from tests.notebooks import checks_spark
from tests.notebooks.test_checks_deploy import _set

N, M = 10_000, 64
CLEAN = {"lost": 0, "duplicated": 0, "unknown": 0}
GOOD_45 = {
    "quick": True, "digits_rows": N, "sentence_rows": M, "master": "local[2]", "cores": 2,
    "digits_accounting": {"inputs": N, "outputs": N, **CLEAN}, "text_accounting": {"inputs": M, "outputs": M, **CLEAN},
    "batch_accounting": {"inputs": N, "outputs": N, **CLEAN},
    "digits_errors": {"7": "expected 64 pixels, got 60", "1234": "expected 64 pixels, got 60",
                      "555": "NaN or infinite pixel", "1999": "NaN or infinite pixel"},
    "digits_worker_processes": 2,
    "rates": [{"runner": "local[2], mapInPandas", "rows_per_s": 1e4}, {"runner": "standalone, 2 workers", "rows_per_s": 5e2}],
    "anti_pattern_cost": {"session per batch": 1.5, "MiniLM session per batch": 3.0},
    "batch_agreement": 1.0, "processes_left": 0, "spark_tag": "no-such-tag-45",
    "batch_settings": {"mini_batch_size": 2, "instance_count": 2, "max_concurrency_per_instance": 2,
                       "error_threshold": 0, "retry_settings": {"max_retries": 3, "timeout": 300},
                       "output_action": "append_row"},
    "standalone_cluster": True, "cluster_workers": 2,
    "cluster_imports": {"pid": [11, 12], "no_site": [1, 1], "helpers": [False, False], "spark_scoring": [True, True]},
    "worker_kill": {"stage": 3, "tasks": 8, "done_at_kill": 2, "running_at_kill": 2, "failed_tasks": 1,
                    "workers_alive": 1, "killed_processes": 4, "job_s": 3.1,
                    "accounting": {"inputs": N, "outputs": N, **CLEAN}, "prediction_agreement": 1.0,
                    "flagged": [7, 555, 1234, 1999]},
}
RECORDS = [{"model": "digits_cnn (Spark vs 1 process)", "verdict": "pass"},
           {"model": "minilm (Spark vs 1 process)", "verdict": "pass"},
           {"model": "digits_cnn (predict_batch_udf vs 1 process)", "verdict": "pass"}]


def test_the_notebook_45_check_passes_a_good_run():
    checks_spark._batch_scoring_spark(copy.deepcopy(GOOD_45), RECORDS)


@pytest.mark.parametrize("change", [
    _set(["cluster_imports", "helpers"], [True, False]),  # a worker could import the repository
    _set(["cluster_imports", "spark_scoring"], [True, False]),  # the shipped module did not reach a worker
    _set(["cluster_imports", "helpers"], []),  # no probe ran at all
    _set(["worker_kill", "running_at_kill"], 1),  # one worker was idle: the kill may have cost nothing
    _set(["worker_kill", "done_at_kill"], 8),  # the job was over before the kill
    _set(["worker_kill", "failed_tasks"], 0),  # no task was lost with the worker
    _set(["worker_kill", "workers_alive"], 2),  # the worker survived
    _set(["worker_kill", "accounting", "duplicated"], 3),
    _set(["worker_kill", "prediction_agreement"], 0.999),
    _set(["worker_kill", "flagged"], [7, 555]),
], ids=["helpers-importable", "module-missing", "no-probe", "idle-worker", "after-the-job", "no-task-lost",
        "worker-alive", "duplicated", "predictions", "flags"])
def test_the_notebook_45_check_fails_a_bad_run(change):
    results = copy.deepcopy(GOOD_45)
    change(results)
    with pytest.raises(AssertionError):
        checks_spark._batch_scoring_spark(results, RECORDS)
