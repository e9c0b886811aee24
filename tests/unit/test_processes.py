"""helpers.processes: a free port, a process group that stops with all its children, a static HTTP server (headers,
mounts, stop); and workbook.lab's bounded wait."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import onnx
import pytest

from helpers.processes import (
    StaticServer,
    free_port,
    running_servers,
    start_group,
    stop_group,
    stop_servers,
    wait_until,
)
from helpers.web import ISOLATION_HEADERS
from tests.unit.models import linear_model


def test_free_port_can_be_bound_on_loopback():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def _alive(pid: int) -> bool:
    try:
        import os

        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()[:1] != "Z"


def test_stop_group_ends_the_leader_and_a_child_that_ignores_sigterm():
    code = ("import signal, subprocess, sys, time; "
            "child = subprocess.Popen([sys.executable, '-c', "
            "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(60)']); "
            "print(child.pid, flush=True); time.sleep(60)")
    proc = start_group([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    time.sleep(0.5)
    stop_group(proc, term_wait=2, kill_wait=2)
    assert proc.poll() is not None
    assert not Path(f"/proc/{child}").exists(), "the child outlived its group (alive or unreaped when stop returned)"


def test_stop_group_fails_to_reach_a_process_outside_its_group():
    """The check above can fail: a child started in its own session is not in the group, so it survives."""
    code = ("import subprocess, sys, time; "
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'], start_new_session=True); "
            "print(child.pid, flush=True); time.sleep(30)")
    proc = start_group([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    stop_group(proc, term_wait=2)
    try:
        assert _alive(child)
    finally:
        import os
        import signal

        os.kill(child, signal.SIGKILL)


def test_wait_until_returns_the_first_true_value_and_names_what_timed_out():
    values = iter([0, None, "ready"])
    assert wait_until(lambda: next(values), timeout=5, what="x", interval=0.01) == "ready"
    with pytest.raises(TimeoutError, match="the server: not ready after 0 s"):
        wait_until(lambda: False, timeout=0.05, what="the server", interval=0.01)
    with pytest.raises(RuntimeError, match="ended before it was ready"):
        wait_until(lambda: False, timeout=5, what="the server", alive=lambda: False)


def _get(url: str) -> tuple[int, Any, bytes]:  # headers: case-insensitive, as HTTP names are
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, b""


def _port_is_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def site(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<p>hello</p>")
    (tmp_path / "site" / "app.mjs").write_text("export const x = 1;")
    (tmp_path / "secret.txt").write_text("not served")
    model = tmp_path / "linear.onnx"
    onnx.save(linear_model(), model)
    return tmp_path


@pytest.fixture
def servers():
    yield
    stop_servers()
    assert running_servers() == []


def test_when_isolated_then_every_response_carries_coop_and_coep_and_stop_closes_the_port(site, servers):
    server = StaticServer({"/": site / "site", "/models/m.onnx": site / "linear.onnx"}, ISOLATION_HEADERS).start()
    status, headers, body = _get(server.url)
    assert status == 200 and body == b"<p>hello</p>"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    status, headers, body = _get(server.url + "models/m.onnx")
    assert status == 200 and onnx.load_from_string(body).graph.name
    assert headers["Content-Type"] == "application/octet-stream"
    assert _get(server.url + "app.mjs")[1]["Content-Type"] == "text/javascript"  # module scripts need a JS type
    port = server.port
    server.stop()
    assert _port_is_closed(port) and running_servers() == []
    server.stop()  # twice is fine


def test_when_not_isolated_then_no_isolation_headers(site, servers):
    with StaticServer({"/": site / "site"}) as server:
        headers = _get(server.url)[1]
        assert "Cross-Origin-Opener-Policy" not in headers and "Cross-Origin-Embedder-Policy" not in headers
    assert running_servers() == []


@pytest.mark.parametrize("path", ["../secret.txt", "%2e%2e/secret.txt", "models/other.onnx", "nothing.html"])
def test_files_outside_the_mounts_are_never_served(site, servers, path):
    with StaticServer({"/": site / "site", "/models/m.onnx": site / "linear.onnx"}) as server:
        assert _get(server.url + path)[0] == 404


def test_a_missing_mount_fails_before_anything_listens(site, servers):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        StaticServer({"/": site / "nowhere"}).start()
    assert running_servers() == []


def test_two_servers_get_their_own_free_ports(site, servers):
    a, b = StaticServer({"/": site / "site"}).start(), StaticServer({"/": site / "site"}).start()
    assert a.port != b.port and a.port > 0 and b.port > 0
    assert stop_servers() == 2
