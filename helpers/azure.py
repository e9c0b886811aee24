"""Azure Machine Learning deployment specs for an ONNX model: build them offline, write and reload the YAML.

Introduced in notebooks/41_deploy_azureml.ipynb. With SDK v2 (``azure-ai-ml``) a managed online endpoint
is four objects: a registered :class:`Model`, an :class:`Environment` (a conda file on an Azure ML base
image), a :class:`ManagedOnlineEndpoint` and a :class:`ManagedOnlineDeployment` (code, instance type and
count, probes, request settings). :func:`build_v2_specs` builds them without any network access,
:func:`write_v2_yaml` writes the YAML files ``az ml ... create --file`` takes, and :func:`load_v2_yaml`
reads them back through the SDK's own loaders, which validate them. :func:`deploy_v2` does the real
thing; it runs only when a notebook is given a workspace config and told to deploy.

SDK v1 (``azureml-core``) objects are built by :func:`build_v1_config`: Microsoft ended v1 support on
2026-06-30, so it is here to read old code, with :data:`V1_TO_V2` as the map to the current API.

Example::

    specs = build_v2_specs("build/models/endpoint", "deploy", "build/azure")
    paths = write_v2_yaml(specs, "build/azure")
    load_v2_yaml(paths)["deployment"].instance_type
    # 'Standard_DS2_v2'
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BASE_IMAGE",
    "SERVING_PACKAGES",
    "V1_TO_V2",
    "V2Specs",
    "find_workspace_config",
    "write_conda_file",
    "build_v2_specs",
    "write_v2_yaml",
    "load_v2_yaml",
    "build_v1_config",
    "deploy_v2",
    "DeploymentError",
    "write_request_file",
]

#: An Azure ML base image (Ubuntu 22.04, conda) for custom inference environments, pinned to a dated tag so a
#: rebuild gets the same image (``:latest`` moves). Newer tags: https://mcr.microsoft.com/v2/azureml/
#: openmpi4.1.0-ubuntu22.04/tags/list (not reachable from the test machine; this tag appears in public
#: Dockerfiles built on it).
BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250601.v1"

#: What the scoring script needs in the cloud: the same versions the local endpoint runs with.
SERVING_PACKAGES = {
    "onnxruntime": "1.32.0",
    "numpy": "2.4.6",
    "azureml-inference-server-http": "1.5.1",
    "inference-schema": "1.8",
}

#: SDK v1 (azureml-core) call -> SDK v2 (azure-ai-ml) equivalent.
V1_TO_V2 = [
    {"task": "connect", "v1 (azureml-core)": "Workspace.from_config()", "v2 (azure-ai-ml)": "MLClient.from_config(credential)"},
    {"task": "register the model", "v1 (azureml-core)": "Model.register(ws, model_path, model_name)",
     "v2 (azure-ai-ml)": "ml_client.models.create_or_update(Model(path=..., name=...))"},
    {"task": "environment", "v1 (azureml-core)": "Environment + CondaDependencies.create(pip_packages=...)",
     "v2 (azure-ai-ml)": "Environment(image=..., conda_file=...)"},
    {"task": "scoring code", "v1 (azureml-core)": "InferenceConfig(entry_script, source_directory, environment)",
     "v2 (azure-ai-ml)": "CodeConfiguration(code=..., scoring_script=...)"},
    {"task": "compute", "v1 (azureml-core)": "AciWebservice.deploy_configuration(cpu_cores, memory_gb)",
     "v2 (azure-ai-ml)": "ManagedOnlineDeployment(instance_type=..., instance_count=...)"},
    {"task": "deploy", "v1 (azureml-core)": "Model.deploy(ws, name, models, inference_config, deployment_config)",
     "v2 (azure-ai-ml)": "online_endpoints.begin_create_or_update + online_deployments.begin_create_or_update"},
    {"task": "route traffic", "v1 (azureml-core)": "(one model per ACI service)",
     "v2 (azure-ai-ml)": "endpoint.traffic = {'blue': 100}"},
    {"task": "call it", "v1 (azureml-core)": "service.run(json) / requests.post(service.scoring_uri)",
     "v2 (azure-ai-ml)": "ml_client.online_endpoints.invoke(endpoint_name, request_file=...)"},
    {"task": "logs", "v1 (azureml-core)": "service.get_logs()",
     "v2 (azure-ai-ml)": "ml_client.online_deployments.get_logs(name, endpoint_name, lines)"},
    {"task": "clean up", "v1 (azureml-core)": "service.delete()",
     "v2 (azure-ai-ml)": "ml_client.online_endpoints.begin_delete(name)"},
]


@dataclass
class V2Specs:
    """The four SDK v2 objects of one managed online deployment, plus the conda file they use."""

    model: Any
    environment: Any
    endpoint: Any
    deployment: Any
    conda_file: Path


def find_workspace_config(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The workspace ``config.json`` (``subscription_id``, ``resource_group``, ``workspace_name``), or None.

    Looks at ``path``, then ``./config.json``, ``./.azureml/config.json`` and the same in the repository
    root. None means: stay offline.
    """
    from helpers.paths import repo_root

    candidates = [Path(path)] if path else []
    for base in (Path.cwd(), repo_root()):
        candidates += [base / "config.json", base / ".azureml" / "config.json"]
    for candidate in candidates:
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text())
            except ValueError:
                continue
            if {"subscription_id", "resource_group", "workspace_name"} <= set(data):
                return candidate
    return None


