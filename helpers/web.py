"""ONNX beyond Python: serve the browser page, drive it in headless Chromium, run models in Node.js.

Three life cycles a reader would not write in their own notebook, and the wire format between them:

- :class:`StaticServer` serves folders and files on 127.0.0.1 at a free port, with the COOP/COEP
  headers that make a page cross-origin isolated (``SharedArrayBuffer``, so onnxruntime-web can run
  several wasm threads) or without them, to show the difference. :func:`serve_web` serves the
  repository's ``web/`` page with the models under ``/models/``.
- :class:`PageDriver` opens pages in headless Chromium through playwright (launched as
  :class:`helpers.visualize.NetronRenderer` does) and calls the page's ``window.workbook`` API.
- :func:`run_node` runs ``web/score_node.mjs`` (onnxruntime-node) on a JSON request.

Tensors travel as ``{"type", "dims", "data"}`` (:func:`to_wire`, :func:`from_wire`); float32 values
survive the trip exactly. Introduced in notebooks/42_deploy_browser_node.ipynb.

Example::

    from helpers import web
    with web.serve_web({"digits_cnn.onnx": "build/models/shared/digits_cnn.onnx"}) as server:
        with web.PageDriver() as browser:
            page = browser.open(server.url + "?threads=1")
            out = page.call("run", "/models/digits_cnn.onnx", {"image": web.to_wire(x)})
"""

from __future__ import annotations

import atexit
import json
import mimetypes
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np

from helpers.paths import repo_root

__all__ = [
    "ISOLATION_HEADERS",
    "NodeUnavailableError",
    "StaticServer",
    "PageDriver",
    "Page",
    "web_dir",
    "node_modules_dir",
    "check_node_modules",
    "serve_web",
    "page_models",
    "main",
    "running_servers",
    "stop_servers",
    "to_wire",
    "from_wire",
    "find_node",
    "run_node",
    "npm_version",
    "runtime_parity",
]

#: The two headers that make a page cross-origin isolated (needed for wasm threads).
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}
_TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
          ".onnx": "application/octet-stream", ".ort": "application/octet-stream", ".data": "application/octet-stream",
          ".json": "application/json", ".html": "text/html; charset=utf-8"}
_SERVERS: list[StaticServer] = []  # what this kernel started, so stop_servers() and the exit can stop it


class NodeUnavailableError(RuntimeError):
    """Node.js or the project's npm packages are missing."""


def web_dir() -> Path:
    """The repository's ``web/`` folder (the page, the Node script, package.json)."""
    return repo_root() / "web"


def node_modules_dir() -> Path:
    """``web/node_modules``, where setup installs onnxruntime-web and onnxruntime-node."""
    return web_dir() / "node_modules"


def check_node_modules(*packages: str) -> Path:
    """Raise :class:`NodeUnavailableError` (with the command that fixes it) unless ``packages`` are installed.

    Example::

        check_node_modules("onnxruntime-web")
        # PosixPath('.../web/node_modules')
    """
    modules = node_modules_dir()
    missing = [p for p in packages or ("onnxruntime-web", "onnxruntime-node") if not (modules / p / "package.json").exists()]
    if missing:
        raise NodeUnavailableError(
            f"{', '.join(missing)} not installed in {modules}. Run `bash scripts/setup.sh` (or, in web/: "
            "`npm ci --ignore-scripts`); it needs Node.js and npm (Debian: apt-get install nodejs npm).")
    return modules


def npm_version(package: str) -> str:
    """The installed version of an npm package in ``web/node_modules`` (e.g. ``"1.30.0"``)."""
    check_node_modules(package)
    return json.loads((node_modules_dir() / package / "package.json").read_text())["version"]


# --- a static server with optional cross-origin isolation ------------------------------------------------
def _handler(mounts: dict[str, Path], headers: dict[str, str]) -> type[SimpleHTTPRequestHandler]:
    class Handler(SimpleHTTPRequestHandler):
        extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **_TYPES}

        def translate_path(self, path: str) -> str:
            url = unquote(urlparse(path).path)
            for prefix, target in mounts.items():  # longest prefix first
                if target.is_file() and url == prefix:
                    return str(target)
                if target.is_dir() and (url + "/").startswith(prefix.rstrip("/") + "/"):
                    rel = url[len(prefix.rstrip("/")):].lstrip("/")
                    resolved = (target / rel).resolve()
                    if resolved == target or target in resolved.parents:
                        return str(resolved)
            return str(Path(tempfile.gettempdir()) / "onnx-workbook-no-such-file")  # 404

        def end_headers(self) -> None:
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # quiet: a notebook is no server log
            pass

    return Handler


