"""Azure Machine Learning deployments of an ONNX model (SDK v2): YAML written offline, reloaded by the SDK's loaders.

Notebook 41: a managed online endpoint (:func:`write_v2_yaml`, :func:`load_v2_yaml`; :func:`deploy_v2` only with
a workspace). Notebook 45: a batch endpoint (:func:`write_batch_yaml`, :func:`load_batch_yaml`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The Azure ML base image (Ubuntu 22.04, conda) of every environment here, pinned to a dated tag (``:latest`` moves).
BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250601.v1"

#: What score.py needs in the cloud: the versions the local endpoint runs with (requirements/main.lock.txt).
SERVING_PACKAGES = {
    "onnxruntime": "1.32.0",
    "numpy": "2.4.6",
    "azureml-inference-server-http": "1.5.1",
    "inference-schema": "1.8",
}
#: What deploy/batch_score.py needs (batch deployments call ``init``/``run`` themselves: no azureml-core).
BATCH_PACKAGES = {"onnxruntime": "1.32.0", "numpy": "2.4.6", "pandas": "3.1.1", "pyarrow": "26.0.1"}

@dataclass
class V2Specs:
    """The four SDK v2 objects of one managed online deployment, plus the conda file they use."""

    model: Any
    environment: Any
    endpoint: Any
    deployment: Any
    conda_file: Path


def find_workspace_config(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The workspace ``config.json`` at ``path``, else in ``./``, ``./.azureml/`` or the repository root; None: stay offline."""
    from helpers.paths import repo_root

    candidates = [Path(path)] if path else []
    for base in (Path.cwd(), repo_root()):
        candidates += [base / "config.json", base / ".azureml" / "config.json"]
    for candidate in filter(Path.is_file, candidates):
        try:
            data = json.loads(candidate.read_text())
        except ValueError:
            continue
        if {"subscription_id", "resource_group", "workspace_name"} <= set(data):
            return candidate
    return None


def write_conda_file(path: str | os.PathLike[str], packages: dict[str, str] | None = None,
                     python: str = "3.11", name: str = "onnx-endpoint") -> Path:
    """Write an Azure ML environment's conda file: Python, pip, and ``packages`` pinned (default :data:`SERVING_PACKAGES`).

    Example: ``write_conda_file(path, BATCH_PACKAGES, name="onnx-batch")`` for the batch deployment.
    """
    import yaml

    pins = [f"{package}=={version}" for package, version in (packages or SERVING_PACKAGES).items()]
    spec = {"name": name, "channels": ["conda-forge"], "dependencies": [f"python={python}", "pip", {"pip": pins}]}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _dump(entity: Any, path: Path) -> Path:
    """Write an entity's YAML with its ``dump`` (endpoints' ``dump`` returns a dict instead of writing it)."""
    import yaml

    path.unlink(missing_ok=True)
    result = entity.dump(str(path))
    if not path.is_file() or path.stat().st_size == 0:
        data = json.loads(json.dumps(result or entity._to_dict(), default=str))  # OrderedDicts -> plain dicts
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_v2_yaml(specs: V2Specs, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``model.yml``, ``environment.yml``, ``endpoint.yml`` and ``deployment.yml`` (for ``az ml ... create --file``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {key: _dump(getattr(specs, key), out / f"{key}.yml")
            for key in ("model", "environment", "endpoint", "deployment")}


def load_v2_yaml(paths: dict[str, Path]) -> dict[str, Any]:
    """Read the YAML files back with the SDK's loaders, which validate them against the schemas."""
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


def write_batch_yaml(endpoint: Any, deployment: Any, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``batch-endpoint.yml`` and a model deployment's ``batch-deployment.yml`` (for ``az ml ... create --file``)."""
    import yaml

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"endpoint": _dump(endpoint, out / "batch-endpoint.yml"),
             "deployment": _dump(deployment, out / "batch-deployment.yml")}
    # azure-ai-ml 1.35 writes a model deployment's instance_count under both settings and resources, and its
    # loader then refuses the file ("Can't set instance_count when resources is provided"): keep settings'.
    data = yaml.safe_load(paths["deployment"].read_text())
    resources = data.get("resources") or {}
    resources.pop("instance_count", None)
    if not any(resources.values()):
        data.pop("resources", None)
    paths["deployment"].write_text(yaml.safe_dump(data, sort_keys=False))
    return paths


def load_batch_yaml(paths: dict[str, Path]) -> dict[str, Any]:
    """Read a batch endpoint and a model deployment back with the SDK's loaders, which validate them.

    ``load_batch_deployment`` applies the generic schema, which refuses a model deployment's ``settings``: the
    deployment goes through ``load_common`` (what it calls) with the ``ModelBatchDeployment`` schema.
    """
    from azure.ai.ml import load_batch_endpoint
    from azure.ai.ml.entities import ModelBatchDeployment
    from azure.ai.ml.entities._load_functions import load_common

    return {"endpoint": load_batch_endpoint(source=str(paths["endpoint"])),
            "deployment": load_common(ModelBatchDeployment, str(paths["deployment"]), None, None)}


def deployment_settings(deployment: Any) -> dict[str, Any]:
    """The batch settings of a (loaded) ``ModelBatchDeployment`` as plain values, retry settings included."""
    settings = deployment.settings
    found = {name: getattr(settings, name) for name in (
        "mini_batch_size", "instance_count", "max_concurrency_per_instance", "error_threshold", "output_action",
        "output_file_name", "logging_level")}
    found["output_action"] = str(found["output_action"])
    retry = settings.retry_settings
    return found | {"retry_settings": {"max_retries": retry.max_retries, "timeout": retry.timeout}}


class DeploymentError(RuntimeError):
    """A real deployment failed; the message says which step, what was cleaned up, and what is left."""


def deploy_v2(config: str | os.PathLike[str] | None, specs: V2Specs, request_file: str | os.PathLike[str],
              cleanup: bool = True, client: Any = None) -> dict[str, Any]:
    """Deploy for real: register, create endpoint and deployment, route traffic, invoke, read logs, clean up.

    config: the workspace config.json; credentials come from ``DefaultAzureCredential`` (``az login``). Takes
    10-20 minutes and costs money while the deployment exists. client: an ``MLClient`` (the tests pass a fake).
    A failed step deletes the endpoint, then raises :class:`DeploymentError` naming the step and what is left.
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