def write_conda_file(path: str | os.PathLike[str], packages: dict[str, str] | None = None,
                     python: str = "3.11", name: str = "onnx-endpoint") -> Path:
    """Write the conda file of an Azure ML environment: Python, pip, and pinned pip packages; returns it.

    packages: ``{distribution: version}`` (default :data:`SERVING_PACKAGES`, what score.py needs).
    name: the environment's name (the batch deployment uses ``onnx-batch``).
    """
    pins = packages or SERVING_PACKAGES
    lines = [f"name: {name}", "channels:", "  - conda-forge", "dependencies:", f"  - python={python}",
             "  - pip", "  - pip:"] + [f"      - {name}=={version}" for name, version in pins.items()]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def build_v2_specs(
    model_dir: str | os.PathLike[str],
    code_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    endpoint_name: str = "digits-onnx",
    deployment_name: str = "blue",
    model_name: str = "digits-cnn",
    model_version: str = "1",
    instance_type: str = "Standard_DS2_v2",
    instance_count: int = 1,
    max_batch: int = 64,
) -> V2Specs:
    """Build the model, environment, endpoint and deployment objects (no network, no credentials).

    model_dir: the folder to register (as the local endpoint serves it: ``<name>/<version>/model.onnx``).
    code_dir: the scoring code folder (``deploy/``: ``score.py`` and ``onnx_scoring.py``).
    out_dir: where the conda file goes.
    """
    from azure.ai.ml.entities import (
        CodeConfiguration,
        Environment,
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        Model,
        OnlineRequestSettings,
        ProbeSettings,
    )

    code_dir, model_dir = Path(code_dir).resolve(), Path(model_dir).resolve()
    if not (code_dir / "score.py").is_file():
        raise FileNotFoundError(f"No score.py in {code_dir}: pass the folder that holds the scoring script.")
    if not any(model_dir.rglob("*.onnx")):
        raise FileNotFoundError(f"No .onnx file under {model_dir}: package the model first "
                                "(helpers.serve.package_model).")
    conda = write_conda_file(Path(out_dir) / "conda.yml")
    model = Model(name=model_name, version=model_version, path=str(model_dir), type="custom_model",
                  description="Digits CNN (PyTorch -> ONNX), served by deploy/score.py")
    environment = Environment(name="onnx-endpoint", version="1", image=BASE_IMAGE, conda_file=str(conda),
                              description="ONNX Runtime and the Azure ML inference server")
    endpoint = ManagedOnlineEndpoint(name=endpoint_name, auth_mode="key",
                                     description="An ONNX model behind a managed online endpoint")
    deployment = ManagedOnlineDeployment(
        name=deployment_name,
        endpoint_name=endpoint_name,
        model=model,
        environment=environment,
        code_configuration=CodeConfiguration(code=str(code_dir), scoring_script="score.py"),
        instance_type=instance_type,
        instance_count=instance_count,
        environment_variables={"MAX_BATCH": str(max_batch), "ORT_THREADS": "1", "WORKER_COUNT": "2"},
        liveness_probe=ProbeSettings(initial_delay=10, period=10, timeout=2, failure_threshold=30),
        readiness_probe=ProbeSettings(initial_delay=10, period=10, timeout=2, failure_threshold=3),
        request_settings=OnlineRequestSettings(request_timeout_ms=5000, max_concurrent_requests_per_instance=2,
                                               max_queue_wait_ms=500),
    )
    return V2Specs(model, environment, endpoint, deployment, conda)


