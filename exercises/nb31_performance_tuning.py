"""Checks of the exercises of notebooks/31_performance_tuning.ipynb; reference solutions in exercises/solutions/31_performance_tuning.py."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from exercises import answer_file, exercise

_ROW_KEYS = ("batch", "median_ms", "p10_ms", "p90_ms", "runs", "threads")


def _profile_by_op(path: Any) -> tuple[dict[str, float], list[list[int]]]:
    """Kernel time per operator type (us), and every input shape seen, from an ONNX Runtime profile."""
    by_op: dict[str, float] = {}
    shapes: list[list[int]] = []
    for ev in json.loads(Path(path).read_text(encoding="utf-8")):
        if ev.get("cat") != "Node" or not str(ev.get("name", "")).endswith("_kernel_time"):
            continue
        args = ev.get("args", {})
        by_op[args.get("op_name", "?")] = by_op.get(args.get("op_name", "?"), 0.0) + float(ev.get("dur", 0))
        for entry in args.get("input_type_shape", []):
            shapes += [list(s) for s in entry.values()]
    return by_op, shapes


@exercise("31.1", "time the CNN with 1 and with 2 intra-op threads at batch 1 and 64; answer the rows (with `threads`)")
def _check_thread_rows(answer: Any, *, model: Any, notebook_rows: Any = ()) -> str | None:
    if not isinstance(answer, (list, tuple)) or not all(isinstance(r, dict) for r in answer):
        return "answer a list of rows made by benchmark.result_row(..., threads=n)."
    missing = [k for k in _ROW_KEYS if any(k not in r for r in answer)]
    if missing:
        return f"some rows lack {missing}: use benchmark.result_row, and pass threads=n as an extra column."
    grid = {(r["threads"], r["batch"]) for r in answer}
    threads = {t for t, _ in grid}
    if 1 not in threads or len(threads) < 2:
        return f"compare 1 thread with more: the rows have threads {sorted(threads)}."
    expected = {(t, b) for t in threads for b in (1, 64)}
    if grid != expected or len(answer) != len(expected):
        return f"expected one row per thread count and batch (1 and 64), {len(expected)} rows; got {sorted(grid)}."
    for r in answer:
        numbers = [r["p10_ms"], r["median_ms"], r["p90_ms"]]
        if not all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in numbers):
            return f"row {r['threads']} threads, batch {r['batch']}: the timings are not positive numbers."
        if not numbers[0] <= numbers[1] <= numbers[2]:
            return f"row {r['threads']} threads, batch {r['batch']}: p10 <= median <= p90 does not hold; time it again."
        if r["runs"] < 3:
            return "time each case at least 3 times (repeats=...), or the median means little."
    def numbers(r: Any) -> tuple:
        return (r["p10_ms"], r["median_ms"], r["p90_ms"])

    theirs = {numbers(r) for r in notebook_rows}
    if any(numbers(r) in theirs for r in answer):
        return "some rows are the notebook's own timings (step 2): time the cases yourself, with timed(batch, ...)."
    for b in (1, 64):
        same = {numbers(r) for r in answer if r["batch"] == b}
        if len(same) < len(threads):
            return f"at batch {b}, two thread counts have the very same timings: time each setting, do not copy a row."
    import numpy as np

    from exercises import onnx_session
    from exercises.measured import implausible_time, own_timing_ms

    session = onnx_session(model)  # one thread: the check's own timing of the batch-64 call
    arg = session.get_inputs()[0]
    x = np.zeros([64] + [d if isinstance(d, int) else 1 for d in arg.shape[1:]], np.float32)
    own = own_timing_ms(lambda: session.run(None, {arg.name: x}))
    row = next(r for r in answer if r["threads"] == 1 and r["batch"] == 64)
    return implausible_time(row["median_ms"], own, "1 thread, batch 64")


@exercise("31.2", "profile the session at batch 1; answer {'profile': the trace file, 'costliest': its top operator}")
def _check_profile(answer: Any) -> str | None:
    if not isinstance(answer, dict) or not {"profile", "costliest"} <= set(answer):
        return "answer a dict {'profile': the path end_profiling() returned, 'costliest': an operator type}."
    if answer_file(answer["profile"], ".json"):
        return "'profile' is not a .json file that exists: answer what end_profiling() returned."
    by_op, shapes = _profile_by_op(answer["profile"])
    if not by_op:
        return "the profile has no operator timings: run the session before end_profiling()."
    images = [s for s in shapes if len(s) == 4 and s[1:] == [1, 8, 8]]
    if not images:
        return "the profile holds no (batch, 1, 8, 8) image input: profile the digits CNN."
    if any(s[0] != 1 for s in images):
        return f"the profile ran batches of {sorted({s[0] for s in images})}: run it with one image, shape (1, 1, 8, 8)."
    top = max(by_op, key=by_op.get)
    if answer["costliest"] != top:
        return (f"{answer['costliest']!r} is not the costliest operator of this profile: add up the kernel times "
                "(benchmark.summarize_profile does) and take the first row.")
    return None