@dataclass
class StaticServer:
    """Files and folders served over HTTP on 127.0.0.1; a context manager, stopped by :meth:`stop`.

    mounts: URL path -> folder or file, e.g. ``{"/": "web", "/models/cnn.onnx": "build/cnn.onnx"}``.
    isolated: send the COOP/COEP headers (:data:`ISOLATION_HEADERS`) with every response.
    port: a fixed port, or 0 for a free one (the default: other servers run on this machine too).

    Example::

        with StaticServer({"/": "web"}) as server:
            print(server.url)                          # http://127.0.0.1:40731/
    """

    mounts: Mapping[str, str | os.PathLike[str]]
    isolated: bool = True
    host: str = "127.0.0.1"
    port: int = 0
    _httpd: Any = field(default=None, repr=False)
    _thread: Any = field(default=None, repr=False)

    def start(self) -> StaticServer:
        """Start serving in a background thread; returns self."""
        if self._httpd is not None:
            return self
        resolved = {}
        for prefix, target in sorted(self.mounts.items(), key=lambda kv: -len(kv[0])):
            path = Path(target).expanduser().resolve()
            if not path.exists():
                raise FileNotFoundError(f"Cannot serve {prefix!r}: {path} does not exist.")
            resolved["/" + prefix.lstrip("/")] = path
        headers = dict(ISOLATION_HEADERS) if self.isolated else {}
        self._httpd = ThreadingHTTPServer((self.host, self.port), _handler(resolved, headers))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"web-{self.port}", daemon=True)
        self._thread.start()
        _SERVERS.append(self)
        return self

    @property
    def url(self) -> str:
        """The server's root URL, e.g. ``http://127.0.0.1:40731/``."""
        return f"http://{self.host}:{self.port}/"

    @property
    def alive(self) -> bool:
        """Whether the server thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and close the port (safe to call twice)."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None
        if self in _SERVERS:
            _SERVERS.remove(self)

    def iframe(self, path: str = "", height: int = 560) -> Any:
        """The page at ``path`` as an ``IPython.display.IFrame`` (live while this kernel serves it)."""
        from IPython.display import IFrame

        return IFrame(self.url + path.lstrip("/"), width="100%", height=height)

    def __enter__(self) -> StaticServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def running_servers() -> list[StaticServer]:
    """The servers this kernel started and has not stopped."""
    return list(_SERVERS)


def stop_servers() -> int:
    """Stop every server this kernel started; returns how many were running."""
    servers = running_servers()
    for server in servers:
        server.stop()
    return len(servers)


atexit.register(stop_servers)


def serve_web(models: Mapping[str, str | os.PathLike[str]] | None = None, *, isolated: bool = True,
              port: int = 0, host: str = "127.0.0.1") -> StaticServer:
    """Serve ``web/`` (the page and its ``node_modules``) with ``models`` under ``/models/``; started.

    models: URL name -> file, e.g. ``{"digits_cnn.onnx": path}`` serves it at ``/models/digits_cnn.onnx``.
    isolated: send COOP/COEP (wasm threads work); ``False`` shows what a plain static host does.
    """
    check_node_modules("onnxruntime-web")
    mounts: dict[str, str | os.PathLike[str]] = {"/": web_dir()}
    for name, path in (models or {}).items():
        mounts[f"/models/{name}"] = path
    return StaticServer(mounts, isolated=isolated, host=host, port=port).start()


def page_models(minilm: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """The files the page opens by default, built on first use: ``{URL name under /models/: file}``.

    minilm: the MiniLM encoder to serve as ``minilm.onnx`` (default: the fp32 ``dynamo=True`` export).
    """
    from helpers import minilm as minilm_mod
    from helpers.models import digits_cnn_onnx

    return {
        "digits_cnn.onnx": digits_cnn_onnx(),
        "minilm.onnx": Path(minilm) if minilm else minilm_mod.export_minilm_onnx(),
        "tokenizer.json": minilm_mod.minilm_dir() / "tokenizer.json",
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.web [--port 8000] [--threads 2] [--no-isolation]``: serve the page until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m helpers.web", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--threads", type=int, default=2, help="wasm threads the printed URL asks for")
    parser.add_argument("--no-isolation", action="store_true", help="serve without COOP/COEP (one thread only)")
    args = parser.parse_args(argv)
    print("Preparing the models (the first time trains the digits CNN and exports MiniLM: about a minute)...")
    server = serve_web(page_models(), isolated=not args.no_isolation, port=args.port)
    print(f"Serving web/ on {server.url} (cross-origin isolated: {not args.no_isolation}). Open "
          f"{server.url}?threads={args.threads} in a browser on this machine "
          f"(remotely: ssh -L {server.port}:127.0.0.1:{server.port} HOST). Ctrl-C stops it.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


# --- tensors over JSON ---------------------------------------------------------------------------------
_WIRE_TYPES = {"float32": np.float32, "int64": np.int64, "int32": np.int32, "uint8": np.uint8}


def to_wire(array: Any) -> dict[str, Any]:
    """A numpy array as ``{"type", "dims", "data"}`` for the page or the Node script.

    >>> to_wire(np.array([[1, 2]], dtype=np.int64))
    {'type': 'int64', 'dims': [1, 2], 'data': [1, 2]}
    """
    a = np.asarray(array)
    if a.dtype.name not in _WIRE_TYPES:
        raise TypeError(f"Cannot send a {a.dtype} tensor; the JavaScript runtimes here take {sorted(_WIRE_TYPES)}: "
                        "cast it first (e.g. x.astype(np.float32)).")
    return {"type": a.dtype.name, "dims": list(a.shape), "data": a.ravel().tolist()}


def from_wire(tensor: Mapping[str, Any]) -> np.ndarray:
    """The numpy array for a ``{"type", "dims", "data"}`` tensor that came back from JavaScript."""
    dtype = _WIRE_TYPES.get(tensor["type"], np.float64)
    return np.asarray(tensor["data"], dtype=dtype).reshape(tensor["dims"])


# --- the page in headless Chromium ---------------------------------------------------------------------
@dataclass
class Page:
    """One open page; :meth:`call` runs ``window.workbook[name](*args)`` in it and returns the result."""

    driver: PageDriver
    page: Any
    url: str
    console: list[str]
    requests: list[str] = field(default_factory=list)  # every URL the page asked for, in order
    failed: list[str] = field(default_factory=list)  # requests that failed or answered HTTP >= 400

    def call(self, name: str, *args: Any, timeout: float = 120.0) -> Any:
        """Call the page's API, e.g. ``page.call("run", "/models/cnn.onnx", feeds)``.

        A JavaScript exception raises ``RuntimeError`` with its message (the page's own words).
        """
        script = "([name, args]) => window.workbook[name](...args)"
        return self.driver._submit(self._evaluate, script, [name, list(args)], timeout)

    def evaluate(self, script: str, arg: Any = None, *, timeout: float = 60.0) -> Any:
        """Evaluate a JavaScript function or expression in the page, e.g. ``"() => document.title"``."""
        return self.driver._submit(self._evaluate, script, arg, timeout)

    def _evaluate(self, script: str, arg: Any, timeout: float) -> Any:  # in the worker thread
        from playwright.sync_api import Error as PlaywrightError

        self.page.set_default_timeout(timeout * 1000)
        try:
            return self.page.evaluate(script, arg)
        except PlaywrightError as err:
            message = str(err).strip().splitlines()[0].removeprefix("Error: ").removeprefix("Page.evaluate: ")
            raise RuntimeError(message) from None

    def screenshot(self, path: str | os.PathLike[str]) -> Path:
        """A PNG of the page, for executed notebooks and their HTML (no live server needed)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.driver._submit(lambda: self.page.screenshot(path=str(target), full_page=True))
        return target

    def close(self) -> None:
        """Close this page (its context and sessions)."""
        self.driver._submit(self.page.context.close)


class PageDriver:
    """A headless Chromium (Debian's, through playwright) that opens pages and calls into them.

    It runs in a worker thread of its own, as :class:`helpers.visualize.NetronRenderer` does
    (playwright's sync API refuses to run inside the kernel's asyncio loop), with the same flags
    (:data:`helpers.visualize.CHROMIUM_ARGS`: headless, no GPU). Requests to anything but 127.0.0.1
    are blocked, so a page that reaches for a CDN fails here instead of working by accident.

    Example::

        with PageDriver() as browser:
            page = browser.open("http://127.0.0.1:40731/")
            page.call("info")
    """

    def __init__(self, chromium: str | None = None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from helpers.visualize import find_chromium

        self.chromium = chromium or find_chromium()
        self._pool: Any = ThreadPoolExecutor(max_workers=1, thread_name_prefix="web-page")
        self._playwright: Any = None
        self._browser: Any = None
        self.blocked: list[str] = []

    def _submit(self, fn: Any, *args: Any) -> Any:
        if self._pool is None:
            raise RuntimeError("This PageDriver is closed; make a new one.")
        return self._pool.submit(fn, *args).result()

    def _launch(self) -> Any:  # in the worker thread
        from helpers.visualize import CHROMIUM_ARGS, BrowserUnavailableError

        if self._browser is None:
            if self.chromium is None:
                raise BrowserUnavailableError(
                    "No Chromium found. Install it (Debian: `apt-get install chromium`, listed in "
                    "requirements/apt.txt) or set CHROMIUM=/path/to/chrome.")
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=self.chromium, args=list(CHROMIUM_ARGS), headless=True)
        return self._browser

    def _open(self, url: str, ready: str, timeout: float, width: int, height: int) -> Page:  # worker thread
        browser = self._launch()
        context = browser.new_context(viewport={"width": width, "height": height})

        def route(r: Any) -> None:
            if urlparse(r.request.url).hostname in ("127.0.0.1", "localhost"):
                r.continue_()
            else:
                self.blocked.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        console: list[str] = []
        requests: list[str] = []
        failed: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        page.on("request", lambda r: requests.append(r.url))
        page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
        page.on("response", lambda r: failed.append(f"{r.url} (HTTP {r.status})") if r.status >= 400 else None)
        page.goto(url, timeout=timeout * 1000)
        try:
            page.wait_for_function(ready, timeout=timeout * 1000)
        except Exception as err:
            context.close()
            raise RuntimeError(f"The page at {url} did not get ready ({ready}); its console: {console[-5:]}") from err
        return Page(self, page, url, console, requests, failed)

    def open(self, url: str, *, ready: str = "window.workbook && window.workbook.ready === true",
             timeout: float = 60.0, width: int = 900, height: int = 900) -> Page:
        """Open ``url`` in a fresh context and wait until ``ready`` (a JavaScript expression) is true."""
        return self._submit(self._open, url, ready, timeout, width, height)

    def close(self) -> None:
        """Close the browser and its worker thread (safe to call twice)."""
        from helpers.visualize import close_browser_thread

        close_browser_thread(self)

    def __enter__(self) -> PageDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- Node.js -------------------------------------------------------------------------------------------
def find_node() -> str | None:
    """The ``node`` executable (``$NODE`` first), or None."""
    return os.environ.get("NODE") or shutil.which("node")


def run_node(jobs: Sequence[Mapping[str, Any]], *, script: str | os.PathLike[str] | None = None,
             timeout: float = 300.0) -> list[dict[str, Any]]:
    """Run ``web/score_node.mjs`` (onnxruntime-node) on ``jobs``; one answer per job.

    jobs: each ``{"model": path, "feeds": {name: to_wire(x)}, "repeat": 0, "options": {...}}``; without
        ``feeds`` a job only loads the model. Each answer has ``inputNames``, ``outputNames``,
        ``outputs`` (wire tensors), ``times_ms`` (when ``repeat`` > 0), or ``error`` (the runtime's
        message: one job failing does not stop the others).

    Example::

        run_node([{"model": "cnn.onnx", "feeds": {"image": to_wire(x)}}])[0]["outputs"]
    """
    node = find_node()
    if node is None:
        raise NodeUnavailableError("Node.js is not installed: apt-get install nodejs npm (requirements/apt.txt), "
                                   "then `bash scripts/setup.sh` installs onnxruntime-node.")
    check_node_modules("onnxruntime-node")
    script = Path(script) if script else web_dir() / "score_node.mjs"
    jobs = [{**j, "model": str(Path(j["model"]).resolve())} for j in jobs]
    with tempfile.TemporaryDirectory(prefix="workbook-node-") as tmp:
        request, answer = Path(tmp) / "request.json", Path(tmp) / "answer.json"
        request.write_text(json.dumps({"jobs": jobs}))
        started = time.perf_counter()
        proc = subprocess.run([node, str(script), str(request), str(answer)], capture_output=True, text=True,
                              timeout=timeout, cwd=web_dir())
        if proc.returncode != 0 or not answer.exists():
            raise RuntimeError(f"{script.name} failed (exit {proc.returncode}) after "
                               f"{time.perf_counter() - started:.1f} s: {proc.stderr.strip()[-800:]}")
        return json.loads(answer.read_text())["answers"]


# --- parity of a JavaScript runtime with Python's ONNX Runtime -----------------------------------------
def runtime_parity(model: str | os.PathLike[str], inputs: Mapping[str, np.ndarray], outputs: Mapping[str, Any], *,
                   name: str, runtime: str, runtime_version: str, rtol: float = 1e-4, atol: float = 1e-5,
                   record: bool = True, **compare: Any) -> Any:
    """Compare a JavaScript runtime's outputs with Python's ONNX Runtime on the same file and inputs.

    outputs: what the page or Node returned, ``{name: wire tensor or array}``.
    runtime: e.g. ``"onnxruntime-web (wasm)"`` or ``"onnxruntime-node"``; recorded as the framework of a
        :func:`helpers.verify.check_conversion` record (the converter is "same .onnx file").

    Returns the :class:`helpers.verify.ParityResult` (call ``.assert_passed()`` to enforce it).
    """
    from helpers.verify import check_conversion

    expected = {k: from_wire(v) if isinstance(v, Mapping) else np.asarray(v) for k, v in outputs.items()}
    return check_conversion(model, dict(inputs), expected, name=name, framework=runtime,
                            framework_version=runtime_version, converter="same .onnx file",
                            converter_version="-", rtol=rtol, atol=atol, record=record, **compare)


mimetypes.add_type("text/javascript", ".mjs")

if __name__ == "__main__":
    raise SystemExit(main())
