"""A local REST endpoint: the Azure ML inference server (``azmlinfsrv``) on 127.0.0.1, started and stopped from Python.

Used by notebooks 33, 40, 41 and 50. :class:`LocalEndpoint` runs the server Azure's inference containers run
with a scoring script and a model folder, waits for its health probe, and stops its whole process group.

Example::

    with LocalEndpoint("deploy/score.py", "build/models/endpoint") as ep:
        ep.post({"inputs": {"image": [[[[0.0] * 8] * 8]]}}).status   # 200
"""

from __future__ import annotations

import atexit
import ctypes
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
from email.message import Message
from pathlib import Path
from typing import Any

from helpers.processes import LOOPBACK, free_port, start_group, stop_group, wait_until

#: gunicorn worker classes, set through ``GUNICORN_CMD_ARGS`` (azmlinfsrv passes gunicorn none). "sync" (the
#: stock one) reads one request per worker, so a stalled client holds a worker; "gthread" holds a thread and the
#: scoring timeout cannot apply; "tornado" buffers each body on an event loop before the app runs (README,
#: "Slow clients").
WORKER_CLASSES = {
    "sync": "--worker-class sync",
    "gthread": "--worker-class gthread --threads 8",
    "tornado": "--worker-class tornado",
}
#: Seconds gunicorn gives its workers after SIGTERM before it kills them (a tornado worker that is still booting
#: misses SIGTERM); :meth:`LocalEndpoint.stop` waits longer than this before it kills the group.
GRACEFUL_TIMEOUT = 5

# azmlinfsrv's own entry point, with the bind host changed from 0.0.0.0 to loopback.
_LAUNCH = (
    "import sys; import azureml_inference_server_http.amlserver as s; "
    f"s.DEFAULT_HOST = {LOOPBACK!r}; sys.argv[0] = 'azmlinfsrv'; sys.exit(s.run())"
)


class EndpointError(RuntimeError):
    """The local endpoint could not start or answer; the message carries the server log's tail."""


@dataclass
class Reply:
    """One HTTP answer: status, body (parsed JSON when it is JSON, else text), headers (case-insensitive)."""

    status: int
    body: Any
    headers: Message
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def package_model(
    model_path: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    name: str,
    version: int | str = 1,
    labels: list[str] | None = None,
) -> Path:
    """Lay out a model as Azure lays out a registered one (``folder/<name>/<version>/model.onnx``); return ``folder``.

    labels: class names stored in the model's ``metadata_props["labels"]`` (JSON), where score.py reads them.
    """
    import onnx

    target = Path(folder) / name / str(version) / "model.onnx"
    target.parent.mkdir(parents=True, exist_ok=True)
    model = onnx.load(str(model_path))
    if labels is not None:
        onnx.helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props},
                                            "labels": json.dumps([str(label) for label in labels])})
    onnx.save(model, str(target))
    return Path(folder)


