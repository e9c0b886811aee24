"""Checks for the deployment notebooks (40-49)."""

from __future__ import annotations

from tests.notebooks.expectations import expect

#: What deploy/score.py must answer to each case of notebook 40 (the same cases break the ten-line script).
HARDENED_STATUSES = {
    "a good request": 200, "GET instead of POST": 405, "not JSON": 400, "not UTF-8": 400, "no 'inputs' key": 400,
    "wrong input name": 400, "one image without the batch axis": 400, "wrong image size": 400,
    "strings instead of numbers": 400, "a NaN pixel": 400, "a batch over max_batch": 413,
    "2,000 images in one body": 413,
}

#: What the ten-line script answers: the server's generic 500 when it crashes, 200 where it answers wrongly.
NAIVE_STATUSES = {**{k: 500 for k in HARDENED_STATUSES}, "a good request": 200, "not UTF-8": 400,
                  "a NaN pixel": 200, "a batch over max_batch": 200, "2,000 images in one body": 200}


@expect("40_deploy_local_endpoint")
def _local_endpoint(results, records):
    assert results["endpoint_matches_in_process"] is True
    assert results["http_accuracy"] > 0.8
    assert results["bad_request_statuses"] == HARDENED_STATUSES, results["bad_request_statuses"]
    assert results["naive_statuses"] == NAIVE_STATUSES, results["naive_statuses"]
    assert results["curl_prediction"] == results["local_prediction"]  # curl's answer is the model's answer
    assert results["swagger_max_batch"] == results["max_batch"]
    assert {"/", "/score", "/swagger.json"} <= set(results["swagger_paths"])
    assert results["burst"]["errors"] == 0 and results["burst"]["requests"] > 0
    assert results["stopped_cleanly"] is True


@expect("41_deploy_azureml")
def _azureml(results, records):
    assert results["mode"] == "offline"  # tests never reach Azure
    assert results["v2_loaded_back"] == ["deployment", "endpoint", "environment", "model"]
    assert results["deployment_instance"] == {"instance_type": results["instance_type"],
                                              "instance_count": results["instance_count"]}
    assert results["probes"]["liveness"]["failure_threshold"] >= 1
    assert results["request_settings"]["request_timeout_ms"] > 0
    assert "onnxruntime==" in results["conda_pip"] and "azureml-inference-server-http==" in results["conda_pip"]
    assert results["base_image"].split(":")[-1] != "latest"
    assert results["v1_entry_script"] == "score.py" and results["v1_aci_cpu_cores"] > 0
    assert results["v1_end_of_support"] == "2026-06-30"
    assert results["local_answer_status"] == 200 and results["local_bad_status"] == 400
    assert results["local_stopped"] is True
