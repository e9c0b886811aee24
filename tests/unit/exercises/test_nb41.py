"""The checks of notebooks/41_deploy_azureml.ipynb's exercises refuse the shortcuts."""

from __future__ import annotations

import pytest

import exercises


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    """The notebook's four SDK v2 objects (built offline) for a dummy model folder."""
    import warnings

    from tests.unit import endpoint_models as em

    warnings.filterwarnings("ignore")
    folder = tmp_path_factory.mktemp("azure")
    (folder / "model" / "digits" / "1").mkdir(parents=True)
    (folder / "model" / "digits" / "1" / "model.onnx").write_bytes(b"")
    return em.v2_specs(folder / "model", folder), folder


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
    unchanged = azure.write_v2_yaml(s, folder / "u")["deployment"]  # the notebook's own, written first
    path = azure.write_v2_yaml(azure.V2Specs(s.model, s.environment, s.endpoint, slow, s.conda_file), folder / "s")["deployment"]
    return path, unchanged


def _refused(answer, hint, notebook_yaml):
    feedback = exercises.check("41.2", answer, notebook_yaml=notebook_yaml)
    assert not feedback and hint in feedback.message, feedback.message


def test_41_2_accepts_the_limits_read_back_and_the_smallest(slow):
    path, unchanged = slow
    for hit_first in ("request_timeout_ms", "request_settings.request_timeout_ms"):
        answer = {"deployment": path, "limits_ms": LIMITS, "hit_first": hit_first}
        assert exercises.check("41.2", answer, notebook_yaml=unchanged)


def test_41_2_refuses_the_known_answer_without_a_yaml_written_in_this_run(slow, tmp_path):
    import os
    import shutil

    path, unchanged = slow
    typed = {"limits_ms": LIMITS, "hit_first": "request_timeout_ms"}
    _refused({"deployment": tmp_path / "deployment.yml", **typed}, "answer the path of the .yml file", unchanged)
    _refused({"deployment": unchanged, **typed}, "the notebook's own", unchanged)
    old = shutil.copy(path, tmp_path / "old.yml")  # left by an earlier run: older than this run's deployment.yml
    os.utime(old, (os.path.getmtime(unchanged) - 60,) * 2)
    _refused({"deployment": old, **typed}, "older than this run's deployment.yml", unchanged)


def test_41_2_refuses_a_yaml_that_is_not_a_copy_of_the_notebooks_deployment(slow, tmp_path):
    path, unchanged = slow
    other = tmp_path / "other.yml"
    other.write_text(path.read_text().replace("failure_threshold: 30", "failure_threshold: 5"))
    _refused({"deployment": other, "limits_ms": LIMITS, "hit_first": "request_timeout_ms"},
             "differs from the notebook's deployment", unchanged)


def test_41_2_refuses_the_setting_named_without_reading_the_limits(slow):
    path, unchanged = slow
    _refused({"deployment": path, "hit_first": "request_timeout_ms"}, "answer 'limits_ms' too", unchanged)


def test_41_2_refuses_probe_timeouts_left_in_seconds(slow):
    path, unchanged = slow
    _refused({"deployment": path, "limits_ms": {**LIMITS, "liveness_probe.timeout": 2}, "hit_first": "request_timeout_ms"},
             "liveness_probe.timeout is not what the YAML says", unchanged)


def test_41_2_refuses_a_wrong_setting_another_instance_type_and_a_bare_name(slow, tmp_path):
    path, unchanged = slow
    ds3 = tmp_path / "ds3.yml"
    ds3.write_text(path.read_text().replace("Standard_F2s_v2", "Standard_DS3_v2"))
    _refused({"deployment": ds3, "limits_ms": LIMITS, "hit_first": "request_timeout_ms"}, "Standard_F2s_v2", unchanged)
    _refused({"deployment": path, "limits_ms": LIMITS, "hit_first": "max_queue_wait_ms"}, "not that one", unchanged)
    _refused("request_timeout_ms", "answer a dict", unchanged)
