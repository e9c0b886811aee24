"""Servers on this machine: a free loopback port, a process group started, waited for and stopped.

The workbook starts real servers (the Azure ML inference server, JupyterLab, a Spark cluster, Netron, a
static page server). Each needs the same three things a reader would not write: a port nobody uses, a
readiness wait with a deadline instead of a fixed sleep, and a stop that ends the server's whole process
group (workers, kernels, executors) so nothing outlives it. One implementation, used by ``helpers.serve``,
``helpers.spark`` and ``workbook.lab``.

>>> port = free_port()
>>> 1024 < port < 65536
True
>>> proc = start_group(["sleep", "30"])
>>> stop_group(proc, term_wait=5)
>>> proc.poll() is not None
True
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["LOOPBACK", "free_port", "start_group", "stop_group", "wait_until"]

#: Every server the workbook starts listens here only.
LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on ``host`` right now (the OS picks it; bind soon, another process may take it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_group(cmd: Sequence[str], **popen: Any) -> subprocess.Popen:
    """Start ``cmd`` as the leader of a new process group, so :func:`stop_group` ends it and its children."""
    return subprocess.Popen(list(cmd), start_new_session=True, **popen)


def stop_group(proc: subprocess.Popen | None, term_wait: float = 10.0, kill_wait: float = 5.0) -> None:
    """Stop ``proc``'s process group: SIGTERM, wait up to ``term_wait`` s, then SIGKILL whatever is left.

    After the leader exits, the group is killed once more, so no child (a worker, a kernel) outlives it.
    Safe to call twice, or on a process that already ended.
    """
    if proc is None:
        return
    for sig, wait in ((signal.SIGTERM, term_wait), (signal.SIGKILL, kill_wait)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        break
    if proc.poll() is None:
        proc.wait(timeout=kill_wait)


def wait_until(ready: Callable[[], Any], timeout: float, what: str, interval: float = 0.2,
               alive: Callable[[], bool] | None = None) -> Any:
    """Poll ``ready()`` until it returns something true; return it. ``TimeoutError`` names ``what`` on timeout.

    alive: when given and it turns false (the server process died), stop waiting at once with a
        ``RuntimeError`` instead of running out the clock.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = ready()
        if result:
            return result
        if alive is not None and not alive():
            raise RuntimeError(f"{what}: the process ended before it was ready.")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.0f} s.")
        time.sleep(interval)
