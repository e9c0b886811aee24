"""``make load``: a bounded load test of the local endpoint, throughput and latency percentiles, to build/reports.

It serves the digits CNN with deploy/score.py on the real inference server (2 gunicorn workers by default),
measures an in-process ``session.run`` as the floor, then drives the endpoint with 1 and with 8 concurrent
clients for a few seconds each, and writes ``build/reports/load.json`` and ``load.md``.

The load generator is ``wrk`` (a compiled HTTP benchmark from Debian, requirements/apt.txt) when it is
installed, else helpers.load's Python thread pool; the report names the one used, and the machine's load
average before and after, because a loaded machine slows every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
from typing import Any

from helpers.load import digits_endpoint_folder, python_load

__all__ = ["TARGETS", "SERVER_MODES", "wrk_load", "run_load", "main"]


def _digit_request() -> dict[str, Any]:
    from helpers import data

    ds = data.load_digits(kind="images")
    return {"inputs": {"image": ds.X_test[:1].round(4).tolist()}}


def in_process_latency(model_dir: os.PathLike[str], body: dict[str, Any], repeats: int = 2000) -> dict[str, float]:
    """Median ms of ``session.run`` alone and of the scoring script's whole ``score()`` (checks included), in this
    process, with the same session settings as a server worker (1 thread): the floor no endpoint beats."""
    import sys

    from helpers.benchmark import time_callable
    from helpers.paths import repo_root

    sys.path.insert(0, str(repo_root() / "deploy"))
    try:
        import onnx_scoring
    finally:
        sys.path.pop(0)
    scorer = onnx_scoring.OnnxScorer(onnx_scoring.find_model(model_dir))
    arrays = scorer.parse(body["inputs"])
    run = time_callable(lambda: scorer.session.run(None, arrays), warmup=200, repeats=repeats)
    score = time_callable(lambda: scorer.score(body["inputs"]), warmup=0, repeats=repeats // 2)
    return {"session_run_p50_ms": run.median, "score_p50_ms": score.median}


#: The issue's targets for the digits CNN, 2 workers, on a 2-core machine.
TARGETS = {"rps_8_clients": 1000.0, "p99_ms_8_clients": 20.0, "errors": 0, "p50_gap_ms_1_client": 1.0}


_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
[[HEADERS]]
wrk.body = [[BODY]]
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50": %f, "p90": %f, "p99": %f, "p999": %f, "max": %f, "mean": %f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
"""



def _cpu_seconds(endpoint: Any) -> float:
    """CPU time (user + system) used so far by a running endpoint's master and its live workers."""
    import psutil

    master = psutil.Process(endpoint.process.pid)
    return sum(sum(p.cpu_times()[:2]) for p in [master, *master.children()])

