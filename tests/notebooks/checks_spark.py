"""Checks for notebooks/45_batch_scoring_spark.ipynb: rows accounted for, parity, nothing left running."""

from __future__ import annotations

from helpers.spark import tagged_processes
from tests.notebooks.expectations import expect, verdicts


@expect("45_batch_scoring_spark")
def _batch_scoring_spark(results, records):
    n, m = results["digits_rows"], results["sentence_rows"]
    clean = {"lost": 0, "duplicated": 0, "unknown": 0}
    assert results["digits_accounting"] == {"inputs": n, "outputs": n, **clean}
    assert results["text_accounting"] == {"inputs": m, "outputs": m, **clean}
    assert results["batch_accounting"] == {"inputs": n, "outputs": n, **clean}
    assert sorted(results["digits_errors"].values()) == ["NaN or infinite pixel"] * 2 + ["expected 64 pixels, got 60"] * 2
    # one ONNX Runtime session per Python worker: no more worker processes than task slots
    assert 1 <= results["digits_worker_processes"] <= results["cores"]
    assert verdicts(records) == {"digits_cnn (Spark vs 1 process)": "pass", "minilm (Spark vs 1 process)": "pass",
                                 "digits_cnn (predict_batch_udf vs 1 process)": "pass"}
    runners = {r["runner"] for r in results["rates"]}
    assert results["master"] in {r.split(",")[0] for r in runners}
    if not results["quick"]:  # quick mode leaves local[1] to the parameter run (metadata workbook.tries: master="local[1]")
        assert any(r.startswith("local[1]") for r in runners)
    if results["standalone_cluster"]:
        assert results["cluster_workers"] == 2 and any(r.startswith("standalone") for r in runners)
        # the cluster's Python workers could not import the repository, and the shipped module imported
        imports = results["cluster_imports"]
        assert imports["helpers"] and not any(imports["helpers"]) and all(imports["spark_scoring"])
        assert all(imports["no_site"])
        # a worker killed mid-write: both workers were busy, tasks were lost and rerun, nothing lost or doubled
        kill = results["worker_kill"]
        assert kill["running_at_kill"] == 2 and 1 <= kill["done_at_kill"] < kill["tasks"]
        assert kill["failed_tasks"] >= 1 and kill["workers_alive"] == 1 and kill["killed_processes"] >= 2
        assert kill["accounting"] == {"inputs": n, "outputs": n, **clean}
        assert kill["prediction_agreement"] == 1.0 and len(kill["flagged"]) == 4
    assert all(r["rows_per_s"] > 0 for r in results["rates"])
    assert results["anti_pattern_cost"]["session per batch"] > 0
    assert results["anti_pattern_cost"]["MiniLM session per batch"] > 1.0  # loading MiniLM per batch always costs
    assert results["batch_agreement"] == 1.0
    settings = results["batch_settings"]
    assert settings["mini_batch_size"] == 2 and settings["instance_count"] == 2
    assert settings["max_concurrency_per_instance"] == 2 and settings["error_threshold"] == 0
    assert settings["retry_settings"] == {"max_retries": 3, "timeout": 300}
    assert settings["output_action"].lower().replace("_", "") == "appendrow"
    assert results["processes_left"] == 0
    # after the kernel exited: no Java or Python process of the notebook's Spark is alive
    assert tagged_processes(results["spark_tag"]) == []
