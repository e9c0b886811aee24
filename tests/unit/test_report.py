"""helpers.report renders tables and records results; workbook.reports keeps the JSON records safe."""

from __future__ import annotations

import pytest

from helpers import environment, report
from workbook import reports


def test_table_renders_markdown_and_text_with_formatted_numbers():
    t = report.Table([{"model": "cnn", "err": 1.5e-7, "ok": True}, {"model": "a|b", "err": None}], title="T")
    md = t.to_markdown()
    assert "| cnn | 1.5e-07 | yes |" in md
    assert "| a\\|b | – |" in md
    assert t.to_text().splitlines()[1].split() == ["model", "err", "ok"]


def test_jsonl_appends_and_names_a_corrupt_line(tmp_path):
    path = tmp_path / "r.jsonl"
    report.append_jsonl(path, {"a": 1})
    report.append_jsonl(path, {"a": 2})
    assert [r["a"] for r in reports.read_jsonl(path)] == [1, 2]
    with open(path, "a") as handle:
        handle.write("{not json\n")
    with pytest.raises(ValueError, match=r"r.jsonl:3 is not valid JSON"):
        reports.read_jsonl(path)


def test_glue_records_results_per_notebook(tmp_build, monkeypatch):
    monkeypatch.setenv("WORKBOOK_NOTEBOOK", "99_demo")
    report.glue("accuracy", 0.97)
    report.glue("n", 3)
    assert report.glued("99_demo") == {"accuracy": 0.97, "n": 3}


def test_environment_reports_versions_and_the_machine():
    versions = environment.package_versions(["numpy", "no-such-package"])
    assert versions["no-such-package"] == "not installed"
    assert versions["numpy"][0].isdigit()
    info = environment.machine_info()
    assert info["cores"] >= 1 and info["cpu"]


def test_importing_every_helpers_module_loads_no_framework():
    import subprocess
    import sys

    code = (
        "import sys, pkgutil, importlib, helpers\n"
        "for m in pkgutil.iter_modules(helpers.__path__): importlib.import_module('helpers.' + m.name)\n"
        "heavy = ('torch', 'tensorflow', 'keras', 'onnx', 'onnxruntime', 'sklearn', 'pandas', 'papermill',"
        " 'chainer', 'mxnet', 'matplotlib')\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing helpers loaded {out.stdout.strip()}"


def test_replace_section_swaps_only_the_marked_text(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("intro\n<!-- parity:start -->\nold\n<!-- parity:end -->\noutro\n")
    assert reports.replace_section(path, "parity", "| new |")
    assert path.read_text() == "intro\n<!-- parity:start -->\n| new |\n<!-- parity:end -->\noutro\n"
    assert not reports.replace_section(path, "benchmark", "x")


def test_a_module_path_reports_its_package_version():
    assert environment.package_version("numpy.linalg") == environment.package_version("numpy")
    assert environment.package_version("no_such_pkg.sub") == "not installed"


def test_glue_records_all_claims_in_one_call(tmp_build, monkeypatch):
    monkeypatch.setenv("WORKBOOK_NOTEBOOK", "99_demo")
    assert report.glue(accuracy=0.97, opset=18) == {"accuracy": 0.97, "opset": 18}
    report.glue("n", 3)
    assert report.glued("99_demo") == {"accuracy": 0.97, "opset": 18, "n": 3}


def test_glue_refuses_an_empty_or_ambiguous_call(tmp_build):
    with pytest.raises(TypeError, match="needs something to record"):
        report.glue()
    with pytest.raises(TypeError, match="not both"):
        report.glue("a", 1, b=2)


def test_remove_jsonl_deletes_matching_records_in_place_and_keeps_bad_lines(tmp_path):
    path = tmp_path / "r.jsonl"
    for a in (1, 2, 1, 3):
        report.append_jsonl(path, {"a": a})
    with open(path, "a") as handle:
        handle.write("{not json\n")
    inode = path.stat().st_ino
    assert reports.remove_jsonl(path, lambda r: r["a"] == 1) == 2
    assert path.stat().st_ino == inode, "rewritten in place, so a writer holding the file appends to it"
    assert path.read_text().splitlines() == ['{"a": 2}', '{"a": 3}', "{not json"]
    assert reports.remove_jsonl(tmp_path / "none.jsonl", lambda r: True) == 0


def test_remove_jsonl_waits_for_a_writer_holding_the_lock(tmp_path):
    import fcntl
    import threading

    path = tmp_path / "r.jsonl"
    report.append_jsonl(path, {"a": 1})
    done = threading.Event()
    with open(path, "a") as writer:
        fcntl.flock(writer, fcntl.LOCK_EX)
        worker = threading.Thread(target=lambda: (reports.remove_jsonl(path, lambda r: True), done.set()))
        worker.start()
        assert not done.wait(0.2), "remove_jsonl ran while another writer held the lock"
        writer.write('{"a": 2}\n')
        writer.flush()
    worker.join(timeout=30)
    assert done.is_set() and path.read_text() == ""
