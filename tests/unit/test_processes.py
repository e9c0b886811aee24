"""helpers.processes: a free port, a process group that stops with all its children, a bounded wait."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from helpers.processes import free_port, start_group, stop_group, wait_until


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
    assert wait_until(lambda: not _alive(child), timeout=5, what="the child"), "the child outlived its group"


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
