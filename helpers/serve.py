"""A local REST endpoint: the real Azure ML inference server on 127.0.0.1, started and stopped from Python.

Introduced in notebooks/40_deploy_local_endpoint.ipynb. :class:`LocalEndpoint` runs the server that
Azure's inference containers run (``azmlinfsrv``, package azureml-inference-server-http: gunicorn and
Flask) with a scoring script and a model folder, waits until it answers its health probe, and stops
it again: the whole process group, on ``with`` exit, on ``stop()``, and at interpreter exit, so a failing
notebook cell leaves no server behind.

The ``azmlinfsrv`` command always binds 0.0.0.0; this module runs the same entry point
(``azureml_inference_server_http.amlserver.run``) with the host set to 127.0.0.1, so nothing listens
beyond the machine.

Slow clients. ``azmlinfsrv`` runs gunicorn with its stock ``sync`` workers: each reads one request at a
time, so a client that sends its headers and a little of its body, then nothing, holds a whole worker for the
worker timeout (300 s); two such sockets starve a two-worker endpoint. The server passes gunicorn only
``-w``, ``--timeout`` and the bind address; every other gunicorn setting comes from ``GUNICORN_CMD_ARGS``.
:class:`LocalEndpoint` sets ``--worker-class tornado`` there (:data:`WORKER_CLASSES`): each worker reads
requests on an event loop and hands the Flask app only a complete body, so stalled clients cost a socket,
not a worker (measured in README, "Slow clients"; ``workbook.slow_clients`` measures it).

Example::

    from helpers.serve import LocalEndpoint
    with LocalEndpoint("deploy/score.py", "build/models/endpoint") as ep:
        ep.post({"inputs": {"image": [[[[0.0] * 8] * 8]]}}).status
    # 200
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.processes import LOOPBACK, free_port, start_group, stop_group

__all__ = ["LocalEndpoint", "EndpointError", "Reply", "free_port", "package_model", "LOOPBACK", "WORKER_CLASSES",
           "DEFAULT_WORKER_CLASS"]

#: gunicorn worker classes, as ``GUNICORN_CMD_ARGS`` sets them (azmlinfsrv passes gunicorn no worker class).
#: "sync": the stock setting, one request per worker at a time, a stalled body holds the worker. "gthread":
#: threads per worker; a stalled body holds a thread, and a worker with all threads stalled queues the rest,
#: and the server's scoring timeout (SIGALRM) cannot apply in a thread. "tornado": an event loop per worker
#: that buffers each request's body before the app runs (in the main thread, so the scoring timeout applies);
#: bodies up to tornado's default cap of 100 MB are read, larger ones are cut.
WORKER_CLASSES = {
    "sync": "--worker-class sync",
    "gthread": "--worker-class gthread --threads 8",
    "tornado": "--worker-class tornado",
}
#: What :class:`LocalEndpoint` runs unless told otherwise: slow clients cannot starve it.
DEFAULT_WORKER_CLASS = "tornado"
#: Seconds gunicorn's master gives its workers to finish after SIGTERM before it kills them itself (its default is
#: 30). A tornado worker stops within about two of its one-second heartbeats, but one that gets SIGTERM while it
#: boots misses it (gunicorn's tornado worker sets itself alive when its loop starts); the master then kills and
#: reaps it after this grace, inside :meth:`LocalEndpoint.stop`'s wait, so no worker outlives its master.
GRACEFUL_TIMEOUT = 5
#: Seconds :meth:`LocalEndpoint.stop` waits for the master after SIGTERM before it kills the process group.
STOP_WAIT = GRACEFUL_TIMEOUT + 5.0

# Runs azmlinfsrv's own entry point with the bind host changed from 0.0.0.0 to loopback.
_LAUNCH = (
    "import sys; import azureml_inference_server_http.amlserver as s; "
    f"s.DEFAULT_HOST = {LOOPBACK!r}; sys.argv[0] = 'azmlinfsrv'; sys.exit(s.run())"
)


class EndpointError(RuntimeError):
    """The local endpoint could not start or answer; the message carries the server log's tail."""