def _dump(entity: Any, path: Path) -> Path:
    """Write an entity's YAML (some entities' ``dump`` return a dict instead of writing the file)."""
    import yaml

    result = entity.dump(str(path))
    if not path.is_file() or path.stat().st_size == 0:
        data = result if isinstance(result, dict) else entity._to_dict()
        data = json.loads(json.dumps(data))  # OrderedDicts -> plain dicts, which YAML can write
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_v2_yaml(specs: V2Specs, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``model.yml``, ``environment.yml``, ``endpoint.yml`` and ``deployment.yml``: the files
    ``az ml model|environment|online-endpoint|online-deployment create --file`` take."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, entity in (("model", specs.model), ("environment", specs.environment),
                        ("endpoint", specs.endpoint), ("deployment", specs.deployment)):
        path = out / f"{key}.yml"
        path.unlink(missing_ok=True)
        paths[key] = _dump(entity, path)
    return paths


def load_v2_yaml(paths: dict[str, Path]) -> dict[str, Any]:
    """Read the YAML files back with the SDK's loaders (``load_model``, ``load_environment``,
    ``load_online_endpoint``, ``load_online_deployment``), which validate them against the schemas."""
    from azure.ai.ml import load_environment, load_model, load_online_deployment, load_online_endpoint

    loaders = {"model": load_model, "environment": load_environment, "endpoint": load_online_endpoint,
               "deployment": load_online_deployment}
    return {key: loaders[key](source=str(path)) for key, path in paths.items()}


def write_request_file(path: str | os.PathLike[str], payload: dict[str, Any]) -> Path:
    """Write a request body to a file: what ``online_endpoints.invoke(request_file=...)`` sends."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))
    return path


def build_v1_config(code_dir: str | os.PathLike[str], base_image: str = BASE_IMAGE,
                    cpu_cores: float = 1, memory_gb: float = 1) -> dict[str, Any]:
    """SDK v1 objects, offline: ``Environment`` with ``CondaDependencies``, ``InferenceConfig`` and an
    ``AciWebservice`` deployment configuration. (``Model.register`` and ``Model.deploy`` need a workspace.)

    Microsoft ended support for SDK v1 on 2026-06-30: use this to read old code, not for new work.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from azureml.core import Environment
        from azureml.core.conda_dependencies import CondaDependencies
        from azureml.core.model import InferenceConfig
        from azureml.core.webservice import AciWebservice

    env = Environment(name="onnx-endpoint-v1")
    env.python.conda_dependencies = CondaDependencies.create(
        python_version="3.11", pip_packages=[f"{k}=={v}" for k, v in SERVING_PACKAGES.items()])
    env.docker.base_image = base_image
    inference_config = InferenceConfig(entry_script="score.py", source_directory=str(Path(code_dir).resolve()),
                                       environment=env)
    aci = AciWebservice.deploy_configuration(cpu_cores=cpu_cores, memory_gb=memory_gb, auth_enabled=True)
    return {"environment": env, "inference_config": inference_config, "deployment_config": aci}


