"""The benchmark report (markdown, JSON, PNG) and the command line, on tiny synthetic rows."""

from __future__ import annotations

import json

import pytest

from helpers import benchmark


def _results():
    s = benchmark.summarize
    rows = [benchmark.result_row("digits CNN", "PyTorch eager", 1, s([3.0, 3.2, 2.9])),
            benchmark.result_row("digits CNN", "ONNX Runtime", 1, s([0.1, 0.12, 0.11]))]
    return {"label": benchmark.machine_label(threads=2), "rows": rows,
            "targets": benchmark.evaluate_targets(rows),
            "extra_tables": [{"title": "extra", "rows": [{"a": 1}]}]}


def test_write_report_writes_labelled_markdown_json_and_png(tmp_build):
    files = benchmark.write_report(_results(), stem="bench_test")
    assert {p.name for p in files.values()} == {"bench_test.md", "bench_test.json", "bench_test.png"}
    assert all(p.parent == tmp_build / "reports" for p in files.values())
    md = files["markdown"].read_text()
    assert "cores" in md and "2 threads" in md and "onnxruntime" in md
    assert "| digits CNN | ONNX Runtime | 1 |" in md and "Targets" in md and "extra" in md
    data = json.loads(files["json"].read_text())
    assert data["label"]["threads"] == 2 and len(data["rows"]) == 2
    assert files["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_write_report_needs_rows_and_label(tmp_build):
    with pytest.raises(ValueError, match="'rows' and 'label'"):
        benchmark.write_report({"rows": []})


def test_command_refuses_unknown_parts_and_bad_threads(tmp_build, capsys):
    with pytest.raises(ValueError, match="Unknown benchmark part"):
        benchmark.run_benchmark(parts=["gpu"], progress=False)
    with pytest.raises(SystemExit):
        benchmark.main(["--threads", "0"])


def test_readme_block_names_the_machine_and_every_row():
    block = benchmark.readme_markdown(_results())
    assert block.startswith("Measured by `make benchmark` on: ") and "2 threads" in block
    assert "| digits CNN | ONNX Runtime | 1 | 0.11 | " in block and "**Targets**" in block
