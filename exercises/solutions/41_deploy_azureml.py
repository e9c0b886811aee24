# Reference solutions of notebooks/41_deploy_azureml.ipynb's exercises (pasted into the gaps by the runner).
# ruff: noqa: F821 (the notebook's variables: these cells run inside it)

# %% 41.1
import copy

green = copy.deepcopy(deployment)
green.name, green.instance_count = "green", 2
split = copy.deepcopy(endpoint)
split.traffic = {"blue": 90, "green": 10}
answer_41_1 = azure.write_v2_yaml(azure.V2Specs(model, environment, split, green, conda_file), out / "green")
print(answer_41_1["endpoint"].read_text())

# %% 41.2
from azure.ai.ml import load_online_deployment

slow = copy.deepcopy(deployment)
slow.instance_type = "Standard_F2s_v2"
slow.request_settings.request_timeout_ms = 100
slow_paths = azure.write_v2_yaml(azure.V2Specs(model, environment, endpoint, slow, conda_file), out / "slow")
written = load_online_deployment(source=str(slow_paths["deployment"]))  # read back what the YAML says
limits_ms = {"request_timeout_ms": written.request_settings.request_timeout_ms,
             "max_queue_wait_ms": written.request_settings.max_queue_wait_ms,
             "liveness_probe.timeout": written.liveness_probe.timeout * 1000,  # seconds in the YAML
             "readiness_probe.timeout": written.readiness_probe.timeout * 1000}
print(limits_ms)  # 100 ms per request is the smallest: a slow model times out (408) before anything else
answer_41_2 = {"deployment": slow_paths["deployment"], "limits_ms": limits_ms, "hit_first": min(limits_ms, key=limits_ms.get)}
