"""Load on a local endpoint from Python: the digits CNN's endpoint folder, a thread-pool client, the floor.

What a reader would not write to see how an endpoint behaves under concurrent clients: the digits CNN laid
out as the inference server wants it, ``session.run`` timed in-process (the floor no endpoint beats), and a
bounded Python load generator with latency percentiles. Introduced in notebooks/40_deploy_local_endpoint.ipynb;
``make load`` (workbook.load) builds its report on these.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["digits_endpoint_folder", "in_process_latency", "python_load"]


def digits_endpoint_folder(epochs: int = 8) -> Path:
    """The digits CNN laid out as a registered model (``build/models/endpoint/digits-cnn/1/model.onnx``),
    with the digit names as its class labels. epochs: training epochs if the CNN is not built yet."""
    from helpers.models import digits_cnn_onnx
    from helpers.paths import models_dir
    from helpers.serve import package_model

    cached = models_dir("shared") / "digits_cnn.onnx"  # where digits_cnn_onnx keeps it: skip importing torch
    return package_model(cached if cached.exists() else digits_cnn_onnx(epochs=epochs), models_dir("endpoint"), "digits-cnn", 1,
                         labels=[str(d) for d in range(10)])


def _digit_request() -> dict[str, Any]:
    from helpers import data

    ds = data.load_digits(kind="images")
    return {"inputs": {"image": ds.X_test[:1].round(4).tolist()}}


def in_process_latency(model_dir: Path, body: dict[str, Any], repeats: int = 2000) -> dict[str, float]:
    """Median ms of ``session.run`` alone and of the scoring script's whole ``score()`` (checks included),
    in this process, with the same session settings as a server worker (1 thread)."""
    import sys

    import numpy as np

    from helpers.paths import repo_root

    sys.path.insert(0, str(repo_root() / "deploy"))
    try:
        import onnx_scoring
    finally:
        sys.path.pop(0)
    scorer = onnx_scoring.OnnxScorer(onnx_scoring.find_model(model_dir))
    arrays = scorer.parse(body["inputs"])
    times_run, times_score = [], []
    for _ in range(200):
        scorer.session.run(None, arrays)
    for _ in range(repeats):
        t = time.perf_counter()
        scorer.session.run(None, arrays)
        times_run.append(time.perf_counter() - t)
    for _ in range(repeats // 2):
        t = time.perf_counter()
        scorer.score(body["inputs"])
        times_score.append(time.perf_counter() - t)
    return {"session_run_p50_ms": float(np.median(times_run) * 1e3),
            "score_p50_ms": float(np.median(times_score) * 1e3)}


def python_load(url: str, body: dict[str, Any], clients: int, seconds: float,
                headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The same measurement with Python threads (http.client); slower than wrk, so it may be the bottleneck.
    headers: sent with every request (``LocalEndpoint.auth_headers``)."""
    import numpy as np

    host, port = url.split("//")[1].split("/")[0].split(":")
    payload = json.dumps(body).encode()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        mine, bad = [], 0
        while time.monotonic() < deadline:
            t = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(host, int(port), timeout=5)
                conn.request("POST", "/score", payload, {"Content-Type": "application/json", **(headers or {})})
                ok = conn.getresponse().status == 200
                conn.close()
            except OSError:
                ok = False
            mine.append(time.perf_counter() - t)
            bad += not ok
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    start = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    ms = np.array(latencies) * 1e3
    return {"generator": "python", "clients": clients, "seconds": elapsed, "requests": len(ms), "errors": errors[0],
            "rps": len(ms) / elapsed, "p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "p999_ms": float(np.percentile(ms, 99.9)),
            "max_ms": float(ms.max())}
