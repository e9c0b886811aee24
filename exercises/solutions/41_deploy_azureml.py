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
slow = copy.deepcopy(deployment)
slow.instance_type = "Standard_F2s_v2"
slow.request_settings.request_timeout_ms = 100
slow_paths = azure.write_v2_yaml(azure.V2Specs(model, environment, endpoint, slow, conda_file), out / "slow")
# 100 ms per request is far below the queue wait (500 ms) and the probes' 2 s timeouts: a slow model times out (408)
answer_41_2 = {"deployment": slow_paths["deployment"], "hit_first": "request_timeout_ms"}
