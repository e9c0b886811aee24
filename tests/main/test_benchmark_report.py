"""The benchmark report (markdown, JSON, PNG) and the command line, on tiny synthetic rows."""

from __future__ import annotations

import json

import pytest

from helpers import benchmark
from workbook import benchmark as command


def _results():
    s = benchmark.summarize
    rows = [benchmark.result_row("digits CNN", "PyTorch eager", 1, s([3.0, 3.2, 2.9])),
            benchmark.result_row("digits CNN", "ONNX Runtime", 1, s([0.1, 0.12, 0.11]))]
    return {"label": benchmark.machine_label(threads=2), "rows": rows,
            "targets": command.evaluate_targets(rows),
            "extra_tables": [{"title": "extra", "rows": [{"a": 1}]}]}


def test_write_report_writes_labelled_markdown_json_and_png(tmp_build):
    files = command.write_report(_results(), stem="bench_test")
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
        command.write_report({"rows": []})


def test_command_refuses_unknown_parts_and_bad_threads(tmp_build, capsys):
    with pytest.raises(ValueError, match="Unknown benchmark part"):
        command.run_benchmark(parts=["gpu"], progress=False)
    with pytest.raises(SystemExit):
        command.main(["--threads", "0"])


def test_readme_block_names_the_machine_and_every_row():
    block = command.readme_markdown(_results())
    assert block.startswith("Measured by `make benchmark` on: ") and "2 threads" in block
    assert "| digits CNN | ONNX Runtime | 1 | 0.11 | " in block and "**Targets**" in block


def test_readme_block_warns_of_a_loaded_machine_only_when_it_was(tmp_path):
    from workbook import benchmark_parts

    results = _results()
    results["label"] |= {"load_average": [0.3, 0.2, 0.1], "load_average_start": [0.4, 0.2, 0.1]}
    assert "shared/loaded machine" not in benchmark_parts.readme_block(results)
    results["label"]["load_average"] = [3.5, 2.0, 1.0]
    block = benchmark_parts.readme_block(results, {"MiniLM sweep: latency": "docs/benchmark/sweep_latency.png"})
    assert block.startswith("**Measured on a shared/loaded machine** (load average 3.50")
    assert "![MiniLM sweep: latency](docs/benchmark/sweep_latency.png)" in block


def test_update_readme_replaces_the_marked_section_and_copies_small_plots_only(tmp_path):
    from workbook import benchmark_parts

    readme = tmp_path / "README.md"
    readme.write_text("# T\n<!-- benchmark:start -->\nold\n<!-- benchmark:end -->\nafter\n")
    small, big = tmp_path / "sweep_latency.png", tmp_path / "sweep_speedup.png"
    small.write_bytes(b"\x89PNG" + b"0" * 1000)
    big.write_bytes(b"\x89PNG" + b"0" * (benchmark_parts.PLOT_MAX_BYTES + 1))
    results = _results() | {"files": {"latency_png": str(small), "speedup_png": str(big)}}
    done = benchmark_parts.update_readme(results, readme=readme)
    text = readme.read_text()
    assert done["updated"] and "old" not in text and text.endswith("<!-- benchmark:end -->\nafter\n")
    assert (tmp_path / "docs" / "benchmark" / "sweep_latency.png").exists()
    assert done["plots"] == {"MiniLM sweep: latency": "docs/benchmark/sweep_latency.png"}
    assert not (tmp_path / "docs" / "benchmark" / "sweep_speedup.png").exists() and "KB >" in done["skipped"][0]


def test_quick_ceiling_run_prints_no_share_above_100_percent(tmp_path):
    results = command.run_benchmark(quick=True, parts=["gflops"], progress=False, folder=tmp_path)
    ceilings = results["ceilings"]
    assert set(ceilings) == {1, 2} and all(c["ceiling_gflops"] >= c["theoretical_gflops"] for c in ceilings.values())
    for g in results["gflops"]:
        for key in ("share_of_ceiling", "best_run_share", "cpu_share"):
            assert 0 < int(g[key].rstrip("%")) <= 100, g
    titles = [t["title"] for t in results["extra_tables"]]
    assert any(t.startswith("Ceiling: theoretical FMA peak and best achieved GEMM") for t in titles)
    md = (tmp_path / "benchmark.md").read_text()
    assert "theoretical FMA peak" in md and "GFLOP/s" in md


def test_command_refuses_to_put_quick_numbers_in_the_readme(capsys):
    with pytest.raises(SystemExit):
        command.main(["--quick", "--update-readme"])
    assert "drop --quick" in capsys.readouterr().err


def test_quick_sweep_times_every_runtime_at_every_point_and_plots(tmp_path):
    from helpers import minilm
    from workbook import sweep

    out = sweep.sweep_minilm({"fp32": minilm.export_minilm_onnx()}, threads=(1,), batches=(1, 2), seq_lens=(16,),
                             torch_compile=False, repeats=1, progress=False)
    assert {(r["runtime"], r["batch"]) for r in out["rows"]} == {
        (rt, b) for rt in ("PyTorch eager", "ONNX Runtime fp32") for b in (1, 2)}
    assert all(r["median_ms"] > 0 and r["seq"] == 16 for r in out["rows"])
    assert "torch.compile not requested" in out["notes"]
    plots = sweep.plot_sweep(out["rows"], tmp_path)
    assert all(p.stat().st_size < 100_000 for p in plots.values())
