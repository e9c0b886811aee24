"""Apache Spark for batch scoring (notebook 45): sessions, a standalone cluster on 127.0.0.1, row accounting, rates.

What a reader would not write: the Python workers' environment, small-memory session defaults, a real
standalone cluster that leaves no Java process behind, workers that cannot import this repository, a check
that every input row has one output row, and rows per second. What the workers need ships as deploy/spark_scoring.py.

Example::

    with StandaloneCluster(workers=2) as cluster:
        spark_session(cluster.master_url).range(10).count()   # 10
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.benchmark import time_interleaved
from helpers.processes import LOOPBACK, free_port, start_group, stop_group, wait_until

if TYPE_CHECKING:  # pandas loads only where a function needs it
    import pandas as pd

#: Every process started for Spark inherits this variable, so :func:`tagged_processes` finds any left behind.
TAG_ENV = "WORKBOOK_SPARK_TAG"

#: Session settings for one small shared machine: little memory, no web UI, loopback only, Arrow on.
DEFAULT_CONF: dict[str, str] = {
    "spark.driver.memory": "512m",
    "spark.executor.memory": "512m",
    "spark.driver.host": LOOPBACK,
    "spark.driver.bindAddress": LOOPBACK,
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.python.worker.reuse": "true",
    "spark.sql.session.timeZone": "UTC",
}


class SparkSetupError(RuntimeError):
    """Java or pyspark is missing, or a Spark process did not come up."""


class RowAccountingError(AssertionError):
    """Output rows do not match input rows one to one (rows lost, duplicated or invented)."""


def check_java() -> str:
    """The ``java`` in ``JAVA_HOME`` or on PATH; raises with the install command when there is none."""
    in_home = Path(os.environ.get("JAVA_HOME", "/nonexistent")) / "bin" / "java"
    java = str(in_home) if in_home.exists() else shutil.which("java")
    if not java:
        raise SparkSetupError("Spark needs Java 17 or 21: apt-get install -y openjdk-17-jre-headless "
                              "(listed in requirements/apt.txt), or set JAVA_HOME.")
    return java


def configure_environment(tag: str | None = None, worker_python: str | None = None) -> str:
    """Point Spark's Python workers at this interpreter (or ``worker_python``) and tag every process; return the tag.

    Sets ``PYSPARK_PYTHON``, ``PYSPARK_DRIVER_PYTHON``, ``SPARK_LOCAL_IP`` and :data:`TAG_ENV`; call it before
    the first ``SparkSession`` of the process.
    """
    check_java()
    tag = tag or os.environ.get(TAG_ENV) or f"spark-{uuid.uuid4().hex[:12]}"
    os.environ.update({"PYSPARK_PYTHON": worker_python or sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
                       "SPARK_LOCAL_IP": LOOPBACK, TAG_ENV: tag})
    return tag


def spark_session(master: str = "local[2]", app_name: str = "onnx-workbook", arrow_batch: int | None = None,
                  conf: Mapping[str, Any] | None = None, worker_python: str | None = None) -> Any:
    """A ``SparkSession`` on ``master`` (``local[N]`` or ``spark://host:port``) with :data:`DEFAULT_CONF` and ``conf``.

    arrow_batch: ``spark.sql.execution.arrow.maxRecordsPerBatch`` (rows per Arrow batch to Python).
    worker_python: the Python workers' interpreter (default: this one).
    """
    from pyspark.sql import SparkSession

    configure_environment(worker_python=worker_python)
    settings = {**DEFAULT_CONF, **{k: str(v) for k, v in (conf or {}).items()}}
    if arrow_batch:
        settings["spark.sql.execution.arrow.maxRecordsPerBatch"] = str(arrow_batch)
    if master.startswith("spark://"):
        settings.setdefault("spark.cores.max", "2")
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def stop_session(session: Any, timeout: float = 30.0) -> bool:
    """Stop the session and its driver JVM (pyspark keeps the JVM until Python exits); True if it ended."""
    from pyspark import SparkContext

    session.stop()
    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None)
    if gateway is not None:
        with contextlib.suppress(Exception):  # an already closed gateway is fine
            gateway.shutdown()
    SparkContext._gateway = None
    SparkContext._jvm = None
    if proc is None:
        return True
    with contextlib.suppress(Exception):
        proc.stdin.close()  # the JVM's launcher exits when its stdin closes
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    return proc.poll() is not None


_NO_REPO_PYTHON = """#!/bin/sh
# Spark's Python workers without the onnx-workbook repository (written by helpers.spark): -S skips the
# site-packages start-up hooks (the editable install of `helpers`); the packages still come from {site}, and
# PYTHONPATH entries that hold a `helpers` package are dropped.
kept=""
old_ifs=$IFS; IFS=:
for entry in $PYTHONPATH; do
  if [ -n "$entry" ] && [ ! -e "$entry/helpers/__init__.py" ]; then kept="$kept${{kept:+:}}$entry"; fi
done
IFS=$old_ifs
PYTHONPATH="$kept${{kept:+:}}{site}" exec {python} -S "$@"
"""


def python_without_repository(path: str | os.PathLike[str]) -> str:
    """Write an executable running this interpreter without this repository (``import helpers`` fails); return it.

    For ``spark_session(..., worker_python=...)``: the workers have the venv's packages but not the repository,
    as on Databricks, Synapse or Fabric, so a job ships what it needs (``addPyFile``).
    """
    import sysconfig

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_NO_REPO_PYTHON.format(site=sysconfig.get_paths()["purelib"], python=sys.executable),
                    encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def tagged_processes(tag: str, names: tuple[str, ...] = ("java", "python")) -> list[dict[str, Any]]:
    """Live processes (``java``/``python`` commands) whose environment carries ``TAG_ENV=tag``: what Spark left."""
    import psutil

    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE or proc.environ().get(TAG_ENV) != tag:
                continue
            cmd = proc.cmdline()
        except psutil.Error:
            continue
        if cmd and Path(cmd[0]).name.startswith(names):
            found.append({"pid": proc.pid, "cmd": " ".join(cmd)[:200]})
    return found


@dataclass
class StandaloneCluster:
    """A real Spark standalone cluster on 127.0.0.1, one master and ``workers`` workers, as a context manager.

    max_seconds: each daemon runs under ``timeout``, so it ends even if Python dies.
    Every daemon and executor inherits :data:`TAG_ENV`; :meth:`stop` ends them all.
    """

    workers: int = 2
    cores_per_worker: int = 1
    memory: str = "512m"
    max_seconds: int = 1800
    start_timeout: float = 90.0
    tag: str = field(default_factory=lambda: f"cluster-{uuid.uuid4().hex[:12]}")
    master_url: str = ""
    web_url: str = ""
    work_dir: Path | None = None
    _procs: list[subprocess.Popen] = field(default_factory=list, repr=False)

    def _spawn(self, name: str, args: list[str]) -> None:
        import pyspark

        home = Path(pyspark.__file__).resolve().parent  # the Spark distribution inside the wheel
        env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": LOOPBACK, "PYSPARK_PYTHON": sys.executable,
               "SPARK_LOG_DIR": str(self.work_dir / "logs"), "SPARK_NO_DAEMONIZE": "1", TAG_ENV: self.tag,
               "SPARK_DAEMON_MEMORY": "256m"}
        cmd = ["timeout", "-k", "10", str(self.max_seconds), str(home / "bin" / "spark-class"), *args]
        with open(self.work_dir / f"{name}.log", "wb") as log:
            self._procs.append(start_group(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, cwd=self.work_dir))

    def alive_workers(self) -> int:
        """How many workers the master reports ALIVE (its JSON status page); -1 if it does not answer."""
        import json

        try:
            with urllib.request.urlopen(self.web_url + "/json/", timeout=2) as response:  # noqa: S310 - loopback
                status = json.loads(response.read())
        except (OSError, ValueError):
            return -1
        return sum(w.get("state") == "ALIVE" for w in status.get("workers", []))

    def start(self) -> StandaloneCluster:
        """Start the master, then the workers; return once all workers are registered."""
        check_java()
        self.work_dir = Path(tempfile.mkdtemp(prefix="spark-cluster-"))
        port, web = free_port(), free_port()
        self.master_url, self.web_url = f"spark://{LOOPBACK}:{port}", f"http://{LOOPBACK}:{web}"
        self._spawn("master", ["org.apache.spark.deploy.master.Master", "--host", LOOPBACK, "--port", str(port),
                               "--webui-port", str(web)])
        for i in range(self.workers):
            self._spawn(f"worker{i}", ["org.apache.spark.deploy.worker.Worker", self.master_url, "--host", LOOPBACK,
                                       "--webui-port", str(free_port()), "--cores", str(self.cores_per_worker),
                                       "--memory", self.memory, "--work-dir", str(self.work_dir / f"work{i}")])
        try:
            wait_until(lambda: self.alive_workers() >= self.workers, self.start_timeout,
                       f"a standalone cluster of {self.workers} workers", interval=0.5,
                       alive=lambda: all(p.poll() is None for p in self._procs))
        except (RuntimeError, TimeoutError) as err:
            logs = {p.name: p.read_text(errors="replace")[-1500:] for p in self.work_dir.glob("*.log")}
            self.stop()
            raise SparkSetupError(f"The standalone cluster did not start ({err}). Logs:\n{logs}") from err
        return self

    def kill_worker(self, index: int = 0) -> list[int]:
        """SIGKILL worker ``index``'s process group (daemon, executor, Python workers) as a machine failure would;
        return the pids that were in it."""
        import psutil

        proc = self._procs[1 + index]  # the master is first
        group = []
        for p in psutil.process_iter():
            with contextlib.suppress(psutil.Error, ProcessLookupError):
                if os.getpgid(p.pid) == proc.pid:
                    group.append(p)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        psutil.wait_procs(group, timeout=10)  # the orphans are reaped by init a moment later
        return [p.pid for p in group]

    def stop(self) -> list[dict[str, Any]]:
        """Stop workers (and their executors), then the master; returns processes still alive (expect [])."""
        for proc in reversed(self._procs):
            stop_group(proc, term_wait=15)
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: not tagged_processes(self.tag), 10, "the cluster's processes to end", interval=0.5)
        for p in tagged_processes(self.tag):
            with contextlib.suppress(ProcessLookupError):
                os.kill(p["pid"], signal.SIGKILL)
        self._procs.clear()
        if self.work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        return tagged_processes(self.tag)

    def __enter__(self) -> StandaloneCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def account_rows(input_ids: Iterable[Any], output_ids: Iterable[Any]) -> dict[str, int]:
    """Check that every input id has exactly one output row; return the counts, or raise :class:`RowAccountingError`.

    >>> account_rows([1, 2, 3], [3, 1, 2])
    {'inputs': 3, 'outputs': 3, 'lost': 0, 'duplicated': 0, 'unknown': 0}
    """
    import pandas as pd

    inputs, outputs = pd.Series(list(input_ids)), pd.Series(list(output_ids))
    repeated = inputs[inputs.duplicated()].unique()
    if len(repeated):
        raise RowAccountingError(f"input ids are not unique ({len(repeated)} repeated, e.g. {repeated[:5].tolist()}): "
                                 "give every input row its own id first")
    lost = np.setdiff1d(inputs, outputs)
    unknown = np.setdiff1d(outputs, inputs)
    duplicated = outputs[outputs.duplicated()].unique()
    counts = {"inputs": len(inputs), "outputs": len(outputs), "lost": len(lost), "duplicated": len(duplicated),
              "unknown": len(unknown)}
    if lost.size or len(duplicated) or unknown.size:
        raise RowAccountingError(f"rows do not match one to one: {counts}; lost e.g. {lost[:5].tolist()}, "
                                 f"duplicated e.g. {duplicated[:5].tolist()}, unknown e.g. {unknown[:5].tolist()}")
    return counts


def time_rows(jobs: Mapping[str, tuple[Callable[[], Any], int]], baseline: str | None = None,
              repeats: int = 3, warmup: int = 1) -> pd.DataFrame:
    """Rows per second of ``{runner: (job, rows it processes)}``, the jobs timed in turns by helpers.benchmark.

    baseline: a runner of ``jobs``; column ``vs baseline`` is each runner's rate over its rate.

    >>> time_rows({"sum": (lambda: sum(range(1000)), 1000)}, repeats=2, warmup=0)["runs"].tolist()
    [2]
    """
    import pandas as pd

    stats = time_interleaved({name: job for name, (job, _) in jobs.items()}, warmup=warmup, repeats=repeats)
    table = pd.DataFrame({"rows": [rows for _, rows in jobs.values()],
                          "median_s": [stats[name].median / 1e3 for name in jobs],
                          "runs": [stats[name].n for name in jobs]}, index=pd.Index(list(jobs), name="runner"))
    table["rows_per_s"] = table["rows"] / table["median_s"]
    if baseline is not None:
        table["vs baseline"] = table["rows_per_s"] / table.loc[baseline, "rows_per_s"]
    return table
