"""The deployment notebooks' checks can fail: each is fed a result it must refuse."""

from __future__ import annotations

import copy

import pytest

from tests.notebooks import checks_deploy

GOOD_40 = {
    "endpoint_matches_in_process": True, "http_accuracy": 0.9,
    "bad_request_statuses": dict(checks_deploy.HARDENED_STATUSES),
    "naive_statuses": dict(checks_deploy.NAIVE_STATUSES),
    "curl_prediction": 2, "local_prediction": 2, "swagger_max_batch": 64, "max_batch": 64,
    "swagger_paths": ["/", "/score", "/swagger.json"],
    "burst": {"clients": 8, "requests": 10, "errors": 0}, "stopped_cleanly": True,
}


def _set(path, value):
    def change(results):
        target = results
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def test_the_notebook_40_check_passes_a_good_run():
    checks_deploy._local_endpoint(copy.deepcopy(GOOD_40), [])


@pytest.mark.parametrize("change", [
    _set(["curl_prediction"], 7),  # any digit passed before: now it must be the model's own answer
    _set(["bad_request_statuses", "a NaN pixel"], 200),
    _set(["bad_request_statuses", "GET instead of POST"], 400),
    _set(["bad_request_statuses", "a batch over max_batch"], 500),
    _set(["naive_statuses", "a NaN pixel"], 400),  # the short script's flaw must have been shown
    _set(["naive_statuses", "not JSON"], 400),
    _set(["swagger_max_batch"], 16),
    _set(["burst", "errors"], 1),
    _set(["stopped_cleanly"], False),
], ids=["curl", "nan", "get", "batch", "naive-nan", "naive-crashes", "swagger", "burst", "stopped"])
def test_the_notebook_40_check_fails_a_bad_run(change):
    results = copy.deepcopy(GOOD_40)
    change(results)
    with pytest.raises(AssertionError):
        checks_deploy._local_endpoint(results, [])


GOOD_41 = {
    "mode": "offline", "v2_loaded_back": ["deployment", "endpoint", "environment", "model"],
    "instance_type": "Standard_DS2_v2", "instance_count": 1,
    "deployment_instance": {"instance_type": "Standard_DS2_v2", "instance_count": 1},
    "probes": {"liveness": {"failure_threshold": 30}}, "request_settings": {"request_timeout_ms": 5000},
    "conda_pip": "- onnxruntime==1.32.0\n- azureml-inference-server-http==1.5.1",
    "base_image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250601.v1",
    "v1_entry_script": "score.py", "v1_aci_cpu_cores": 1, "v1_end_of_support": "2026-06-30",
    "local_answer_status": 200, "local_bad_status": 400, "local_stopped": True,
}


def test_the_notebook_41_check_passes_a_good_run():
    checks_deploy._azureml(copy.deepcopy(GOOD_41), [])


@pytest.mark.parametrize("change", [
    _set(["instance_count"], 3),  # the parameter did not reach the deployment
    _set(["base_image"], "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"),
    _set(["local_bad_status"], 500),
], ids=["parameter", "latest", "bad-status"])
def test_the_notebook_41_check_fails_a_bad_run(change):
    results = copy.deepcopy(GOOD_41)
    change(results)
    with pytest.raises(AssertionError):
        checks_deploy._azureml(results, [])