class DeploymentError(RuntimeError):
    """A real deployment failed; the message says which step, what was cleaned up, and what is left."""


def deploy_v2(config: str | os.PathLike[str] | None, specs: V2Specs, request_file: str | os.PathLike[str],
              cleanup: bool = True, client: Any = None) -> dict[str, Any]:
    """Deploy for real: register, create endpoint and deployment, route traffic, invoke, read logs, clean up.

    config: the workspace config.json (see :func:`find_workspace_config`). Credentials come from
    ``DefaultAzureCredential`` (``az login``, a managed identity or environment variables); nothing is
    asked interactively. Takes 10-20 minutes and costs money while the deployment exists.
    client: an ``MLClient`` to use instead (the tests pass a fake one).

    If a step fails once the endpoint may exist, the endpoint (and its deployments) is deleted before the
    error is raised; :class:`DeploymentError` names the failed step and what is left: the registered model
    and environment versions (free to keep) and, if the delete failed too, the endpoint with the command
    that deletes it.
    """
    if client is None:  # pragma: no cover - needs an Azure subscription
        from azure.ai.ml import MLClient
        from azure.identity import DefaultAzureCredential

        client = MLClient.from_config(credential=DefaultAzureCredential(), path=str(config))
    name, deployment = specs.endpoint.name, specs.deployment
    step = "register the model"
    endpoint_may_exist = False
    try:
        model = client.models.create_or_update(specs.model)
        step = "register the environment"
        environment = client.environments.create_or_update(specs.environment)
        step = "create the endpoint"
        endpoint_may_exist = True  # a create that fails half-way can leave it behind
        client.online_endpoints.begin_create_or_update(specs.endpoint).result()
        step = "create the deployment"
        deployment.model, deployment.environment = model.id, environment.id
        client.online_deployments.begin_create_or_update(deployment).result()
        step = "route traffic"
        endpoint = client.online_endpoints.get(name)
        endpoint.traffic = {deployment.name: 100}
        client.online_endpoints.begin_create_or_update(endpoint).result()
        step = "invoke the endpoint"
        answer = client.online_endpoints.invoke(endpoint_name=name, deployment_name=deployment.name,
                                                request_file=str(request_file))
        step = "read the logs"
        logs = client.online_deployments.get_logs(name=deployment.name, endpoint_name=name, lines=50)
        result = {"scoring_uri": endpoint.scoring_uri, "answer": json.loads(answer), "logs": logs}
    except Exception as err:
        left = _registered_left(specs) if step != "register the model" else "Nothing was created."
        if endpoint_may_exist:
            left = _delete_endpoint(client, name) + " " + left
        raise DeploymentError(f"Deploying failed at step '{step}': {type(err).__name__}: {str(err)[:500]}. "
                              f"{left}") from err
    if cleanup:
        gone = _delete_endpoint(client, name)
        if "still exists" in gone:
            raise DeploymentError(f"The deployment worked, but cleaning up failed. {gone}")
    return result


def _registered_left(specs: V2Specs) -> str:
    return (f"Left registered (no cost): model {specs.model.name}:{specs.model.version} and environment "
            f"{specs.environment.name}:{specs.environment.version}; remove them with `az ml model archive --name "
            f"{specs.model.name} --version {specs.model.version}` and `az ml environment archive --name "
            f"{specs.environment.name} --version {specs.environment.version}`.")


def _delete_endpoint(client: Any, name: str) -> str:
    """Delete the endpoint (and its deployments); say what happened, and the command if it is still there."""
    try:
        client.online_endpoints.begin_delete(name=name).result()
    except Exception as err:  # noqa: BLE001 - reported to the caller, with what to do
        return (f"The endpoint {name!r} still exists and costs money while its deployment runs (deleting it "
                f"failed: {type(err).__name__}: {str(err)[:200]}); delete it with `az ml online-endpoint delete "
                f"--name {name} --yes`.")
    return f"The endpoint {name!r} and its deployments were deleted."
