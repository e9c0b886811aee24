"""The digits CNN laid out as an endpoint's model folder, and a bounded Python load generator with percentiles.

Used by notebooks/40_deploy_local_endpoint.ipynb (where it is introduced) and 41, and by ``make load``.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path
from typing import Any


def digits_endpoint_folder(epochs: int = 8) -> Path:
    """The digits CNN laid out as a registered model (``build/models/endpoint/digits-cnn/1/model.onnx``),
    with the digit names as its class labels. epochs: training epochs if the CNN is not built yet."""
    from helpers.models import digits_cnn_onnx
    from helpers.paths import models_dir
    from helpers.serve import package_model

    cached = models_dir("shared") / "digits_cnn.onnx"  # where digits_cnn_onnx keeps it: skip importing torch
    return package_model(cached if cached.exists() else digits_cnn_onnx(epochs=epochs), models_dir("endpoint"), "digits-cnn", 1,
                         labels=[str(d) for d in range(10)])


def python_load(url: str, body: dict[str, Any], clients: int, seconds: float,
                headers: dict[str, str] | None = None) -> dict[str, Any]:
    """POST ``body`` to ``url`` from ``clients`` Python threads for ``seconds``: requests, errors, rate, percentiles.

    headers: sent with every request (``LocalEndpoint.auth_headers``). A Python client is slower than wrk, so it
    may be the bottleneck.
    """
    import numpy as np

    host, port = url.split("//")[1].split("/")[0].split(":")
    payload = json.dumps(body).encode()
    latencies: list[float] = []
    errors: list[bool] = []
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            t = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(host, int(port), timeout=5)
                conn.request("POST", "/score", payload, {"Content-Type": "application/json", **(headers or {})})
                ok = conn.getresponse().status == 200
                conn.close()
            except OSError:
                ok = False
            latencies.append(time.perf_counter() - t)  # list.append is atomic: no lock needed
            errors.append(not ok)

    start = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    ms = np.array(latencies) * 1e3
    p50, p90, p99, p999 = np.percentile(ms, [50, 90, 99, 99.9])
    return {"generator": "python", "clients": clients, "seconds": elapsed, "requests": len(ms), "errors": sum(errors),
            "rps": len(ms) / elapsed, "p50_ms": float(p50), "p90_ms": float(p90), "p99_ms": float(p99),
            "p999_ms": float(p999), "max_ms": float(ms.max())}
