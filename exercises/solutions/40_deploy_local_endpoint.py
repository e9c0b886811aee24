# Reference solutions of notebooks/40_deploy_local_endpoint.ipynb's exercises (pasted into the gaps by the runner).
# ruff: noqa: F821 (the notebook's variables: these cells run inside it)

# %% 40.1
with LocalEndpoint(deploy / "score.py", model_dir, env={"MAX_BATCH": "8"}) as ep8:
    answer_40_1 = ep8.post({"inputs": {"image": digits.X_test[:9].tolist()}})
print(answer_40_1.status, answer_40_1.body)

# %% 40.2
# every row the script did not answer with a 4xx (a 500, or a 200 it should have refused), but NaN
answer_40_2 = {name for name, (status, _) in naive_answers.items()
               if name not in ("a good request", "a NaN pixel") and not 400 <= status < 500}
print(sorted(answer_40_2))

# %% 40.3
empty = build_dir("deploy") / "empty_model"
empty.mkdir(parents=True, exist_ok=True)
try:
    LocalEndpoint(deploy / "score.py", empty, start_timeout=30).start()
except EndpointError as err:
    answer_40_3 = err
print(str(answer_40_3)[-400:])
