"""The Spark batch-scoring benchmark (``make spark-benchmark``): runs notebooks/45 and prints rows/s and targets.

The code a reader sees is the code measured: the notebook runs, and this command reads what it recorded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["TARGETS", "target_table", "benchmark"]

#: Issue 15's targets: (name, ratio key recorded by notebook 45, minimum ratio, what it compares).
TARGETS = (
    ("MiniLM local[2] vs 1 process (2 threads)", "minilm_local2_vs_single", 0.80, "rows/s ratio >= 0.80"),
    ("digits CNN tuned (mapInArrow, big batch) vs 1 process", "digits_arrow_vs_single", 0.25, "rows/s ratio >= 0.25"),
    ("digits CNN plain mapInPandas vs 1 process", "digits_pandas_vs_single", None, "for reference"),
    ("MiniLM standalone 2 workers vs local[2]", "cluster_vs_local_minilm", 0.90, "rows/s ratio >= 0.90"),
)


def target_table(ratios: Mapping[str, float]) -> list[dict[str, Any]]:
    """One row per target: the measured ratio, the goal and whether it was met."""
    rows = []
    for name, key, goal, what in TARGETS:
        value = ratios.get(key)
        met = None if goal is None or value is None or value != value else value >= goal
        rows.append({"target": name, "measured": None if value is None else round(value, 3), "goal": what,
                     "met": {True: "yes", False: "NO", None: "-"}[met]})
    return rows


def benchmark(quick: bool = False, parameters: Mapping[str, Any] | None = None,
              out_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Run notebooks/45 (the code a reader sees is the code measured) and write the rows/s and target tables.

    quick: the notebook's quick mode (small data: a smoke test, not a measurement).
    parameters: more notebook parameters (``master``, ``digits_rows``, ``arrow_batch``...).
    Writes ``build/reports/spark_benchmark.md`` and ``.json``; returns the report.
    """
    from helpers.benchmark import label_text, machine_label
    from helpers.paths import repo_root, reports_dir
    from helpers.report import Table, glued, write_report
    from workbook.runner import execute_notebook

    start_load = machine_label(threads=1)["load_average"]
    notebook = repo_root() / "notebooks" / "45_batch_scoring_spark.ipynb"
    run = execute_notebook(notebook, out_dir, parameters={"quick": quick, **(parameters or {})}, cell_timeout=1800)
    if not run.ok:
        raise RuntimeError(f"notebook 45 failed, so there is nothing to report: {run.describe()}")
    results = glued(notebook.stem)
    label = {**machine_label(threads=1, versions=("pyspark", "onnxruntime", "pyarrow", "pandas", "numpy")),
             "load_average_start": start_load}
    caption = (f"Spark batch scoring, {'quick mode (smoke test)' if quick else 'full mode'}: {label_text(label)}. "
               "Shared machine: other processes load the CPU, so the numbers are noisy; read the ratios.")
    rates = Table(results["rates"], columns=["model", "runner", "rows", "rows_per_s", "vs baseline", "median_s", "runs"])
    targets = Table(target_table(results["ratios"]))
    text = f"{caption}\n\n{rates.to_markdown()}\n\n{targets.to_markdown()}\n"
    report = {"label": label, "rates": results["rates"], "ratios": results["ratios"],
              "targets": target_table(results["ratios"]), "seconds": round(run.seconds, 1)}
    write_report("spark_benchmark", text, report, reports_dir())
    print(text)
    return report


def _main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m workbook.spark_benchmark",
                                     description="Batch-scoring benchmark: runs notebooks/45 and prints rows/s.")
    parser.add_argument("--quick", action="store_true", help="small data: a smoke test, not a measurement")
    parser.add_argument("--master", default="local[2]", help="local[N] or spark://host:port (default local[2])")
    parser.add_argument("--no-cluster", action="store_true", help="skip the standalone 2-worker cluster")
    parser.add_argument("--digits-rows", type=int, help="digit rows to score (notebook default 200,000)")
    parser.add_argument("--sentence-rows", type=int, help="sentences to embed (notebook default 1,000)")
    parser.add_argument("--repeats", type=int, help="timed runs per measurement (notebook default 2)")
    args = parser.parse_args(argv)
    extra = {k: v for k, v in (("digits_rows", args.digits_rows), ("sentence_rows", args.sentence_rows),
                               ("repeats", args.repeats)) if v is not None}
    benchmark(quick=args.quick, parameters={"master": args.master, "standalone_cluster": not args.no_cluster, **extra})
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
