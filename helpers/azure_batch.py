"""Azure Machine Learning batch endpoints (SDK v2), offline: write the YAML, read it back, submit if asked.

A batch endpoint runs a scoring script (``deploy/batch_score.py``: ``init()`` and ``run(mini_batch)``)
over a folder of files on a compute cluster. This module writes the conda file of its environment,
dumps a ``BatchEndpoint`` and a ``ModelBatchDeployment`` to the YAML files ``az ml batch-endpoint
create`` and ``az ml batch-deployment create`` take, loads them back with the SDK's loaders (which
validate them against the schemas), and submits a scoring job only with a workspace, on request.
Introduced in notebooks/45_batch_scoring_spark.ipynb; the online endpoint lives in ``helpers.azure``.

Example::

    files = write_batch_yaml(endpoint, deployment, "build/azure-batch")
    deployment_settings(load_batch_yaml(files)["deployment"])["mini_batch_size"]
    # 2
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from helpers import azure as _azure

__all__ = [
    "BASE_IMAGE",
    "BATCH_PACKAGES",
    "write_conda_file",
    "write_batch_yaml",
    "load_batch_yaml",
    "deployment_settings",
    "submit_batch_job",
]

#: The same pinned Azure ML base image as the online deployment's (one pin: helpers.azure.BASE_IMAGE).
BASE_IMAGE = _azure.BASE_IMAGE

#: What the batch scoring script needs: the versions tested here. ``azureml-core`` is not needed:
#: batch deployments of SDK v2 call ``init``/``run`` themselves (the parallel run step).
BATCH_PACKAGES = {"onnxruntime": "1.32.0", "numpy": "2.4.6", "pandas": "3.1.1", "pyarrow": "26.0.1"}

#: The settings a batch deployment is about (``ModelBatchDeploymentSettings`` and the deployment).
SETTINGS = ("mini_batch_size", "instance_count", "max_concurrency_per_instance", "error_threshold",
            "output_action", "output_file_name", "logging_level")


#: The conda file of the batch environment: helpers.azure's one writer, with the batch packages.
write_conda_file = functools.partial(_azure.write_conda_file, packages=BATCH_PACKAGES, name="onnx-batch")


def _dump(entity: Any, path: Path) -> Path:
    """Write an entity's YAML; some entities' ``dump`` return a dict instead of writing the file."""
    import yaml

    path.unlink(missing_ok=True)
    result = entity.dump(str(path))
    if not path.is_file() or path.stat().st_size == 0:
        data = result if isinstance(result, dict) else entity._to_dict()
        path.write_text(yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False))
    return path


def _fix_model_deployment_yaml(path: Path) -> None:
    """Workaround (azure-ai-ml 1.35): ``ModelBatchDeployment.dump`` writes ``instance_count`` both under
    ``settings`` and under ``resources``, and loading that file fails with "Can't set instance_count when
    resources is provided". Keep the one under ``settings``, where the model deployment schema wants it."""
    import yaml

    data = yaml.safe_load(path.read_text())
    if data.get("type") == "model" and "instance_count" in (data.get("settings") or {}):
        resources = data.get("resources") or {}
        resources.pop("instance_count", None)
        if not any(resources.values()):
            data.pop("resources", None)
        path.write_text(yaml.safe_dump(data, sort_keys=False))


def write_batch_yaml(endpoint: Any, deployment: Any, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``batch-endpoint.yml`` and ``batch-deployment.yml`` (for ``az ml batch-endpoint|batch-deployment
    create --file``); returns ``{"endpoint": path, "deployment": path}``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"endpoint": _dump(endpoint, out / "batch-endpoint.yml"),
             "deployment": _dump(deployment, out / "batch-deployment.yml")}
    _fix_model_deployment_yaml(paths["deployment"])
    return paths


def load_batch_yaml(paths: dict[str, Path]) -> dict[str, Any]:
    """Read the files back with the SDK's loaders, which validate them against the schemas (a wrong or
    missing field raises ``ValidationError``/``ValidationException`` naming it).

    ``load_batch_deployment`` always applies the generic ``BatchDeployment`` schema, which rejects the
    ``settings`` block of a ``type: model`` deployment; such a file is loaded with the
    ``ModelBatchDeployment`` schema instead (the SDK's ``load_common``, what ``load_batch_deployment`` calls).
    """
    import yaml
    from azure.ai.ml import load_batch_deployment, load_batch_endpoint
    from azure.ai.ml.entities import ModelBatchDeployment
    from azure.ai.ml.entities._load_functions import load_common

    source = str(paths["deployment"])
    if yaml.safe_load(Path(source).read_text()).get("type") == "model":
        deployment = load_common(ModelBatchDeployment, source, None, None)
    else:
        deployment = load_batch_deployment(source=source)
    return {"endpoint": load_batch_endpoint(source=str(paths["endpoint"])), "deployment": deployment}


def deployment_settings(deployment: Any) -> dict[str, Any]:
    """The batch settings of a (loaded) deployment as plain values, retry settings included."""
    settings = getattr(deployment, "settings", None) or deployment
    found = {}
    for name in SETTINGS:
        value = getattr(settings, name, None)
        if value is None:
            value = getattr(deployment, name, None)
        found[name] = str(value) if name == "output_action" and value is not None else value
    retry = getattr(settings, "retry_settings", None) or getattr(deployment, "retry_settings", None)
    found["retry_settings"] = {"max_retries": getattr(retry, "max_retries", None), "timeout": getattr(retry, "timeout", None)}
    return found


def submit_batch_job(config: str | os.PathLike[str], endpoint: Any, deployment: Any, input_path: str,
                     wait: bool = False) -> Any:  # pragma: no cover - needs an Azure workspace
    """Create the endpoint and deployment in the workspace named by ``config`` and invoke it on ``input_path``.

    Live only: needs a workspace ``config.json`` and credentials that ``DefaultAzureCredential`` finds
    (``az login``). Never called by the tests. Returns the job; ``wait=True`` streams it to the end.
    """
    from azure.ai.ml import Input, MLClient
    from azure.identity import DefaultAzureCredential

    if not Path(config).is_file():
        raise FileNotFoundError(f"No workspace config at {config}: download config.json from Azure ML studio.")
    client = MLClient.from_config(credential=DefaultAzureCredential(), path=str(config))
    client.batch_endpoints.begin_create_or_update(endpoint).result()
    client.batch_deployments.begin_create_or_update(deployment).result()
    job = client.batch_endpoints.invoke(endpoint_name=endpoint.name, deployment_name=deployment.name,
                                        input=Input(type="uri_folder", path=input_path))
    if wait:
        client.jobs.stream(job.name)
    return job