def wrk_load(url: str, body: dict[str, Any], clients: int, seconds: float,
             headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Drive ``url`` with wrk: ``clients`` connections for ``seconds``; latencies in ms. headers: sent too
    (``LocalEndpoint.auth_headers``)."""
    extra = "\n".join(f'wrk.headers[{json.dumps(k)}] = {json.dumps(v)}' for k, v in (headers or {}).items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_LUA.replace("[[BODY]]", "[==[" + json.dumps(body) + "]==]").replace("[[HEADERS]]", extra))
        script = f.name
    try:
        threads = max(1, min(clients, 2))
        cmd = ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{max(1, round(seconds))}s", "--timeout", "5s", "-s", script, url]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    finally:
        os.unlink(script)
    match = re.search(r"WRKJSON (\{.*\})", out)
    if not match:
        raise RuntimeError(f"wrk printed no summary; its output was:\n{out}")
    raw = json.loads(match.group(1))
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
    return {"generator": "wrk", "clients": clients, "seconds": raw["duration_us"] / 1e6, "requests": raw["requests"],
            "errors": errors, "rps": raw["requests"] / (raw["duration_us"] / 1e6),
            "p50_ms": raw["p50"] / 1e3, "p90_ms": raw["p90"] / 1e3, "p99_ms": raw["p99"] / 1e3,
            "p999_ms": raw["p999"] / 1e3, "max_ms": raw["max"] / 1e3}


#: How the server's gunicorn runs. "sync" is the stock setting Azure's images use: one request per
#: connection (the server answers ``Connection: close``). "gthread" is gunicorn's threaded worker with
#: HTTP keep-alive, set through gunicorn's own ``GUNICORN_CMD_ARGS``; the inference server's scoring timeout
#: (SIGALRM) only works in a worker's main thread, so it does not apply there. "tornado" is what
#: ``helpers.serve.LocalEndpoint`` runs by default: an event loop per worker that buffers bodies, so slow
#: clients cannot starve it (``workbook.slow_clients``).
SERVER_MODES = {
    "sync": {"GUNICORN_CMD_ARGS": "--worker-class sync"},
    "gthread": {"GUNICORN_CMD_ARGS": "--worker-class gthread --threads 2 --keep-alive 5"},
    "tornado": {"GUNICORN_CMD_ARGS": "--worker-class tornado"},
}


def _verdicts(runs: list[dict[str, Any]], floor: dict[str, float]) -> dict[str, tuple[Any, bool]]:
    by_clients = {r["clients"]: r for r in runs}
    verdicts: dict[str, tuple[Any, bool]] = {}
    if 8 in by_clients:
        r8 = by_clients[8]
        verdicts["rps_8_clients"] = (round(r8["rps"], 1), r8["rps"] >= TARGETS["rps_8_clients"])
        verdicts["p99_ms_8_clients"] = (round(r8["p99_ms"], 2), r8["p99_ms"] <= TARGETS["p99_ms_8_clients"])
    if 1 in by_clients:
        gap = by_clients[1]["p50_ms"] - floor["session_run_p50_ms"]
        verdicts["p50_gap_ms_1_client"] = (round(gap, 3), gap <= TARGETS["p50_gap_ms_1_client"])
    errors = sum(r["errors"] for r in runs)
    verdicts["errors"] = (errors, errors == 0)
    return verdicts


def run_load(workers: int = 2, clients: tuple[int, ...] = (1, 8), seconds: float = 5.0,
             generator: str = "auto", servers: tuple[str, ...] = ("sync", "gthread", "tornado"),
             write: bool = True) -> dict[str, Any]:
    """Serve the digits CNN locally and measure it; returns the report (and writes it to build/reports).

    servers: which :data:`SERVER_MODES` to measure, one server start each.
    """
    from helpers.paths import repo_root, reports_dir
    from helpers.report import Table, write_report
    from helpers.serve import LocalEndpoint

    unknown = set(servers) - set(SERVER_MODES)
    if unknown:
        raise ValueError(f"Unknown server mode(s) {sorted(unknown)}; choose from {sorted(SERVER_MODES)}.")
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    if generator == "wrk" and not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed: run `apt-get install wrk` (requirements/apt.txt lists it) or "
                           "pass --generator python.")
    drive = wrk_load if generator == "wrk" else python_load
    model_dir = digits_endpoint_folder()
    body = _digit_request()
    floor = in_process_latency(model_dir, body)
    load_before = os.getloadavg()
    runs = []
    for mode in servers:
        with LocalEndpoint(repo_root() / "deploy" / "score.py", model_dir, workers=workers, log_level="WARNING",
                           env=SERVER_MODES[mode]) as ep:
            check = ep.post(body)
            if check.status != 200:
                raise RuntimeError(f"The endpoint answered {check.status}: {check.body}")
            drive(ep.scoring_uri, body, 2, 1.0, ep.auth_headers)  # warm up both workers
            for n in clients:
                cpu = _cpu_seconds(ep)
                run = {"server": mode, **drive(ep.scoring_uri, body, n, seconds, ep.auth_headers)}
                run["server_cpu_ms_per_request"] = (_cpu_seconds(ep) - cpu) * 1e3 / max(run["requests"], 1)
                runs.append(run)
    load_after = os.getloadavg()
    verdicts = {mode: _verdicts([r for r in runs if r["server"] == mode], floor) for mode in servers}
    report = {
        "model": "digits CNN (build/models/endpoint/digits-cnn/1/model.onnx)", "workers": workers,
        "generator": generator, "cores": os.cpu_count(), "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in load_after], **floor, "runs": runs,
        "targets": {mode: {k: {"target": TARGETS[k], "measured": v[0], "met": v[1]} for k, v in vs.items()}
                    for mode, vs in verdicts.items()},
    }
    cpu_ms = {mode: min(r["server_cpu_ms_per_request"] for r in runs if r["server"] == mode) for mode in servers}
    report["idle_capacity_bound_rps"] = {m: round(1e3 * (os.cpu_count() or 1) / c) for m, c in cpu_ms.items() if c}
    table = Table(runs, columns=["server", "clients", "generator", "requests", "errors", "rps", "p50_ms", "p90_ms",
                                 "p99_ms", "max_ms", "server_cpu_ms_per_request"],
                  title=f"Local endpoint load: digits CNN, {workers} workers, {seconds:g} s per row")
    table.notes.append(f"in-process session.run p50 {floor['session_run_p50_ms']:.3f} ms, score() p50 "
                       f"{floor['score_p50_ms']:.3f} ms; load average before {report['load_avg_before'][0]} "
                       f"after {report['load_avg_after'][0]} on {os.cpu_count()} cores (other work shares them)")
    for mode, bound in report["idle_capacity_bound_rps"].items():
        table.notes.append(f"{mode}: {cpu_ms[mode]:.2f} ms of server CPU per request, so on an idle "
                           f"{os.cpu_count()}-core machine at most about {bound} requests/s (a bound, not a measurement)")
    targets = Table([{"server": mode, "target": k, "wanted": TARGETS[k], "measured": v[0], "met": v[1]}
                     for mode, vs in verdicts.items() for k, v in vs.items()], title="Targets")
    report["text"] = table.to_text() + "\n\n" + targets.to_text()
    if write:
        md, js = write_report("load", table.to_markdown() + "\n\n" + targets.to_markdown(),
                              {k: v for k, v in report.items() if k != "text"}, reports_dir())
        report["paths"] = [str(js), str(md)]
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m workbook.load [--workers 2] [--clients 1,8] [--seconds 5] [--generator auto|wrk|python]``"""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", default="1,8", help="comma-separated client counts")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per client count")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--servers", default="sync,gthread,tornado",
                        help="gunicorn modes to measure: sync (stock), gthread, tornado (LocalEndpoint's default)")
    args = parser.parse_args(argv)
    report = run_load(args.workers, tuple(int(c) for c in args.clients.split(",")), args.seconds, args.generator,
                      tuple(args.servers.split(",")))
    print(report["text"])
    print("\nwritten:", ", ".join(report.get("paths", [])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
