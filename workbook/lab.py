"""workbook.lab: a JupyterLab server on 127.0.0.1 that starts, answers and stops cleanly, kernels included.

What `make lab` starts for attendees (``python -m workbook.lab``), and the same as a context manager for tests
and demos: a free port, a random token, offline settings (no news feed and no question about it, no update
check, no extension store), and a stop that shuts the kernels down and leaves no process behind. The settings
live here only: :data:`LAB_OFFLINE_ARGS` on the command line, :data:`LAB_SETTINGS_OVERRIDES` in the
environment's ``share/jupyter/lab/settings/overrides.json`` (:func:`write_settings_overrides`).

Example::

    from workbook.lab import running_lab
    with running_lab("notebooks") as lab:
        print(sorted(lab.kernelspecs()))    # ['onnx-workbook-legacy', 'onnx-workbook-main', 'python3']
        print(lab.url_for("lab/tree/00_start_here.ipynb"))   # http://127.0.0.1:41733/lab/tree/...?token=...

Used by tests/main/test_lab.py (the real-browser test of JupyterLab).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.processes import free_port, start_group, stop_group, wait_until

__all__ = ["LabServer", "LabStartError", "running_lab", "lab_command", "write_settings_overrides",
           "LAB_OFFLINE_ARGS", "LAB_SETTINGS_OVERRIDES", "main"]

#: Settings that keep JupyterLab from reaching the internet: a workshop room may have none.
LAB_OFFLINE_ARGS = (
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
)

#: Defaults of JupyterLab settings for the workbook's server. "Would you like to get notified about official
#: Jupyter news?" is asked while ``fetchNews`` is "none" (its default), even with no news URL: "false" is Never.
LAB_SETTINGS_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def settings_dir(python: str | os.PathLike[str] | None = None) -> Path:
    """JupyterLab's application settings folder of the environment of ``python`` (default: this one).

    It is ``<prefix>/share/jupyter/lab/settings`` unless ``JUPYTERLAB_DIR`` moves the application folder;
    its ``overrides.json`` sets the defaults every user of that JupyterLab starts from.
    """
    if os.environ.get("JUPYTERLAB_DIR"):
        return Path(os.environ["JUPYTERLAB_DIR"]) / "settings"
    prefix = Path(python).absolute().parent.parent if python else Path(sys.prefix)  # a venv's bin/python: no resolve
    return prefix / "share" / "jupyter" / "lab" / "settings"


def write_settings_overrides(python: str | os.PathLike[str] | None = None) -> Path:
    """Merge :data:`LAB_SETTINGS_OVERRIDES` into the ``overrides.json`` of ``python``'s JupyterLab; returns its path.

    Keeps every other setting already there; idempotent.
    """
    path = settings_dir(python) / "overrides.json"
    current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    merged = {**current, **{plugin: {**current.get(plugin, {}), **values}
                            for plugin, values in LAB_SETTINGS_OVERRIDES.items()}}
    if merged != current:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
    return path


def lab_command(notebook_dir: str | os.PathLike[str], port: int, *, python: str | os.PathLike[str] | None = None,
                token: str | None = None, extra_args: tuple[str, ...] = ()) -> list[str]:
    """The ``jupyter lab`` command line of the workbook's server: 127.0.0.1 only, offline, no browser.

    token: None keeps JupyterLab's own (a random token it prints with the URL).
    """
    command = [str(python or sys.executable), "-m", "jupyter", "lab", "--ip", "127.0.0.1", "--port", str(port),
               "--no-browser", "--ServerApp.port_retries=0", "--notebook-dir", str(notebook_dir), *LAB_OFFLINE_ARGS]
    if token is not None:
        command.append(f"--ServerApp.token={token}")
    if os.geteuid() == 0:
        command.append("--allow-root")
    return [*command, *extra_args]


class LabStartError(RuntimeError):
    """JupyterLab did not start (or did not answer) in time; the message carries the end of its log."""


@dataclass
class LabServer:
    """A running JupyterLab: its address, its token, its process (in a group of its own) and its kernels."""

    process: subprocess.Popen[bytes]
    port: int
    token: str
    notebook_dir: Path
    log_path: Path
    host: str = "127.0.0.1"
    _stopped_tree: list[Any] | None = field(default=None, repr=False)  # the processes when stop began

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/``."""
        return f"http://{self.host}:{self.port}/"

    def url_for(self, path: str = "lab", reset: bool = False) -> str:
        """A browser URL for `path` (e.g. ``lab/tree/00_start_here.ipynb``) that logs in with the token.

        reset: start from an empty workspace (no tabs restored from the previous visit).
        """
        return f"{self.base_url}{path.lstrip('/')}?token={self.token}" + ("&reset" if reset else "")

    def api(self, path: str, method: str = "GET", timeout: float = 10.0) -> Any:
        """Call the server's REST API (``api/status``, ``api/kernelspecs``...) and return the decoded JSON."""
        request = urllib.request.Request(f"{self.base_url}{path.lstrip('/')}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def answers(self) -> bool:
        """Whether the server answers its status API now."""
        try:
            self.api("api/status", timeout=2)
            return True
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def kernelspecs(self) -> dict[str, str]:
        """The kernels JupyterLab offers, name -> display name (what the launcher shows)."""
        specs = self.api("api/kernelspecs")["kernelspecs"]
        return {name: spec["spec"]["display_name"] for name, spec in specs.items()}

    @property
    def alive(self) -> bool:
        """True while the server process runs."""
        return self.process.poll() is None

    def processes(self) -> list[Any]:
        """The server and every process it started (kernels run in sessions of their own), as psutil objects."""
        import psutil

        try:
            server = psutil.Process(self.process.pid)
            return [server, *server.children(recursive=True)]
        except psutil.Error:
            return []

    def leftover_processes(self) -> list[int]:
        """Ids of the server's processes still running: after :meth:`stop`, those it started before stopping."""
        import psutil

        tree = self._stopped_tree if self._stopped_tree is not None else self.processes()
        left = []
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:  # is_running checks pid reuse
                    left.append(proc.pid)
        return left

    def stop(self, timeout: float = 20.0) -> None:
        """Shut down kernels and server through the API, then end whatever is left of them.

        Bounded: after `timeout` seconds the server gets SIGTERM, then SIGKILL; kernels still running
        10 s after the server are killed.
        """
        import psutil

        if self._stopped_tree is None:
            self._stopped_tree = self.processes()
        if self.alive:
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.api("api/shutdown", method="POST", timeout=5)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                stop_group(self.process, term_wait=5, kill_wait=5)
        deadline = time.monotonic() + 10  # kernels leave a moment after the server
        while self.leftover_processes() and time.monotonic() < deadline:
            time.sleep(0.2)
        for proc in self._stopped_tree:
            if proc.pid in self.leftover_processes():
                with contextlib.suppress(psutil.Error):
                    proc.kill()

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's log (stdout and stderr)."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@contextlib.contextmanager
def running_lab(
    notebook_dir: str | os.PathLike[str],
    *,
    python: str | os.PathLike[str] | None = None,  # the interpreter with jupyterlab (default: this one)
    port: int | None = None,  # default: a free port
    token: str | None = None,  # default: a random one
    startup_timeout: float = 120.0,  # seconds to wait for the server to answer
    env: Mapping[str, str] | None = None,  # extra environment for the server and its kernels
    extra_args: tuple[str, ...] = (),
) -> Iterator[LabServer]:
    """Start JupyterLab on 127.0.0.1 as `make lab` does, yield it, stop it (kernels included) on exit.

    Its workspaces and runtime files go to a temporary folder, so a test does not touch the user's.

    Example::

        with running_lab("notebooks", startup_timeout=60) as lab:
            assert lab.api("api/status")["kernels"] == 0
    """
    folder = Path(notebook_dir).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"No notebook folder {folder}: pass the folder JupyterLab should open.")
    port = port or free_port()
    token = token or secrets.token_hex(16)
    state = Path(tempfile.mkdtemp(prefix="onnx-workbook-lab-"))
    log_path = state / "lab.log"
    write_settings_overrides(python)
    command = lab_command(folder, port, python=python, token=token, extra_args=extra_args)
    child_env = dict(os.environ, JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
                     JUPYTER_RUNTIME_DIR=str(state / "runtime"), **(env or {}))
    with open(log_path, "wb") as log:
        process = start_group(command, stdout=log, stderr=subprocess.STDOUT, env=child_env)  # kernels stop with it
    server = LabServer(process=process, port=port, token=token, notebook_dir=folder, log_path=log_path)
    try:
        try:
            wait_until(server.answers, startup_timeout, "JupyterLab", interval=0.3, alive=lambda: server.alive)
        except RuntimeError:
            raise LabStartError(f"JupyterLab exited with code {process.returncode} before answering "
                                f"(is port {port} in use? is jupyterlab installed?):\n{server.log_tail()}") from None
        except TimeoutError:
            raise LabStartError(f"JupyterLab did not answer on {server.base_url} within "
                                f"{startup_timeout:.0f} s:\n{server.log_tail()}") from None
        yield server
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """``python -m workbook.lab [--port 8888] [--notebook-dir notebooks]``: what ``make lab`` runs, in the foreground."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m workbook.lab", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8888, help="the port on 127.0.0.1 (default 8888)")
    parser.add_argument("--notebook-dir", default="notebooks", help="the folder JupyterLab opens (default notebooks)")
    args = parser.parse_args(argv)
    print(f"JupyterLab settings: {write_settings_overrides()}", flush=True)
    command = lab_command(Path(args.notebook_dir).resolve(), args.port)
    os.execv(command[0], command)  # JupyterLab takes over this process: Ctrl+C stops it as before


if __name__ == "__main__":
    main()
