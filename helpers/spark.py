"""Apache Spark for batch scoring: sessions, a standalone cluster on this machine, row accounting, rates.

What a reader would not write in their own project: the environment Spark's Python workers need
(``PYSPARK_PYTHON``), small-memory session defaults for a shared laptop-sized machine, a real
standalone cluster (one master and N workers on 127.0.0.1, free ports, bounded life, clean stop, no
Java process left behind, a worker killed on purpose), a Python for the workers that cannot import this
repository (as on a real cluster), a check that every input row has exactly one output row, and timing
in rows per second. What the workers themselves need ships with the job: deploy/spark_scoring.py. Introduced in
notebooks/45_batch_scoring_spark.ipynb; ``make spark-benchmark`` (workbook.spark_benchmark) measures it.

>>> from helpers import spark as sh                          # doctest: +SKIP
>>> with sh.StandaloneCluster(workers=2) as cluster:          # doctest: +SKIP
...     session = sh.spark_session(cluster.master_url)
...     session.range(10).count()
10
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpers.processes import free_port, start_group

__all__ = [
    "TAG_ENV",
    "DEFAULT_CONF",
    "SparkSetupError",
    "RowAccountingError",
    "spark_home",
    "check_java",
    "configure_environment",
    "spark_session",
    "stop_session",
    "tagged_processes",
    "StandaloneCluster",
    "python_without_repository",
    "account_rows",
    "Rate",
    "time_rows",
]

#: Every process started for Spark (driver JVM, cluster daemons, executors, Python workers) inherits
#: this environment variable, so :func:`tagged_processes` can find any left behind.
TAG_ENV = "WORKBOOK_SPARK_TAG"

#: Session settings for one small shared machine: little memory, no web UI, loopback only, Arrow on.
DEFAULT_CONF: dict[str, str] = {
    "spark.driver.memory": "512m",
    "spark.executor.memory": "512m",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
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


def spark_home() -> Path:
    """The Spark distribution bundled inside the ``pyspark`` wheel (its ``bin/``, ``jars/``)."""
    try:
        import pyspark
    except ImportError as err:
        raise SparkSetupError("pyspark is not installed: pip install pyspark==4.3.0 (requirements/main.txt)") from err
    return Path(pyspark.__file__).resolve().parent


def check_java() -> str:
    """The ``java`` on PATH (or in ``JAVA_HOME``); raises with the install command when there is none."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home) / "bin" / "java" if java_home else None
    java = str(candidate) if candidate and candidate.exists() else shutil.which("java")
    if not java:
        raise SparkSetupError("Spark needs Java 17 or 21: apt-get install -y openjdk-17-jre-headless "
                              "(listed in requirements/apt.txt), or set JAVA_HOME.")
    return java


def configure_environment(tag: str | None = None, worker_python: str | None = None) -> str:
    """Point Spark's Python workers at this interpreter and tag every process Spark starts; returns the tag.

    Sets ``PYSPARK_PYTHON`` and ``PYSPARK_DRIVER_PYTHON`` to ``sys.executable`` (otherwise workers start
    the system Python, which lacks onnxruntime and pandas), ``SPARK_LOCAL_IP`` to 127.0.0.1, and
    :data:`TAG_ENV`. Call it before the first ``SparkSession`` of the process.
    worker_python: another interpreter for the Python workers (``PYSPARK_PYTHON``), e.g.
    :func:`python_without_repository`.
    """
    check_java()
    tag = tag or os.environ.get(TAG_ENV) or f"spark-{uuid.uuid4().hex[:12]}"
    os.environ.update({"PYSPARK_PYTHON": worker_python or sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
                       "SPARK_LOCAL_IP": "127.0.0.1", TAG_ENV: tag})
    return tag


