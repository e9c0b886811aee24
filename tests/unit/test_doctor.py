"""workbook.doctor: each pre-flight row turns red (with a fix) when its condition fails, and the command exits 1."""

from __future__ import annotations

import socket
import subprocess

import pytest

from workbook import doctor


def _fake_run(stdout="", returncode=0, stderr=""):
    def run(*args, **kwargs):
        return subprocess.CompletedProcess(args, returncode, stdout=stdout, stderr=stderr)
    return run


@pytest.mark.parametrize(
    ("verdict", "status", "fix"),
    [
        (doctor.disk_verdict(1 * 2**30, need_gb=8), "FAIL", "free some space"),
        (doctor.disk_verdict(9 * 2**30, need_gb=8), "ok", ""),
        (doctor.memory_verdict(1 * 2**30), "FAIL", "close other programs"),
        (doctor.memory_verdict(None), "warn", "make sure 4 GiB are free"),
        (doctor.python_verdict((3, 12)), "FAIL", "pyenv install 3.11"),
        (doctor.python_verdict(None), "FAIL", "WORKBOOK_PYTHON"),
        (doctor.python_verdict((3, 11)), "ok", ""),
        (doctor.python_verdict(None, (3, 8), required=False, fix="only 18, 19"), "warn", "only 18, 19"),
        (doctor.command_verdict("X", "no-such-command-here", "install x"), "FAIL", "install x"),
        (doctor.command_verdict("X", "no-such-command-here", "install x", required=False), "warn", "install x"),
        (doctor.command_verdict("Shell", "sh", "install sh"), "ok", ""),
        (doctor.kernel_verdict("onnx-workbook-main", None, ["numpy"]), "FAIL", "make setup"),
        (doctor.kernel_verdict("onnx-workbook-mlnet", None, ["nimbusml"], required=False), "warn", "make setup"),
        (doctor.kernel_verdict("k", "py", ["torch"], runner=_fake_run('["torch (ImportError: no)"]')), "FAIL", "make setup"),
        (doctor.kernel_verdict("k", "py", ["torch"], runner=_fake_run("", 1, "Segmentation fault")), "FAIL", "make setup"),
        (doctor.kernel_verdict("k", "py", ["numpy"], runner=_fake_run("[]")), "ok", ""),
        (doctor.endpoint_verdict(None), "FAIL", "make setup"),
        (doctor.endpoint_verdict("py", runner=_fake_run("", 1, "EndpointError: did not start")), "FAIL", "notebook 40"),
        (doctor.endpoint_verdict("py", runner=_fake_run("500\n")), "FAIL", "notebook 40"),
        (doctor.endpoint_verdict("py", runner=_fake_run("200\n")), "ok", ""),
    ],
)
def test_each_check_fails_with_its_fix_when_its_condition_does_not_hold(verdict, status, fix):
    assert verdict.status == status, verdict
    assert fix in verdict.fix and (verdict.fix == "") == (status == "ok")


def test_a_kernel_that_cannot_import_names_the_module():
    v = doctor.kernel_verdict("onnx-workbook-main", "py", ["torch"], runner=_fake_run('["torch (ImportError: x)"]'))
    assert v.check == "Kernel main" and "cannot import torch" in v.detail


def test_a_port_in_use_is_red_and_a_free_one_green():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        assert doctor.port_verdict(busy).status == "FAIL"
    assert doctor.port_verdict(busy).status == "ok"


def test_the_command_exits_nonzero_when_a_row_fails(monkeypatch, capsys):
    rows = [doctor.Verdict("A", "ok", "fine"), doctor.Verdict("B", "warn", "meh", "do b")]
    monkeypatch.setattr(doctor, "run_checks", lambda **kw: list(rows))
    assert doctor.main(["--quick"]) == 0
    rows.append(doctor.Verdict("C", "FAIL", "broken", "do c"))
    assert doctor.main(["--quick"]) == 1
    out = capsys.readouterr().out
    assert "fix: do c" in out and "1 ok, 1 warnings, 1 failed: fix the FAIL rows" in out


def test_quick_checks_run_here_without_starting_interpreters(tmp_path):
    rows = doctor.run_checks(quick=True, venvs=tmp_path)
    assert [r.check for r in rows][:4] == ["Python 3.11", "Python 3.8", "Free disk", "Memory"]
    assert not any(r.check.startswith("Kernel") for r in rows)
