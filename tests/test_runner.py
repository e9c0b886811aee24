"""The workbook runner: a failing notebook is named with its cell, and the others still run."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from workbook.runner import (
    KernelNotFoundError,
    discover_notebooks,
    execute_notebook,
    notebook_kernel,
    run_workbook,
    summary_table,
    unmet_needs,
)

KERNEL = {"name": "onnx-workbook-main", "display_name": "main", "language": "python"}


def _notebook(path, *sources, kernel=KERNEL):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = kernel
    cells = [nbformat.v4.new_code_cell("quick = False")]
    cells[0].metadata["tags"] = ["parameters"]
    nb.cells = cells + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def test_when_a_cell_raises_then_the_run_names_the_notebook_and_cell(tmp_path):
    nb = _notebook(tmp_path / "98_fails.ipynb", "x = 1", "raise ValueError('deliberate failure')")
    run = execute_notebook(nb, tmp_path / "out", parameters={"quick": True})
    assert not run.ok
    assert run.cell_index == 3  # the third code cell: parameters, "x = 1", the raise
    assert "ValueError: deliberate failure" in run.describe()
    assert "98_fails failed in code cell 3" in run.describe()
    assert (tmp_path / "out" / "98_fails.ipynb").exists(), "the executed copy is kept"


def test_when_one_notebook_fails_then_the_next_still_runs(tmp_path, tmp_build):
    bad = _notebook(tmp_path / "01_bad.ipynb", "1/0")
    good = _notebook(tmp_path / "02_good.ipynb", "assert quick is True")
    runs = run_workbook([bad, good], quick=True, html=False, progress=False)
    assert [r.status for r in runs] == ["failed", "ok"]


def test_the_command_exits_nonzero_and_names_the_failing_notebook(tmp_path, tmp_build):
    _notebook(tmp_path / "97_broken.ipynb", "raise RuntimeError('boom')")
    code = (
        "import sys; from workbook import runner; from pathlib import Path\n"
        f"runner.discover_notebooks = lambda select=(): [Path({str(tmp_path / '97_broken.ipynb')!r})]\n"
        "sys.exit(runner.main(['--no-html']))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 1
    assert "97_broken failed in code cell" in out.stderr and "RuntimeError: boom" in out.stderr
    assert "FAILED" in out.stdout
    summary = json.loads((tmp_build / "reports" / "workbook-run.json").read_text())
    assert summary[0]["status"] == "failed"


def test_a_notebook_naming_a_missing_kernel_gets_a_setup_error(tmp_path):
    nb = _notebook(tmp_path / "96_ghost.ipynb", "pass", kernel={"name": "no-such-kernel", "display_name": "x"})
    with pytest.raises(KernelNotFoundError, match="run `make setup`"):
        execute_notebook(nb, tmp_path)


def test_a_notebook_without_kernel_metadata_is_refused_with_the_fix(tmp_path):
    nb = _notebook(tmp_path / "95_nokernel.ipynb", "pass", kernel={})
    with pytest.raises(KernelNotFoundError, match="names no kernel"):
        notebook_kernel(nb)


def test_selecting_by_prefix_finds_notebooks_in_order_and_says_when_none_match():
    names = [p.stem for p in discover_notebooks()]
    assert names == sorted(names) and names[:2] == ["00_start_here", "01_onnx_basics"]
    with pytest.raises(FileNotFoundError, match="No notebook in"):
        discover_notebooks(select=["zz"])


def test_a_notebook_lock_is_held_by_one_process_at_a_time(tmp_path):
    """Waits on conditions, not on a sleep: the holder releases only when told, after leaving a mark."""
    import fcntl
    import threading

    from workbook.runner import notebook_lock

    mark = tmp_path / "released"
    code = (
        "import sys; from pathlib import Path; from workbook.runner import notebook_lock\n"
        f"with notebook_lock('g', {str(tmp_path)!r}):\n"
        "    print('got', flush=True); sys.stdin.readline()\n"
        f"    Path({str(mark)!r}).touch()\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "got"
        with open(tmp_path / "g.lock") as probe, pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by the other process right now
        seen = []

        def second_holder():
            with notebook_lock("g", tmp_path):
                seen.append(mark.exists())

        waiter = threading.Thread(target=second_holder)
        waiter.start()
        holder.stdin.write("go\n")
        holder.stdin.flush()
        waiter.join(timeout=60)
        assert seen == [True], "the second holder got the lock only after the first had finished its block"
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_a_notebook_run_starts_with_none_of_its_old_parity_records(tmp_path, tmp_build):
    """A re-run that records nothing must not pass on the records of an earlier run."""
    from helpers import verify
    from helpers.report import append_jsonl
    from workbook.reports import parity_records

    parity = tmp_build / "reports" / verify.PARITY_FILE
    append_jsonl(parity, {"notebook": "94_stale", "model": "old", "framework": "numpy", "verdict": "pass"})
    append_jsonl(parity, {"notebook": "93_other", "model": "kept", "framework": "numpy", "verdict": "pass"})
    run = execute_notebook(_notebook(tmp_path / "94_stale.ipynb", "x = 1"), tmp_path / "out", parameters={"quick": True})
    assert run.ok, run.describe()
    assert [r["notebook"] for r in parity_records()] == ["93_other"]


def test_when_a_needed_kernel_is_missing_then_the_notebook_and_its_readers_are_skipped_saying_why(tmp_path, tmp_build):
    ghost = {"name": "no-such-kernel", "display_name": "x"}
    producer = _notebook(tmp_path / "18_needs.ipynb", "pass", kernel=ghost)
    reader = _notebook(tmp_path / "19_reader.ipynb", "pass")
    for path, meta in ((producer, {"needs": "Python 3.8"}), (reader, {"requires": ["18_needs"]})):
        nb = nbformat.read(path, as_version=4)
        nb.metadata["workbook"] = meta
        nbformat.write(nb, path)
    runs = run_workbook([producer, reader], quick=True, html=False, progress=False)
    assert [(r.status, r.error) for r in runs] == [("skipped", "needs Python 3.8")] * 2
    table = summary_table(runs)
    assert "needs Python 3.8" in table.to_text() and "Skipped" in " ".join(table.notes)


def test_a_missing_kernel_without_a_stated_need_still_fails(tmp_path, tmp_build):
    nb = _notebook(tmp_path / "94_ghost.ipynb", "pass", kernel={"name": "no-such-kernel", "display_name": "x"})
    assert unmet_needs(nb) is None
    assert [r.status for r in run_workbook([nb], html=False, progress=False)] == ["failed"]


_TRANSPORT = ("import json\nfrom ipykernel import get_connection_info\ninfo = json.loads(get_connection_info())\n"
              "print('TRANSPORT', info['transport'], info['ip'])")


def _transport(executed):
    text = "".join(o.get("text", "") for c in nbformat.read(executed, 4).cells for o in c.get("outputs", []))
    return text.split("TRANSPORT ", 1)[1].split()


def test_a_notebook_kernel_talks_over_ipc_not_tcp_ports(tmp_path, tmp_build):
    """No kernel port to race for: the kernel's sockets are files in build/kernels, removed afterwards."""
    nb = _notebook(tmp_path / "96_transport.ipynb", _TRANSPORT)
    run = execute_notebook(nb, tmp_path / "out")
    assert run.ok, run.describe()
    transport, address = _transport(tmp_path / "out" / "96_transport.ipynb")
    assert transport == "ipc", (transport, address)
    folder = type(tmp_build)(address).parent  # build/kernels, or a short temp folder when that path is too long for a socket
    assert folder == tmp_build / "kernels" or folder.name.startswith("wb-kernels-"), address
    assert not list(folder.glob("kernel-*")), "connection and socket files are cleaned up"


def test_the_transport_check_can_fail_papermill_alone_uses_tcp(tmp_path):
    """The same probe through papermill's default kernel manager reports tcp: what the check above rules out."""
    import papermill as pm

    nb = _notebook(tmp_path / "95_transport.ipynb", _TRANSPORT)
    pm.execute_notebook(str(nb), str(tmp_path / "tcp.ipynb"), kernel_name=KERNEL["name"], progress_bar=False)
    assert _transport(tmp_path / "tcp.ipynb")[0] == "tcp"
