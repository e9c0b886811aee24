"""The checks of notebooks/41_deploy_azureml.ipynb's exercises refuse the shortcuts."""

from __future__ import annotations

import pytest

import exercises


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    """The notebook's four SDK v2 objects (built offline) for a dummy model folder."""
    import warnings

    from helpers import azure
    from helpers.paths import repo_root

    warnings.filterwarnings("ignore")
    folder = tmp_path_factory.mktemp("azure")
    (folder / "model" / "digits" / "1").mkdir(parents=True)
    (folder / "model" / "digits" / "1" / "model.onnx").write_bytes(b"")
    return azure.build_v2_specs(folder / "model", repo_root() / "deploy", folder), folder


def test_41_1_reads_the_traffic_split_and_the_green_deployment(specs):
    import copy

    from helpers import azure

    s, folder = specs
    green = copy.deepcopy(s.deployment)
    green.name, green.instance_count = "green", 2
    split = copy.deepcopy(s.endpoint)
    split.traffic = {"blue": 90, "green": 10}
    right = azure.write_v2_yaml(azure.V2Specs(s.model, s.environment, split, green, s.conda_file), folder / "green")
    assert exercises.check("41.1", right)
    no_split = azure.write_v2_yaml(azure.V2Specs(s.model, s.environment, s.endpoint, green, s.conda_file), folder / "n")
    blue = azure.write_v2_yaml(azure.V2Specs(s.model, s.environment, split, s.deployment, s.conda_file), folder / "b")
    for answer, hint in ((no_split, "traffic is {}"), (blue, "name it 'green'"), (str(right), "write_v2_yaml returned")):
        feedback = exercises.check("41.1", answer)
        assert not feedback and hint in feedback.message, feedback.message


LIMITS = {"request_timeout_ms": 100, "max_queue_wait_ms": 500, "liveness_probe.timeout": 2000,
          "readiness_probe.timeout": 2000}


@pytest.fixture(scope="module")
def slow(specs):
    import copy

    from helpers import azure

    s, folder = specs
    slow = copy.deepcopy(s.deployment)
    slow.instance_type = "Standard_F2s_v2"
    slow.request_settings.request_timeout_ms = 100
    path = azure.write_v2_yaml(azure.V2Specs(s.model, s.environment, s.endpoint, slow, s.conda_file), folder / "s")["deployment"]
    unchanged = azure.write_v2_yaml(s, folder / "u")["deployment"]
    return path, unchanged


def _refused(answer, hint):
    feedback = exercises.check("41.2", answer)
    assert not feedback and hint in feedback.message, feedback.message


def test_41_2_accepts_the_limits_read_back_and_the_smallest(slow):
    path, _ = slow
    assert exercises.check("41.2", {"deployment": path, "limits_ms": LIMITS, "hit_first": "request_timeout_ms"})
    assert exercises.check("41.2", {"deployment": path, "limits_ms": LIMITS,
                                    "hit_first": "request_settings.request_timeout_ms"})


def test_41_2_refuses_the_setting_named_without_reading_the_limits(slow):
    path, _ = slow
    _refused({"deployment": path, "hit_first": "request_timeout_ms"}, "answer 'limits_ms' too")


def test_41_2_refuses_probe_timeouts_left_in_seconds(slow):
    path, _ = slow
    _refused({"deployment": path, "limits_ms": {**LIMITS, "liveness_probe.timeout": 2}, "hit_first": "request_timeout_ms"},
             "liveness_probe.timeout is not what the YAML says")


def test_41_2_refuses_a_wrong_setting_the_unchanged_deployment_and_a_bare_name(slow):
    path, unchanged = slow
    _refused({"deployment": path, "limits_ms": LIMITS, "hit_first": "max_queue_wait_ms"}, "not that one")
    _refused({"deployment": unchanged, "limits_ms": LIMITS, "hit_first": "request_timeout_ms"}, "Standard_F2s_v2")
    _refused("request_timeout_ms", "answer a dict")