def spark_session(master: str = "local[2]", app_name: str = "onnx-workbook", arrow_batch: int | None = None,
                  conf: Mapping[str, Any] | None = None, worker_python: str | None = None) -> Any:
    """A ``SparkSession`` on ``master`` with :data:`DEFAULT_CONF`, plus ``conf`` (wins).

    master: ``local[N]`` (N task slots in this process) or ``spark://host:port`` (a standalone cluster).
    arrow_batch: ``spark.sql.execution.arrow.maxRecordsPerBatch`` (rows per Arrow batch to Python).
    worker_python: the Python workers' interpreter (default: this one), see :func:`configure_environment`.
    """
    from pyspark.sql import SparkSession

    configure_environment(worker_python=worker_python)
    builder = SparkSession.builder.master(master).appName(app_name)
    settings = {**DEFAULT_CONF, **({"spark.sql.execution.arrow.maxRecordsPerBatch": str(arrow_batch)}
                                   if arrow_batch else {}), **{k: str(v) for k, v in (conf or {}).items()}}
    if master.startswith("spark://"):
        settings.setdefault("spark.cores.max", "2")
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def stop_session(session: Any, timeout: float = 30.0) -> bool:
    """Stop the session and its driver JVM (pyspark leaves the JVM up until Python exits); True if it ended."""
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
# Spark's Python workers as on a cluster without the onnx-workbook repository (written by helpers.spark).
# -S: site-packages' start-up hooks do not run, so the editable install of `helpers` is not loaded; the
# packages themselves (onnxruntime, numpy, pandas, pyarrow, pyspark) still come from {site}.
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
    """Write an executable that runs this interpreter without this repository; return its path.

    For ``PYSPARK_PYTHON`` (``spark_session(..., worker_python=...)``): Spark's Python workers then have
    the venv's packages but cannot ``import helpers``, as on Databricks, Synapse or Fabric, so a job that
    works with them ships what it needs (``addPyFile``). A simulation: the venv is the same, only the
    repository (its editable install and any ``PYTHONPATH`` entry holding ``helpers``) is out of reach.
    """
    import sysconfig

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_NO_REPO_PYTHON.format(site=sysconfig.get_paths()["purelib"], python=sys.executable),
                    encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def tagged_processes(tag: str, names: Sequence[str] = ("java", "python")) -> list[dict[str, Any]]:
    """Live processes whose environment carries ``TAG_ENV=tag`` (and whose command starts with one of
    ``names``): what Spark left behind. Reads ``/proc`` (Linux)."""
    marker = f"{TAG_ENV}={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            state = next((ln for ln in (entry / "status").read_text().splitlines() if ln.startswith("State:")), "")
        except OSError:
            continue
        if "zombie" in state or not cmd:
            continue
        if any(Path(cmd.split()[0]).name.startswith(n) for n in names):
            found.append({"pid": int(entry.name), "cmd": cmd[:200]})
    return found


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


