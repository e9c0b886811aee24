"""Latency of one model in several runtimes (Python's ONNX Runtime, a page's onnxruntime-web), timed in rounds.

Introduced in notebooks/42_deploy_browser_node.ipynb, section 6: the scaffolding around the timing loop lives
here, so the notebook shows the comparison (which runtimes, which threads) and its table, not the bookkeeping.
Each timer is a function ``n -> list of n times in ms``; :func:`time_in_rounds` calls them in turns, so that
all settings share whatever load the machine has.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["Timer", "python_timer", "page_timer", "time_in_rounds"]

#: A timer: called with n, it runs the model n times and returns the n latencies in milliseconds.
Timer = Callable[[int], "list[float]"]


def python_timer(model: str | Path, feeds: Mapping[str, Any], threads: int) -> Timer:
    """A timer of ``session.run(None, feeds)`` in Python's ONNX Runtime with ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def timed(n: int) -> list[float]:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            session.run(None, dict(feeds))
            times.append((time.perf_counter() - t0) * 1e3)
        return times

    return timed


def page_timer(page: Any, url: str, wire_feeds: Mapping[str, Any]) -> Timer:
    """A timer of the page's own ``session.run`` (``performance.now()`` around it, in web/app.js's ``time``).

    page: a :class:`helpers.web.Page` (``PageDriver.open``); url: the model's URL on the page's server;
    wire_feeds: the inputs as :func:`helpers.web.to_wire` makes them.
    """
    return lambda n: page.call("time", url, dict(wire_feeds), n, 0)


def time_in_rounds(timers: Mapping[str, Timer], *, runs: int, warmup: int, rounds: int) -> dict[str, list[float]]:
    """Warm each timer up (``warmup`` runs, not kept), then ``rounds`` rounds in which every timer runs
    ``runs // rounds`` times (at least once): ``{name: every kept time in ms}``."""
    if runs < 1 or rounds < 1 or warmup < 0:
        raise ValueError(f"runs and rounds must be >= 1 and warmup >= 0 (got {runs}, {rounds}, {warmup}).")
    for timer in timers.values():
        if warmup:
            timer(warmup)
    latency: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(rounds):
        for name, timer in timers.items():
            latency[name] += timer(max(1, runs // rounds))
    return latency
