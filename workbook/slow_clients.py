"""Slow clients against the local endpoint: stall connections mid-body, then time good requests.

A client that sends its headers and a few bytes of body, then nothing, holds whatever reads that body. With
gunicorn's stock ``sync`` workers (what ``azmlinfsrv`` runs) that is a whole worker until the worker timeout
(300 s): two such sockets take a two-worker endpoint down. :func:`stalled_p99` measures what a good client
gets meanwhile; :data:`helpers.serve.WORKER_CLASSES` holds the configurations compared in the README
("Slow clients").

Example::

    from helpers.serve import LocalEndpoint
    with LocalEndpoint("deploy/score.py", "build/models/endpoint") as ep:
        stalled_p99(ep, {"inputs": {...}}, stalled=50)["p99_ms"]
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["stalled_connections", "stalled_p99"]


@contextlib.contextmanager
def stalled_connections(host: str, port: int, count: int, headers: dict[str, str] | None = None,
                        body_bytes: int = 10, declared: int = 1_000) -> Iterator[list[socket.socket]]:
    """``count`` connections that each send a POST's headers (``Content-Length: declared``) and ``body_bytes``
    bytes of its body, then nothing, until the block ends (then they are closed)."""
    head = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    request = (f"POST /score HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {declared}\r\n{head}\r\n").encode() + b"{" * body_bytes
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(request)
            socks.append(s)
        yield socks
    finally:
        for s in socks:
            s.close()


def stalled_p99(endpoint: Any, body: dict[str, Any], stalled: int = 50, requests: int = 100,
                timeout: float = 2.0, settle: float = 0.5) -> dict[str, Any]:
    """With ``stalled`` connections held mid-body, send ``requests`` good requests one after another from
    another client; a request that gets no answer within ``timeout`` seconds counts as failed and as
    ``timeout`` in the latencies. Returns ``{"stalled", "requests", "ok", "failed", "p50_ms", "p99_ms",
    "max_ms"}``. endpoint: a started :class:`helpers.serve.LocalEndpoint`."""
    import numpy as np

    payload = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **endpoint.auth_headers}
    host, port = endpoint.url.split("//")[1].split(":")
    latencies, ok, failures = [], 0, {}
    with stalled_connections(host, int(port), stalled, endpoint.auth_headers):
        time.sleep(settle)  # let the server take the stalled connections first
        for _ in range(requests):
            start = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
                conn.request("POST", "/score", payload, headers)
                status = conn.getresponse().status
                conn.close()
            except OSError as err:
                status = type(err).__name__
            elapsed = min(time.perf_counter() - start, timeout)
            latencies.append(elapsed)
            if status == 200:
                ok += 1
            else:
                failures[str(status)] = failures.get(str(status), 0) + 1
            if len(failures) and sum(failures.values()) >= 3 and ok == 0:
                break  # starved: three timeouts in a row say enough, and bound the run
    ms = np.array(latencies) * 1e3
    return {"stalled": stalled, "requests": len(ms), "ok": ok, "failed": failures,
            "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max())}