class Headers(dict):
    """Response headers, looked up without regard to case as HTTP defines them (tornado's workers send
    ``Www-Authenticate`` where gunicorn's sync workers send ``WWW-Authenticate``)."""

    def __init__(self, items: Any = ()):
        super().__init__(items)
        self._lower = {str(k).lower(): v for k, v in self.items()}

    def __getitem__(self, key: str) -> str:
        return self._lower[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._lower

    def get(self, key: str, default: Any = None) -> Any:
        return self._lower.get(key.lower(), default)


@dataclass
class Reply:
    """One HTTP answer: status code, headers, and the body (parsed JSON when it is JSON, else text)."""

    status: int
    body: Any
    headers: dict[str, str]
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300


def package_model(
    model_path: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    name: str,
    version: int | str = 1,
    labels: list[str] | None = None,
) -> Path:
    """Lay out a model folder as Azure lays out a registered model: ``folder/<name>/<version>/model.onnx``.

    labels: class names stored in the model's metadata (``metadata_props["labels"]``, a JSON list), where
    the scoring script reads them. Returns ``folder`` (what ``AZUREML_MODEL_DIR`` points at).

    >>> package_model("build/models/shared/digits_cnn.onnx", "build/models/endpoint", "digits-cnn",
    ...               labels=[str(d) for d in range(10)])                    # doctest: +SKIP
    """
    import onnx

    folder = Path(folder)
    target = folder / name / str(version) / "model.onnx"
    target.parent.mkdir(parents=True, exist_ok=True)
    model = onnx.load(str(model_path))
    if labels is not None:
        kept = [p for p in model.metadata_props if p.key != "labels"]
        del model.metadata_props[:]
        model.metadata_props.extend(kept)
        model.metadata_props.add(key="labels", value=json.dumps([str(label) for label in labels]))
    onnx.save(model, str(target))
    return folder


def _die_with_parent() -> None:
    """In the server's process: ask Linux to send SIGTERM when the Python process that started it dies, so a
    killed kernel leaves no server behind (atexit covers normal exits)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class LocalEndpoint:
    """The Azure ML inference server serving ``script`` with the model in ``model_dir``, on 127.0.0.1.

    script: the scoring script (``init()``/``run()``); its folder is the server's working directory.
    model_dir: the folder the server exposes as ``AZUREML_MODEL_DIR``.
    port: the port (default: a free one).
    workers: gunicorn worker processes, each with its own ``init()`` and ONNX Runtime session.
    worker_class: a key of :data:`WORKER_CLASSES` (default ``"tornado"``: stalled clients cannot starve it;
        ``"sync"`` is the server's stock setting), set through ``GUNICORN_CMD_ARGS`` unless ``env`` sets that.
    env: extra environment variables for the server (e.g. ``{"MAX_BATCH": "32"}``).
    start_timeout: seconds to wait for the health probe before giving up with the log's tail.
    log_level: the server's log level; ``"WARNING"`` drops the two log lines per request (load tests).
    key: the key requests must send as ``Authorization: Bearer <key>`` (``ENDPOINT_KEY`` for score.py, which
        checks it because the local server checks none; Azure's endpoint checks its own keys). Default: a
        random key; ``""`` turns the check off. :meth:`request` sends it.

    Example::

        ep = LocalEndpoint("deploy/score.py", "build/models/endpoint", workers=2)
        ep.start(); ep.post({"inputs": {...}}); ep.stop()
    """

    def __init__(
        self,
        script: str | os.PathLike[str],
        model_dir: str | os.PathLike[str],
        port: int | None = None,
        workers: int = 1,
        env: dict[str, str] | None = None,
        start_timeout: float = 60.0,
        log_level: str = "INFO",
        key: str | None = None,
        worker_class: str = DEFAULT_WORKER_CLASS,
    ):
        self.script = Path(script).resolve()
        self.model_dir = Path(model_dir).resolve()
        if not self.script.is_file():
            raise FileNotFoundError(f"No scoring script at {self.script}: pass the path of score.py.")
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}.")
        if worker_class not in WORKER_CLASSES:
            raise ValueError(f"worker_class must be one of {sorted(WORKER_CLASSES)}, got {worker_class!r}.")
        self.port = port or free_port()
        self.workers = workers
        self.worker_class = worker_class
        self.env = dict(env or {})
        self.start_timeout = start_timeout
        self.log_level = log_level
        self.key = secrets.token_urlsafe(16) if key is None else key
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self._log_file = None
        self._deadline = 0.0
        self._app_root: Path | None = None

    # -- addresses ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``"""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def scoring_uri(self) -> str:
        """Where to POST requests: ``http://127.0.0.1:PORT/score``."""
        return f"{self.url}/score"

    @property
    def swagger_uri(self) -> str:
        """The OpenAPI document the server builds from the script's inference-schema decorators."""
        return f"{self.url}/swagger.json"

    @property
    def auth_headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <key>"}`` (empty when the key check is off)."""
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    @property
    def gunicorn_args(self) -> str:
        """The ``GUNICORN_CMD_ARGS`` the server gets: ``env``'s own, else the worker class's with a short
        graceful timeout (:data:`GRACEFUL_TIMEOUT`)."""
        return self.env.get("GUNICORN_CMD_ARGS",
                            f"{WORKER_CLASSES[self.worker_class]} --graceful-timeout {GRACEFUL_TIMEOUT}")

    @property
    def command(self) -> str:
        """The ``azmlinfsrv`` command this endpoint runs (the helper runs its entry point bound to 127.0.0.1)."""
        return f"GUNICORN_CMD_ARGS={shlex.quote(self.gunicorn_args)} " + shlex.join(["azmlinfsrv", "--entry_script", str(self.script), "--model_dir", str(self.model_dir),
                           "--port", str(self.port), "--worker_count", str(self.workers)])

    # -- life cycle ---------------------------------------------------------------------------------
    def start(self, wait: bool = True) -> LocalEndpoint:
        """Start the server and wait until ``GET /`` answers ``Healthy``; raises :class:`EndpointError`
        with the log's tail when it exits or does not become healthy within ``start_timeout``.

        wait: False returns at once (the server boots while you do other work); call :meth:`wait` later.
        """
        if self.process and self.process.poll() is None:
            return self.wait() if wait else self
        from helpers.paths import build_dir

        self.log_path = build_dir("logs") / f"azmlinfsrv-{self.port}.log"
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        env = {**os.environ, "AZUREML_LOG_LEVEL": self.log_level, "PYTHONUNBUFFERED": "1", "ENDPOINT_KEY": self.key,
               "GUNICORN_CMD_ARGS": self.gunicorn_args, **self.env}
        env.pop("AZUREML_MODEL_DIR", None)  # --model_dir sets it
        if self.log_level.upper() != "INFO":
            self._app_root = self._logging_root(self.log_level.upper())
            env["AML_APP_ROOT"] = str(self._app_root)
        cmd = [sys.executable, "-c", _LAUNCH, "--entry_script", str(self.script), "--model_dir", str(self.model_dir),
               "--port", str(self.port), "--worker_count", str(self.workers)]
        self.process = start_group(cmd, cwd=self.script.parent, env=env, stdout=self._log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        preexec_fn=_die_with_parent)
        atexit.register(self.stop)
        self._deadline = time.monotonic() + self.start_timeout
        return self.wait() if wait else self

    def wait(self) -> LocalEndpoint:
        """Block until the started server is healthy (see :meth:`start`)."""
        if self.process is None:
            raise EndpointError("The endpoint is not started: call start() first.")
        while time.monotonic() < self._deadline:
            code = self.process.poll()
            if code is not None:
                tail = self.log_tail()
                self.stop()
                raise EndpointError(f"The inference server exited with code {code} before it became healthy "
                                    f"(init() failed or the script did not load). Server log, last lines:\n{tail}")
            if self.healthy():
                return self
            time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise EndpointError(f"The inference server did not answer GET / within {self.start_timeout:.0f} s; it was "
                            f"stopped. Server log, last lines:\n{tail}")

    @staticmethod
    def _logging_root(level: str) -> Path:
        """An app root holding a ``logging.json`` at ``level``: the server reads its logging setup from there
        (``AZUREML_LOG_LEVEL`` alone does not change it)."""
        import azureml_inference_server_http as pkg

        config = json.loads((Path(pkg.__file__).parent / "logging.json").read_text())
        for section in ("handlers", "loggers"):
            for item in config[section].values():
                item["level"] = level
        root = Path(tempfile.mkdtemp(prefix="azmlinfsrv-app-"))
        (root / "logging.json").write_text(json.dumps(config))
        return root

    def stop(self) -> None:
        """Stop the server and all its workers (the process group): SIGTERM, then SIGKILL after
        :data:`STOP_WAIT` seconds."""
        proc, self.process = self.process, None
        atexit.unregister(self.stop)
        stop_group(proc, term_wait=STOP_WAIT)  # the master, then any worker left in its group
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._app_root is not None:
            shutil.rmtree(self._app_root, ignore_errors=True)
            self._app_root = None

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> LocalEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (f"LocalEndpoint({self.script.name}, {self.model_dir}, {self.url}, workers={self.workers}, "
                f"{self.worker_class}, {state})")

    # -- inspection ---------------------------------------------------------------------------------
    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the server's log (stdout and stderr of the master and workers), which
        is kept in ``build/logs/azmlinfsrv-<port>.log``."""
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log(self) -> str:
        """The server's whole log so far."""
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def worker_pids(self) -> list[int]:
        """Process ids of the gunicorn workers (children of the master), read from /proc."""
        if not self.running:
            return []
        master = self.process.pid
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server's master and live workers, from /proc."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in ([self.process.pid] if self.running else []) + self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        return total

    # -- requests -----------------------------------------------------------------------------------
    def healthy(self) -> bool:
        """True when ``GET /`` answers 200 ``Healthy``."""
        try:
            with urllib.request.urlopen(self.url + "/", timeout=2) as r:
                return r.status == 200 and b"Healthy" in r.read()
        except (OSError, urllib.error.URLError):
            return False

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 30.0) -> Reply:
        """One HTTP request to the endpoint; any status comes back as a :class:`Reply` (no exception).
        The key goes along unless ``headers`` names its own ``Authorization``."""
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers={**self.auth_headers, **(headers or {})})
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, raw, hdrs = r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as err:
            status, raw, hdrs = err.code, err.read(), dict(err.headers)
        elapsed = (time.perf_counter() - start) * 1e3
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Reply(status, parsed, Headers(hdrs), elapsed)

    def post(self, payload: Any, raw: bytes | None = None, content_type: str = "application/json") -> Reply:
        """POST ``payload`` as JSON to ``/score`` (or ``raw`` bytes as they are, to send broken bodies)."""
        body = raw if raw is not None else json.dumps(payload).encode()
        return self.request("POST", "/score", body, {"Content-Type": content_type})

    def swagger(self) -> dict[str, Any]:
        """The OpenAPI (Swagger 2) document from ``/swagger.json``."""
        reply = self.request("GET", "/swagger.json")
        if reply.status != 200:
            raise EndpointError(f"/swagger.json answered {reply.status}: {reply.body}; decorate run() with "
                                "inference-schema's @input_schema to get one.")
        return reply.body
