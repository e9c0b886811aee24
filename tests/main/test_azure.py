"""Azure ML deployment specs build, write and load back offline (no workspace, no credentials, no network)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from types import SimpleNamespace

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
    specs = em.v2_specs(model_dir, tmp_path, endpoint_name="toy-endpoint", instance_type="Standard_F2s_v2",
                        instance_count=2)
    paths = azure.write_v2_yaml(specs, tmp_path)
    assert sorted(paths) == ["deployment", "endpoint", "environment", "model"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    loaded = azure.load_v2_yaml(paths)
    d = loaded["deployment"]
    assert (d.name, d.endpoint_name, d.instance_type, d.instance_count) == ("blue", "toy-endpoint", "Standard_F2s_v2", 2)
    assert d.code_configuration.scoring_script == "score.py"
    assert d.environment_variables["MAX_BATCH"] == "64"
    assert d.liveness_probe.failure_threshold == 30 and d.readiness_probe.period == 10
    assert d.request_settings.request_timeout_ms == 5000
    assert loaded["endpoint"].auth_mode == "key" and loaded["model"].name == "digits-cnn"
    assert loaded["environment"].image == azure.BASE_IMAGE


ROOT = Path(__file__).resolve().parents[2]


def _locked_versions() -> dict[str, str]:
    lines = (ROOT / "requirements" / "main.lock.txt").read_text().splitlines()
    return {m.group(1).lower(): m.group(2) for m in (re.match(r"([A-Za-z0-9_.-]+)==([^\s;]+)", line) for line in lines) if m}


def test_conda_file_pins_what_the_local_endpoint_was_tested_with(tmp_path):
    """The cloud environment gets the versions of requirements/main.lock.txt, not a list of its own."""
    locked = _locked_versions()
    text = azure.write_conda_file(tmp_path / "conda.yml").read_text()
    pins = dict(re.findall(r"- ([A-Za-z0-9_.-]+)==(\S+)", text))
    assert set(pins) == {"onnxruntime", "numpy", "azureml-inference-server-http", "inference-schema"}
    differ = {name: (version, locked.get(name.lower())) for name, version in pins.items()
              if locked.get(name.lower()) != version}
    assert not differ, f"conda.yml pins differ from requirements/main.lock.txt: {differ}"
    assert "python=3.11" in text


def test_the_lock_comparison_can_fail(tmp_path, monkeypatch):
    monkeypatch.setitem(azure.SERVING_PACKAGES, "numpy", "1.0.0")
    with pytest.raises(AssertionError, match="differ from requirements/main.lock.txt"):
        test_conda_file_pins_what_the_local_endpoint_was_tested_with(tmp_path)


def test_the_base_image_is_pinned_to_a_dated_tag():
    assert re.fullmatch(r"mcr\.microsoft\.com/azureml/[\w.-]+:\d{8}\.v\d+", azure.BASE_IMAGE), azure.BASE_IMAGE


def test_a_broken_deployment_yaml_is_refused_by_the_loader(model_dir, tmp_path):
    from marshmallow.exceptions import ValidationError as MarshmallowError

    specs = em.v2_specs(model_dir, tmp_path)
    paths = azure.write_v2_yaml(specs, tmp_path)
    text = paths["deployment"].read_text().replace("instance_count: 1", "instance_count: many")
    paths["deployment"].write_text(text)
    with pytest.raises(MarshmallowError, match=r'"instance_count": \[\s*"Not a valid integer\."'):
        azure.load_v2_yaml({"deployment": paths["deployment"]})


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


class _Poller:
    def __init__(self, fail: Exception | None = None):
        self.fail = fail

    def result(self):
        if self.fail:
            raise self.fail


class FakeClient:
    """Just enough of ``MLClient`` for deploy_v2; records calls and fails where told."""

    def __init__(self, fail_at: str | None = None, delete_fails: bool = False):
        self.calls: list[str] = []
        self.fail_at, self.delete_fails = fail_at, delete_fails
        self.models = SimpleNamespace(create_or_update=lambda m: self._do("model", SimpleNamespace(id="model-id")))
        self.environments = SimpleNamespace(create_or_update=lambda e: self._do("environment", SimpleNamespace(id="env-id")))
        self.online_endpoints = SimpleNamespace(
            begin_create_or_update=lambda e: self._poll("endpoint"),
            get=lambda name: SimpleNamespace(name=name, scoring_uri="https://x/score", traffic={}),
            invoke=lambda **kw: self._do("invoke", '{"predictions": [1]}'),
            begin_delete=lambda name: self._poll("delete", RuntimeError("forbidden") if self.delete_fails else None))
        self.online_deployments = SimpleNamespace(
            begin_create_or_update=lambda d: self._poll("deployment"),
            get_logs=lambda **kw: self._do("logs", "log lines"))

    def _do(self, step, value):
        self.calls.append(step)
        if step == self.fail_at:
            raise RuntimeError(f"{step} failed")
        return value

    def _poll(self, step, fail=None):
        self.calls.append(step)
        return _Poller(RuntimeError(f"{step} failed") if step == self.fail_at else fail)


@pytest.fixture()
def specs(model_dir, tmp_path):
    return em.v2_specs(model_dir, tmp_path, endpoint_name="toy-endpoint")


def test_deploy_v2_runs_every_step_and_cleans_up(specs, tmp_path):
    client = FakeClient()
    result = azure.deploy_v2(None, specs, tmp_path / "r.json", client=client)
    assert result["answer"] == {"predictions": [1]} and client.calls[-1] == "delete"
    assert client.calls == ["model", "environment", "endpoint", "deployment", "endpoint", "invoke", "logs", "delete"]


@pytest.mark.parametrize("fail_at, step", [("deployment", "create the deployment"), ("invoke", "invoke the endpoint"),
                                           ("endpoint", "create the endpoint")])
def test_a_failure_after_the_endpoint_exists_deletes_it_and_says_what_is_left(specs, tmp_path, fail_at, step):
    client = FakeClient(fail_at=fail_at)
    with pytest.raises(azure.DeploymentError) as info:
        azure.deploy_v2(None, specs, tmp_path / "r.json", client=client)
    message = str(info.value)
    assert client.calls[-1] == "delete"
    assert f"failed at step '{step}'" in message and "The endpoint 'toy-endpoint' and its deployments were deleted" in message
    assert "model digits-cnn:1 and environment onnx-endpoint:1" in message and "az ml model archive" in message


def test_a_failed_cleanup_names_the_endpoint_and_the_command_that_deletes_it(specs, tmp_path):
    client = FakeClient(fail_at="deployment", delete_fails=True)
    with pytest.raises(azure.DeploymentError, match=r"'toy-endpoint' still exists .* `az ml online-endpoint delete "
                                                    r"--name toy-endpoint --yes`"):
        azure.deploy_v2(None, specs, tmp_path / "r.json", client=client)


def test_a_failure_before_the_endpoint_deletes_nothing(specs, tmp_path):
    client = FakeClient(fail_at="model")
    with pytest.raises(azure.DeploymentError, match="step 'register the model'.*Nothing was created"):
        azure.deploy_v2(None, specs, tmp_path / "r.json", client=client)
    assert "delete" not in client.calls
