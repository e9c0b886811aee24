"""Checks for the deployment notebooks (40-49)."""

from __future__ import annotations

from tests.notebooks.expectations import expect


@expect("40_deploy_local_endpoint")
def _local_endpoint(results, records):
    assert results["endpoint_matches_in_process"] is True
    assert results["http_accuracy"] > 0.8
    assert len(results["bad_request_statuses"]) >= 8
    assert set(results["bad_request_statuses"].values()) == {400}
    assert 0 <= results["curl_prediction"] <= 9
    assert {"/", "/score", "/swagger.json"} <= set(results["swagger_paths"])
    assert results["burst"]["errors"] == 0 and results["burst"]["requests"] > 0
    assert results["stopped_cleanly"] is True


@expect("41_deploy_azureml")
def _azureml(results, records):
    assert results["mode"] == "offline"  # tests never reach Azure
    assert results["v2_loaded_back"] == ["deployment", "endpoint", "environment", "model"]
    assert results["deployment_instance"] == {"instance_type": "Standard_DS2_v2", "instance_count": 1}
    assert results["probes"]["liveness"]["failure_threshold"] >= 1
    assert results["request_settings"]["request_timeout_ms"] > 0
    assert "onnxruntime==" in results["conda_pip"] and "azureml-inference-server-http==" in results["conda_pip"]
    assert results["v1_entry_script"] == "score.py" and results["v1_aci_cpu_cores"] > 0
    assert results["v1_end_of_support"] == "2026-06-30"
    assert results["local_answer_status"] == 200 and results["local_bad_status"] == 400
    assert results["local_stopped"] is True
