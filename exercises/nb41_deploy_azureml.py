"""Checks of the exercises of notebooks/41_deploy_azureml.ipynb; reference solutions in exercises/solutions/41_deploy_azureml.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exercises import answer_file, exercise


@exercise("41.1", "add a deployment 'green' (2 instances), split traffic 90/10; answer write_v2_yaml's paths")
def _check_blue_green(answer: Any) -> str | None:
    from azure.ai.ml import load_online_deployment, load_online_endpoint

    if not isinstance(answer, dict) or not {"endpoint", "deployment"} <= set(answer):
        return "answer the dict azure.write_v2_yaml returned for the green deployment (keys 'endpoint', 'deployment')."
    endpoint = load_online_endpoint(source=str(answer["endpoint"]))
    deployment = load_online_deployment(source=str(answer["deployment"]))
    if deployment.name != "green" or deployment.instance_count != 2:
        return (f"the deployment is {deployment.name!r} with {deployment.instance_count} instance(s): "
                "name it 'green', with instance_count=2.")
    if deployment.endpoint_name != endpoint.name:
        return "the green deployment belongs to another endpoint: use the same endpoint_name."
    traffic = dict(endpoint.traffic or {})
    if traffic != {"blue": 90, "green": 10}:
        return f"the endpoint's traffic is {traffic}: set endpoint.traffic = {{'blue': 90, 'green': 10}} before writing."
    return None


@exercise("41.2", "F2s_v2 and a 100 ms request timeout: answer the YAML path, its time limits in ms, and the one hit first")
def _check_limits(answer: Any, *, notebook_yaml: Any) -> str | None:
    from azure.ai.ml import load_online_deployment

    if not isinstance(answer, dict) or not {"deployment", "hit_first"} <= set(answer):
        return ("answer a dict {'deployment': the deployment YAML you wrote, 'limits_ms': {setting: milliseconds}, "
                "'hit_first': the name of a setting}.")
    hint = answer_file(answer["deployment"], ".yml", not_one_of=notebook_yaml)
    if hint:
        return hint
    if Path(answer["deployment"]).stat().st_mtime < Path(notebook_yaml).stat().st_mtime:
        return ("that YAML is older than this run's deployment.yml: write your copy of `deployment` now "
                "(azure.write_v2_yaml) and answer the path it returns.")
    d = load_online_deployment(source=str(answer["deployment"]))
    if d.instance_type != "Standard_F2s_v2":
        return f"the deployment runs on {d.instance_type}: set instance_type='Standard_F2s_v2'."
    if d.request_settings is None or d.request_settings.request_timeout_ms != 100:
        return "request_settings.request_timeout_ms is not 100 in the file you wrote."
    theirs = load_online_deployment(source=str(notebook_yaml))
    theirs.instance_type, theirs.request_settings.request_timeout_ms = d.instance_type, 100
    if _settings(d) != _settings(theirs):
        return ("apart from the instance type and the request timeout, your YAML differs from the notebook's "
                "deployment: start from a copy of `deployment` (copy.deepcopy).")
    limits = {"request_timeout_ms": d.request_settings.request_timeout_ms,
              "max_queue_wait_ms": d.request_settings.max_queue_wait_ms}
    for probe in ("liveness_probe", "readiness_probe"):
        settings = getattr(d, probe)
        if settings is not None and settings.timeout is not None:
            limits[f"{probe}.timeout"] = settings.timeout * 1000
    given = answer.get("limits_ms")
    known = {k: v for k, v in limits.items() if v is not None}
    if not isinstance(given, dict) or set(given) != set(known):
        return (f"answer 'limits_ms' too: every time limit of the deployment you wrote, in milliseconds, named "
                f"{sorted(known)} (the probes' timeouts are in seconds in the YAML).")
    wrong = sorted(k for k in known if not isinstance(given[k], (int, float)) or abs(given[k] - known[k]) > 1e-6)
    if wrong:
        return f"{wrong[0]} is not what the YAML says, in milliseconds: read it back with load_online_deployment."
    first = min((v, k) for k, v in known.items())[1]
    if not isinstance(answer["hit_first"], str) or not (answer["hit_first"] == first
                                                        or answer["hit_first"].endswith("." + first)):
        return ("not that one: compare every time limit of the deployment in milliseconds (request settings and "
                "probe timeouts, which are in seconds); a slow request meets the smallest first.")
    return None


def _settings(deployment: Any) -> dict[str, Any]:
    """What a deployment sets, without the paths of its files (a copy written elsewhere refers to the same ones)."""
    data = deployment._to_dict()
    for key in ("code_configuration", "environment", "model", "$schema"):
        data.pop(key, None)
    return data