@dataclass
class StandaloneCluster:
    """A real Spark standalone cluster on 127.0.0.1: one master and ``workers`` workers, as a context manager.

    workers, cores_per_worker, memory: what each worker offers to applications.
    max_seconds: bounded life: each daemon runs under ``timeout``, so it ends even if Python dies.
    Every daemon and executor inherits :data:`TAG_ENV`; :meth:`stop` ends them all and checks.

    >>> with StandaloneCluster(workers=2) as c:   # doctest: +SKIP
    ...     print(c.master_url)                   # spark://127.0.0.1:40123
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

    def _env(self) -> dict[str, str]:
        home = spark_home()
        assert self.work_dir is not None
        env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
               "SPARK_LOG_DIR": str(self.work_dir / "logs"), "SPARK_NO_DAEMONIZE": "1", TAG_ENV: self.tag,
               "SPARK_DAEMON_MEMORY": "256m"}
        return env

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        assert self.work_dir is not None
        log = open(self.work_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        cmd = ["timeout", "-k", "10", str(self.max_seconds), str(spark_home() / "bin" / "spark-class"), *args]
        proc = start_group(cmd, env=self._env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           cwd=self.work_dir)
        log.close()
        self._procs.append(proc)
        return proc

    def alive_workers(self) -> int:
        """How many workers the master reports ALIVE (its JSON status page)."""
        try:
            with urllib.request.urlopen(self.web_url + "/json/", timeout=2) as response:  # noqa: S310 - loopback
                import json

                status = json.loads(response.read())
        except (OSError, ValueError):
            return -1
        return sum(1 for w in status.get("workers", []) if w.get("state") == "ALIVE")

    def start(self) -> StandaloneCluster:
        """Start the master, then the workers; return once all workers are registered."""
        check_java()
        self.work_dir = Path(tempfile.mkdtemp(prefix="spark-cluster-"))
        port, web = free_port(), free_port()
        self.master_url, self.web_url = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{web}"
        self._spawn("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                               "--webui-port", str(web)])
        for i in range(self.workers):
            self._spawn(f"worker{i}", ["org.apache.spark.deploy.worker.Worker", self.master_url, "--host", "127.0.0.1",
                                       "--webui-port", str(free_port()), "--cores", str(self.cores_per_worker),
                                       "--memory", self.memory, "--work-dir", str(self.work_dir / f"work{i}")])
        deadline = time.monotonic() + self.start_timeout
        while self.alive_workers() < self.workers:
            dead = [p for p in self._procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = {p.name: p.read_text(errors="replace")[-1500:] for p in self.work_dir.glob("*.log")}
                self.stop()
                why = "a daemon exited" if dead else f"not all {self.workers} workers registered in {self.start_timeout} s"
                raise SparkSetupError(f"The standalone cluster did not start ({why}). Logs:\n{logs}")
            time.sleep(0.5)
        return self

    def kill_worker(self, index: int = 0) -> list[int]:
        """Kill worker ``index``'s whole process group with SIGKILL, as a machine failure would: the worker
        daemon, its executor JVM and that executor's Python workers. Returns the pids that were in the group."""
        proc = self._procs[1 + index]  # the master is first
        pids = [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit() and _pgid(int(e.name)) == proc.pid]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10  # the orphans are reaped by init a moment later
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        return pids

    def stop(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Stop workers (and their executors), then the master; returns processes still alive (expect [])."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self._procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        # executors run in the workers' process groups; anything tagged that survived gets killed
        for _ in range(20):
            left = tagged_processes(self.tag)
            if not left:
                break
            time.sleep(0.5)
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
    """Check that every input id has exactly one output row; return the counts, or raise.

    Raises :class:`RowAccountingError` naming lost, duplicated and unknown ids (a few of each).

    >>> account_rows([1, 2, 3], [3, 1, 2])
    {'inputs': 3, 'outputs': 3, 'lost': 0, 'duplicated': 0, 'unknown': 0}
    """
    inp = np.asarray(list(input_ids) if not isinstance(input_ids, np.ndarray) else input_ids)
    out = np.asarray(list(output_ids) if not isinstance(output_ids, np.ndarray) else output_ids)
    uniq_in, in_counts = np.unique(inp, return_counts=True)
    if (in_counts > 1).any():
        raise RowAccountingError(f"input ids are not unique ({int((in_counts > 1).sum())} repeated, e.g. "
                                 f"{uniq_in[in_counts > 1][:5].tolist()}): give every input row its own id first")
    uniq_out, out_counts = np.unique(out, return_counts=True)
    lost = np.setdiff1d(uniq_in, uniq_out)
    unknown = np.setdiff1d(uniq_out, uniq_in)
    dup = uniq_out[out_counts > 1]
    counts = {"inputs": int(inp.size), "outputs": int(out.size), "lost": int(lost.size),
              "duplicated": int(dup.size), "unknown": int(unknown.size)}
    if lost.size or dup.size or unknown.size:
        raise RowAccountingError(f"rows do not match one to one: {counts}; lost e.g. {lost[:5].tolist()}, "
                                 f"duplicated e.g. {dup[:5].tolist()}, unknown e.g. {unknown[:5].tolist()}")
    return counts


@dataclass
class Rate:
    """Rows per second over repeated runs of one job (median and best of ``seconds``)."""

    rows: int
    seconds: list[float]

    @property
    def median_s(self) -> float:
        return float(np.median(self.seconds))

    @property
    def rows_per_s(self) -> float:
        """Rows per second at the median time."""
        return self.rows / self.median_s

    @property
    def best_rows_per_s(self) -> float:
        return self.rows / min(self.seconds)

    def to_dict(self) -> dict[str, float]:
        return {"rows": self.rows, "median_s": round(self.median_s, 4), "rows_per_s": round(self.rows_per_s, 1),
                "best_rows_per_s": round(self.best_rows_per_s, 1), "runs": len(self.seconds)}


def time_rows(job: Callable[[], Any], rows: int, repeats: int = 3, warmup: int = 1) -> Rate:
    """Time ``job`` (which processes ``rows`` rows) ``repeats`` times after ``warmup`` runs.

    >>> len(time_rows(lambda: sum(range(1000)), rows=1000, repeats=2).seconds)
    2
    """
    for _ in range(warmup):
        job()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        job()
        seconds.append(time.perf_counter() - start)
    return Rate(rows, seconds)