def _die_with_parent() -> None:
    """In the server's process: get SIGTERM when the kernel that started it dies (PR_SET_PDEATHSIG)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class LocalEndpoint:
    """The Azure ML inference server serving ``script`` with the model in ``model_dir``, on 127.0.0.1.

    script: the scoring script (``init()``/``run()``); its folder is the server's working directory.
    model_dir: the folder the server exposes as ``AZUREML_MODEL_DIR``.
    workers: gunicorn worker processes, each with its own ``init()`` and ONNX Runtime session.
    worker_class: a key of :data:`WORKER_CLASSES`; ``env["GUNICORN_CMD_ARGS"]`` overrides it.
    env: extra environment variables for the server (e.g. ``{"MAX_BATCH": "32"}``).
    log_level: the server's log level; ``"WARNING"`` drops the two log lines per request (load tests).
    key: the key requests must send as ``Authorization: Bearer <key>`` (score.py checks it as ``ENDPOINT_KEY``).
        Default: a random key; ``""`` turns the check off. :meth:`request` sends it.
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
        worker_class: str = "tornado",
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
        self._started = 0.0
        self._app_root: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def scoring_uri(self) -> str:
        return f"{self.url}/score"

    @property
    def auth_headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <key>"}`` (empty when the key check is off)."""
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    @property
    def command(self) -> str:
        """The ``azmlinfsrv`` command this endpoint runs (its entry point, bound to 127.0.0.1)."""
        return f"GUNICORN_CMD_ARGS={shlex.quote(self._gunicorn)} " + shlex.join(["azmlinfsrv", *self._args()])

    @property
    def _gunicorn(self) -> str:
        return self.env.get("GUNICORN_CMD_ARGS",
                            f"{WORKER_CLASSES[self.worker_class]} --graceful-timeout {GRACEFUL_TIMEOUT}")

    def _args(self) -> list[str]:
        return ["--entry_script", str(self.script), "--model_dir", str(self.model_dir), "--port", str(self.port),
                "--worker_count", str(self.workers)]

    def start(self, wait: bool = True) -> LocalEndpoint:
        """Start the server and wait for its health probe (``wait=False``: return at once, call :meth:`wait` later)."""
        if self.running:
            return self.wait() if wait else self
        from helpers.paths import build_dir

        self.log_path = build_dir("logs") / f"azmlinfsrv-{self.port}.log"
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        env = {**os.environ, "AZUREML_LOG_LEVEL": self.log_level, "PYTHONUNBUFFERED": "1", "ENDPOINT_KEY": self.key,
               "GUNICORN_CMD_ARGS": self._gunicorn, **self.env}
        env.pop("AZUREML_MODEL_DIR", None)  # --model_dir sets it
        if self.log_level.upper() != "INFO":
            self._app_root = _logging_root(self.log_level.upper())
            env["AML_APP_ROOT"] = str(self._app_root)
        self.process = start_group([sys.executable, "-c", _LAUNCH, *self._args()], cwd=self.script.parent, env=env,
                                   stdout=self._log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   preexec_fn=_die_with_parent)
        atexit.register(self.stop)
        self._started = time.monotonic()
        return self.wait() if wait else self

    def wait(self) -> LocalEndpoint:
        """Block until the started server is healthy; :class:`EndpointError` with the log's tail if it is not."""
        if self.process is None:
            raise EndpointError("The endpoint is not started: call start() first.")
        left = self.start_timeout - (time.monotonic() - self._started)
        try:
            wait_until(self.healthy, max(left, 0.0), "the inference server", interval=0.1, alive=lambda: self.running)
        except (RuntimeError, TimeoutError) as err:
            code = self.process.poll()
            tail = self.log_tail()
            self.stop()
            why = (f"exited with code {code} before it became healthy (init() failed or the script did not load)"
                   if code is not None else f"did not answer GET / within {self.start_timeout:.0f} s; it was stopped")
            raise EndpointError(f"The inference server {why}. Server log, last lines:\n{tail}") from err
        return self

    def stop(self) -> None:
        """Stop the server and its workers (the process group): SIGTERM, then SIGKILL."""
        proc, self.process = self.process, None
        atexit.unregister(self.stop)
        stop_group(proc, term_wait=GRACEFUL_TIMEOUT + 5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._app_root is not None:
            shutil.rmtree(self._app_root, ignore_errors=True)
            self._app_root = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> LocalEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalEndpoint({self.script.name}, {self.url}, workers={self.workers}, {self.worker_class}, {state})"

    def log(self) -> str:
        """The server's log so far (master and workers), kept in ``build/logs/azmlinfsrv-<port>.log``."""
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:]) or "(no log)"

    def worker_pids(self) -> list[int]:
        """Process ids of the gunicorn workers (children of the master)."""
        import psutil

        if not self.running:
            return []
        return sorted(child.pid for child in psutil.Process(self.process.pid).children())

    def healthy(self) -> bool:
        """True when ``GET /`` answers 200 ``Healthy``."""
        try:
            with urllib.request.urlopen(self.url + "/", timeout=2) as r:
                return r.status == 200 and b"Healthy" in r.read()
        except OSError:
            return False

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 30.0) -> Reply:
        """One HTTP request with the endpoint's key (unless ``headers`` has its own); any status is a :class:`Reply`."""
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers={**self.auth_headers, **(headers or {})})
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, raw, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as err:
            status, raw, hdrs = err.code, err.read(), err.headers
        elapsed = (time.perf_counter() - start) * 1e3
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Reply(status, parsed, hdrs, elapsed)

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


def _logging_root(level: str) -> Path:
    """An app root whose ``logging.json`` is at ``level`` (the server reads its logging setup there)."""
    import azureml_inference_server_http as pkg

    config = json.loads((Path(pkg.__file__).parent / "logging.json").read_text())
    for section in ("handlers", "loggers"):
        for item in config[section].values():
            item["level"] = level
    root = Path(tempfile.mkdtemp(prefix="azmlinfsrv-app-"))
    (root / "logging.json").write_text(json.dumps(config))
    return root
