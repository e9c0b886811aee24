"""Azure ML deployment specs build, write and load back offline (no workspace, no credentials, no network)."""

from __future__ import annotations

import json
import warnings

import pytest

from helpers import azure
from tests.unit import endpoint_models as em

warnings.filterwarnings("ignore", module="azure|marshmallow|azureml")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("azure-model")
    em.save(em.two_input_model(), folder)
    return folder


def test_v2_specs_write_yaml_that_the_sdk_loaders_accept(model_dir, tmp_path):
    specs = azure.build_v2_specs(model_dir, em.DEPLOY, tmp_path, endpoint_name="toy-endpoint",
                                 instance_type="Standard_F2s_v2", instance_count=2, max_batch=16)
    paths = azure.write_v2_yaml(specs, tmp_path)
    assert sorted(paths) == ["deployment", "endpoint", "environment", "model"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    loaded = azure.load_v2_yaml(paths)
    d = loaded["deployment"]
    assert (d.name, d.endpoint_name, d.instance_type, d.instance_count) == ("blue", "toy-endpoint", "Standard_F2s_v2", 2)
    assert d.code_configuration.scoring_script == "score.py"
    assert d.environment_variables["MAX_BATCH"] == "16"
    assert d.liveness_probe.failure_threshold == 30 and d.readiness_probe.period == 10
    assert d.request_settings.request_timeout_ms == 5000
    assert loaded["endpoint"].auth_mode == "key" and loaded["model"].name == "digits-cnn"
    assert loaded["environment"].image == azure.BASE_IMAGE


def test_conda_file_pins_the_serving_packages(tmp_path):
    text = azure.write_conda_file(tmp_path / "conda.yml").read_text()
    for name, version in azure.SERVING_PACKAGES.items():
        assert f"- {name}=={version}" in text
    assert "python=3.11" in text


def test_a_broken_deployment_yaml_is_refused_by_the_loader(model_dir, tmp_path):
    from marshmallow.exceptions import ValidationError as MarshmallowError

    specs = azure.build_v2_specs(model_dir, em.DEPLOY, tmp_path)
    paths = azure.write_v2_yaml(specs, tmp_path)
    text = paths["deployment"].read_text().replace("instance_count: 1", "instance_count: many")
    paths["deployment"].write_text(text)
    with pytest.raises((MarshmallowError, Exception), match="instance_count|Not a valid integer"):
        azure.load_v2_yaml({"deployment": paths["deployment"]})


def test_specs_need_the_scoring_script_and_a_model(tmp_path, model_dir):
    with pytest.raises(FileNotFoundError, match="No score.py"):
        azure.build_v2_specs(model_dir, tmp_path, tmp_path)
    with pytest.raises(FileNotFoundError, match="No .onnx file"):
        azure.build_v2_specs(tmp_path, em.DEPLOY, tmp_path)


def test_v1_config_builds_offline():
    v1 = azure.build_v1_config(em.DEPLOY)
    assert v1["inference_config"].entry_script == "score.py"
    assert v1["deployment_config"].cpu_cores == 1 and v1["deployment_config"].auth_enabled
    pip = v1["environment"].python.conda_dependencies.serialize_to_string()
    assert "onnxruntime==" in pip


def test_workspace_config_is_found_only_when_complete(tmp_path, monkeypatch):
    import helpers.paths

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(helpers.paths, "repo_root", lambda: tmp_path / "repo")
    assert azure.find_workspace_config() is None  # nothing anywhere: offline
    (tmp_path / "config.json").write_text(json.dumps({"subscription_id": "x"}))
    assert azure.find_workspace_config() is None  # incomplete: offline
    (tmp_path / ".azureml").mkdir()
    full = tmp_path / ".azureml" / "config.json"
    full.write_text(json.dumps({"subscription_id": "s", "resource_group": "r", "workspace_name": "w"}))
    assert azure.find_workspace_config() == full
    assert azure.find_workspace_config(tmp_path / "missing.json") == full


def test_request_file_holds_the_payload(tmp_path):
    path = azure.write_request_file(tmp_path / "r.json", {"inputs": {"x": [[1.0]]}})
    assert json.loads(path.read_text()) == {"inputs": {"x": [[1.0]]}}


def test_the_v1_to_v2_table_covers_every_step():
    tasks = [row["task"] for row in azure.V1_TO_V2]
    for task in ("connect", "register the model", "environment", "deploy", "call it", "logs", "clean up"):
        assert task in tasks
