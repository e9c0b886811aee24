"""helpers.spark: the standalone cluster starts and stops leaving nothing, sessions, row accounting."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import spark as sh

pytestmark = pytest.mark.timeout(300)


def test_account_rows_passes_when_every_input_has_one_output():
    counts = sh.account_rows(np.arange(5), [4, 3, 2, 1, 0])
    assert counts == {"inputs": 5, "outputs": 5, "lost": 0, "duplicated": 0, "unknown": 0}


@pytest.mark.parametrize(("outputs", "what"), [
    ([0, 1, 2, 3], "'lost': 1"),
    ([0, 1, 2, 3, 4, 4], "'duplicated': 1"),
    ([0, 1, 2, 3, 4, 99], "'unknown': 1"),
    ([0, 1, 2, 3, 3], "'lost': 1, 'duplicated': 1"),
])
def test_account_rows_fails_on_a_lost_duplicated_or_unknown_row(outputs, what):
    with pytest.raises(sh.RowAccountingError, match=what):
        sh.account_rows(range(5), outputs)


def test_account_rows_refuses_repeated_input_ids():
    with pytest.raises(sh.RowAccountingError, match="input ids are not unique"):
        sh.account_rows([1, 1, 2], [1, 2])


def test_time_rows_reports_rows_per_second_and_the_ratio_to_a_baseline():
    table = sh.time_rows({"fast": (lambda: None, 100), "slow": (lambda: sum(range(10_000)), 100)}, baseline="slow",
                         repeats=3, warmup=0)
    assert table["runs"].tolist() == [3, 3] and (table["rows_per_s"] > 0).all()
    assert table.loc["slow", "vs baseline"] == 1.0 and table.loc["fast", "vs baseline"] > 1.0


def test_configure_environment_points_workers_at_this_interpreter(monkeypatch):
    monkeypatch.delenv(sh.TAG_ENV, raising=False)
    for key in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "SPARK_LOCAL_IP"):
        monkeypatch.delenv(key, raising=False)
    tag = sh.configure_environment()
    assert os.environ["PYSPARK_PYTHON"] == sys.executable and os.environ[sh.TAG_ENV] == tag


def test_check_java_names_the_package_when_java_is_missing(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(sh.SparkSetupError, match="openjdk-17-jre-headless"):
        sh.check_java()


def test_tagged_processes_finds_a_tagged_child_and_then_none():
    tag = "test-tag-" + os.urandom(4).hex()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                            env={**os.environ, sh.TAG_ENV: tag})
    try:
        assert [p["pid"] for p in sh.tagged_processes(tag)] == [proc.pid]
    finally:
        proc.kill()
        proc.wait()
    assert sh.tagged_processes(tag) == []


def _spark_scoring():
    import importlib.util

    from helpers.paths import repo_root

    spec = importlib.util.spec_from_file_location("spark_scoring_under_test", repo_root() / "deploy" / "spark_scoring.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_worker_session_is_created_once_per_process():
    from helpers.models import digits_cnn_onnx

    spark_scoring = _spark_scoring()
    path = str(digits_cnn_onnx())
    first = spark_scoring.worker_session(path, threads=1)
    assert spark_scoring.worker_session(path, threads=1) is first
    assert spark_scoring.session_count() == 1
    spark_scoring.worker_session(path, threads=2)
    assert spark_scoring.session_count() == 2


def test_the_shipped_worker_module_imports_nothing_from_the_repository():
    import ast

    from helpers.paths import repo_root

    tree = ast.parse((repo_root() / "deploy" / "spark_scoring.py").read_text())
    imported = {n.names[0].name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"__future__", "typing", "onnxruntime"}, imported


PROBE = "import importlib.util as u, numpy, onnxruntime; print(u.find_spec('helpers') is not None)"


def test_python_without_repository_cannot_import_helpers_but_has_the_packages(tmp_path):
    from helpers.paths import repo_root

    env = {**os.environ, "PYTHONPATH": f"{repo_root()}:{os.environ.get('PYTHONPATH', '')}"}
    plain = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert plain.stdout.strip() == "True"  # the check below can fail: here helpers is importable
    python = sh.python_without_repository(tmp_path / "worker-python")
    bare = subprocess.run([python, "-c", PROBE], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert bare.returncode == 0, bare.stderr
    assert bare.stdout.strip() == "False"


# The standalone cluster's life cycle (two workers up and tagged, a job, a worker's process group killed, the
# driver and every tagged process gone after the stop) is tested by notebook 45's checked run
# (tests/notebooks/checks_spark.py), which starts the same cluster: a second one here cost a minute.
# tests/notebooks/test_notebooks.py fails if that run stops starting the cluster.


# --- deploy/batch_score.py and helpers.azure's batch endpoint, offline -----------------------

def _batch_score_module(monkeypatch, model_dir):
    import importlib.util

    from helpers.paths import repo_root

    monkeypatch.setenv("AZUREML_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("BATCH_MODEL_FILE", "digits_cnn.onnx")
    spec = importlib.util.spec_from_file_location("batch_score_under_test", repo_root() / "deploy" / "batch_score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_batch_score_gives_one_row_per_input_row_with_reasons_for_bad_rows(monkeypatch, tmp_path):
    import onnxruntime as ort
    import pyarrow as pa
    import pyarrow.parquet as pq

    from helpers.data import load_digits
    from helpers.models import DIGITS_INPUT, digits_cnn_onnx

    path = digits_cnn_onnx()
    x = load_digits(kind="images").X_test[:40].reshape(40, 64).astype(np.float32)
    rows = list(x)
    rows[3] = x[3][:10]
    rows[5] = np.where(np.arange(64) == 0, np.nan, x[5]).astype(np.float32)
    files = []
    for k in range(2):
        files.append(tmp_path / f"part{k}.parquet")
        pq.write_table(pa.table({"id": np.arange(20 * k, 20 * k + 20), "pixels": pa.array(rows[20 * k:20 * k + 20],
                                                                                      pa.list_(pa.float32()))}), files[-1])
    (tmp_path / "broken.parquet").write_text("not parquet")
    batch_score = _batch_score_module(monkeypatch, path.parent)
    with pytest.raises(RuntimeError, match="init"):
        batch_score.run([str(files[0])])
    batch_score.init()
    out = batch_score.run([str(f) for f in files] + [str(tmp_path / "broken.parquet")])
    scored = out.dropna(subset=["id"])
    assert sh.account_rows(range(40), scored["id"].astype(int))["lost"] == 0
    assert dict(zip(scored["id"][scored["error"].notna()], scored["error"].dropna())) == {
        3: "expected 64 pixels, got 10", 5: "NaN or infinite pixel"}
    assert out["error"].iloc[-1].startswith("cannot read file")
    expected = ort.InferenceSession(str(path)).run(None, {DIGITS_INPUT: x.reshape(-1, 1, 8, 8)})[0].argmax(1)
    good = scored["error"].isna().to_numpy()
    assert (scored["prediction"][good].astype(int).to_numpy() == expected[good]).all()


def _batch_specs(tmp_path, mini_batch_size=2):
    from azure.ai.ml.constants import BatchDeploymentOutputAction
    from azure.ai.ml.entities import (
        BatchEndpoint,
        BatchRetrySettings,
        CodeConfiguration,
        Environment,
        Model,
        ModelBatchDeployment,
        ModelBatchDeploymentSettings,
    )

    from helpers import azure

    endpoint = BatchEndpoint(name="digits-batch")
    deployment = ModelBatchDeployment(
        name="onnx-cpu", endpoint_name="digits-batch", compute="cpu-cluster",
        model=Model(name="digits-cnn", version="1", path=str(tmp_path)),
        code_configuration=CodeConfiguration(code=str(tmp_path), scoring_script="batch_score.py"),
        environment=Environment(name="onnx-batch", image=azure.BASE_IMAGE,
                                conda_file=str(azure.write_conda_file(tmp_path / "conda.yml", azure.BATCH_PACKAGES, name="onnx-batch"))),
        settings=ModelBatchDeploymentSettings(mini_batch_size=mini_batch_size, instance_count=2,
                                              max_concurrency_per_instance=2, error_threshold=0,
                                              retry_settings=BatchRetrySettings(max_retries=3, timeout=300),
                                              output_action=BatchDeploymentOutputAction.APPEND_ROW),
    )
    return endpoint, deployment


def test_batch_endpoint_and_model_deployment_survive_yaml_and_back(tmp_path):
    from helpers import azure

    files = azure.write_batch_yaml(*_batch_specs(tmp_path), tmp_path / "yaml")
    loaded = azure.load_batch_yaml(files)
    assert type(loaded["deployment"]).__name__ == "ModelBatchDeployment"
    assert loaded["endpoint"].name == "digits-batch"
    settings = azure.deployment_settings(loaded["deployment"])
    assert settings["mini_batch_size"] == 2 and settings["instance_count"] == 2
    assert settings["max_concurrency_per_instance"] == 2 and settings["error_threshold"] == 0
    assert settings["retry_settings"] == {"max_retries": 3, "timeout": 300}
    assert settings["output_action"] == "append_row"
    assert "onnxruntime==1.32.0" in (tmp_path / "conda.yml").read_text()


def test_batch_deployment_validation_fails_on_a_wrong_field(tmp_path):
    import yaml

    from helpers import azure

    files = azure.write_batch_yaml(*_batch_specs(tmp_path), tmp_path / "yaml")
    data = yaml.safe_load(files["deployment"].read_text())
    data["settings"]["mini_batch_size"] = "lots"
    files["deployment"].write_text(yaml.safe_dump(data))
    with pytest.raises(Exception, match="mini_batch_size"):
        azure.load_batch_yaml(files)
