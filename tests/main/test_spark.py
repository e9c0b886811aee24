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


def test_time_rows_reports_rows_per_second():
    rate = sh.time_rows(lambda: None, rows=100, repeats=3, warmup=0)
    assert len(rate.seconds) == 3 and rate.rows_per_s > 0 and rate.to_dict()["runs"] == 3


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


def test_worker_session_is_created_once_per_process(tmp_path):
    from helpers.models import digits_cnn_onnx

    path = str(digits_cnn_onnx())
    before = sh.session_count()
    first = sh.worker_session(path, threads=1)
    assert sh.worker_session(path, threads=1) is first
    assert sh.session_count() == before + 1


@pytest.mark.skipif(not sh.shutil.which("java"), reason="needs Java (requirements/apt.txt)")
def test_standalone_cluster_runs_a_job_and_stops_leaving_no_process():
    cluster = sh.StandaloneCluster(workers=2, max_seconds=240)
    with cluster:
        assert cluster.alive_workers() == 2
        assert sh.tagged_processes(cluster.tag)  # master and workers are up, and tagged
        session = sh.spark_session(cluster.master_url, app_name="test-cluster")
        try:
            assert session.range(100, numPartitions=4).selectExpr("sum(id)").collect()[0][0] == 4950
        finally:
            assert sh.stop_session(session)
    assert sh.tagged_processes(cluster.tag) == []
    assert sh.tagged_processes(os.environ[sh.TAG_ENV]) == []  # the driver JVM is gone too
    assert not cluster.work_dir.exists()
