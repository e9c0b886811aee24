"""Servers and browsers a notebook starts and must stop: free ports, process groups, HTTP servers, Chromium.

Used by serve and spark (process groups), notebook 21's mirror and notebook 42 (:class:`StaticServer`,
:class:`Browser`) and visualize (notebook 20). All listen on 127.0.0.1 only and stop when the kernel ends.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

#: Every server the workbook starts listens here only.
LOOPBACK = "127.0.0.1"

#: Chromium flags for a quiet, offline, headless browser (no GPU, no sandbox as root, no phoning home).
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run")


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on ``host`` right now (the OS picks it; bind soon, another process may take it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_group(cmd: Sequence[str], **popen: Any) -> subprocess.Popen:
    """Start ``cmd`` as the leader of a new process group, so :func:`stop_group` ends it and its children."""
    return subprocess.Popen(list(cmd), start_new_session=True, **popen)


def stop_group(proc: subprocess.Popen | None, term_wait: float = 10.0, kill_wait: float = 5.0) -> None:
    """SIGTERM ``proc``'s process group, wait up to ``term_wait`` s, then SIGKILL what is left (children too) and
    wait up to ``kill_wait`` s until no process of the group exists, not even a child the leader left unreaped."""
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=term_wait)
    deadline = time.monotonic() + kill_wait
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=kill_wait)
        while time.monotonic() < deadline:  # orphans die a moment after SIGKILL and wait for init to reap them
            os.killpg(proc.pid, 0)
            time.sleep(0.02)


# --- a static HTTP server in a thread ------------------------------------------------------------------
class _Handler(SimpleHTTPRequestHandler):
    """Serves ``mounts`` (URL prefix -> folder or file, longest first), ``headers`` on every answer."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                      ".wasm": "application/wasm"}

    def __init__(self, *args: Any, mounts: dict[str, Path], headers: Mapping[str, str], **kwargs: Any) -> None:
        self.mounts, self.extra_headers = mounts, headers
        super().__init__(*args, **kwargs)

    def translate_path(self, path: str) -> str:
        url = urlparse(path).path
        for prefix, target in self.mounts.items():
            if target.is_file() and unquote(url) == prefix:
                return str(target)
            if target.is_dir() and url.startswith(prefix):
                self.directory = str(target)  # the standard translation: no ".." leaves the folder
                return super().translate_path(url[len(prefix) - 1:])
        return os.devnull + "/no-such-file"  # 404

    def end_headers(self) -> None:
        for name, value in {**self.extra_headers, "Cache-Control": "no-store"}.items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, *args: Any) -> None:  # a notebook is no server log
        pass


_SERVERS: list[StaticServer] = []  # started and not stopped: stop_servers() and the exit stop them


class StaticServer:
    """Folders and files (``{"/": "web", "/models/cnn.onnx": path}``) served on 127.0.0.1 from a thread.

    Example::

        with StaticServer({"/": "build/models"}, headers=web.ISOLATION_HEADERS) as mirror:
            pooch.retrieve(mirror.url + "model.onnx", known_hash="sha256:...")
    """

    def __init__(self, mounts: Mapping[str, str | os.PathLike[str]], headers: Mapping[str, str] | None = None,
                 port: int = 0) -> None:
        self.mounts: dict[str, Path] = {}
        for prefix, target in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
            path = Path(target).expanduser().resolve()
            if not path.exists():
                raise FileNotFoundError(f"Cannot serve {prefix!r}: {path} does not exist.")
            url = "/" + prefix.strip("/")
            self.mounts[url if path.is_file() else url.rstrip("/") + "/"] = path
        self.headers = dict(headers or {})
        self.port = port
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> StaticServer:
        """Start serving (at a free port unless one was given); returns self."""
        if not self._httpd:
            handler = functools.partial(_Handler, mounts=self.mounts, headers=self.headers)
            self._httpd = ThreadingHTTPServer((LOOPBACK, self.port), handler)
            self.port = self._httpd.server_address[1]
            threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
            _SERVERS.append(self)
        return self

    @property
    def url(self) -> str:
        """The root URL, e.g. ``http://127.0.0.1:40731/``."""
        return f"http://{LOOPBACK}:{self.port}/"

    def stop(self) -> None:
        """Stop serving and close the port (safe to call twice)."""
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
            _SERVERS.remove(self)

    def __enter__(self) -> StaticServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def running_servers() -> list[StaticServer]:
    """The static servers this kernel started and has not stopped."""
    return list(_SERVERS)


def stop_servers() -> int:
    """Stop every static server this kernel started; returns how many were running."""
    servers = running_servers()
    for server in servers:
        server.stop()
    return len(servers)


atexit.register(stop_servers)


# --- headless Chromium in a worker thread --------------------------------------------------------------
class BrowserUnavailableError(RuntimeError):
    """No headless browser: Chromium or playwright is missing, or Chromium failed to start."""


def find_chromium() -> str | None:
    """A Chromium executable (``$CHROMIUM``, then PATH, then /usr/bin/google-chrome), or None."""
    names = (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "/usr/bin/google-chrome")
    return next(filter(None, (shutil.which(name) for name in names if name)), None)


@dataclass
class Page:
    """One open page, with what it logged, requested and failed to load (HTTP >= 400 included)."""

    browser: Browser
    page: Any
    console: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def call(self, name: str, *args: Any, timeout: float = 120.0) -> Any:
        """Call the workbook page's API ``window.workbook[name](*args)``, e.g. ``page.call("info")``."""
        return self.evaluate("([name, args]) => window.workbook[name](...args)", [name, list(args)], timeout=timeout)

    def evaluate(self, script: str, arg: Any = None, *, timeout: float = 60.0) -> Any:
        """Evaluate JavaScript in the page; a JavaScript exception raises ``RuntimeError`` with its message."""
        return self.browser.submit(self._evaluate, script, arg, timeout)

    def _evaluate(self, script: str, arg: Any, timeout: float) -> Any:
        from playwright.sync_api import Error as PlaywrightError

        self.page.set_default_timeout(timeout * 1000)
        try:
            return self.page.evaluate(script, arg)
        except PlaywrightError as err:
            message = str(err).strip().splitlines()[0].removeprefix("Error: ").removeprefix("Page.evaluate: ")
            raise RuntimeError(message) from None

    def screenshot(self, path: str | os.PathLike[str]) -> Path:
        """A PNG of the whole page."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.browser.submit(lambda: self.page.screenshot(path=str(target), full_page=True))
        return target

    def close(self) -> None:
        """Close this page and its context."""
        self.browser.submit(self.page.context.close)

    def _answered(self, response: Any) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.url} (HTTP {response.status})")


class Browser:
    """Debian's Chromium, headless through playwright in a worker thread; requests beyond 127.0.0.1 go to ``blocked``.

    playwright's sync API refuses to run in a kernel's asyncio loop and its objects belong to the thread that
    made them: :meth:`submit` runs a function in that thread. prelaunch: start Chromium now, in the background.

    Example::

        with Browser() as browser:
            browser.open("http://127.0.0.1:40731/").call("info")
    """

    def __init__(self, chromium: str | None = None, *, prelaunch: bool = False) -> None:
        self.chromium = chromium or find_chromium()
        self.blocked: list[str] = []
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(max_workers=1, thread_name_prefix="browser")
        self._playwright: Any = None
        self._browser: Any = None
        if prelaunch and self.chromium:
            self._pool.submit(self.launch)  # a failure is raised again by the first real use

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` in the browser's thread and return its result."""
        if self._pool is None:
            raise RuntimeError(f"This {type(self).__name__} is closed; make a new one.")
        return self._pool.submit(fn, *args).result()

    def launch(self) -> Any:
        """The playwright ``Browser``, started on first use (in the browser's thread)."""
        if self._browser is None:
            if self.chromium is None:
                raise BrowserUnavailableError(
                    "No Chromium found. Install it (Debian: `apt-get install chromium`, listed in "
                    "requirements/apt.txt) or set CHROMIUM=/path/to/chrome.")
            from playwright.sync_api import sync_playwright

            self._playwright = self._playwright or sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=self.chromium, args=list(CHROMIUM_ARGS), headless=True)
        return self._browser

    def _route(self, route: Any) -> None:
        if urlparse(route.request.url).hostname in (LOOPBACK, "localhost", "::1"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def new_context(self, **options: Any) -> Any:
        """A fresh playwright context (``viewport=``, ``storage_state=``...) held to 127.0.0.1 (browser's thread)."""
        context = self.launch().new_context(**options)
        context.route("**/*", self._route)
        return context

    def _open(self, url: str, ready: str, timeout: float, width: int, height: int) -> Page:
        context = self.new_context(viewport={"width": width, "height": height})
        page = Page(self, context.new_page())
        page.page.on("console", lambda m: page.console.append(f"{m.type}: {m.text}"))
        page.page.on("pageerror", lambda e: page.console.append(f"pageerror: {e}"))
        page.page.on("request", lambda r: page.requests.append(r.url))
        page.page.on("requestfailed", lambda r: page.failed.append(f"{r.url} ({r.failure})"))
        page.page.on("response", page._answered)
        page.page.goto(url, timeout=timeout * 1000)
        try:
            page.page.wait_for_function(ready, timeout=timeout * 1000)
        except Exception as err:
            context.close()
            raise RuntimeError(f"The page at {url} did not get ready ({ready}); its console: {page.console[-5:]}") from err
        return page

    def open(self, url: str, *, ready: str = "window.workbook && window.workbook.ready === true",
             timeout: float = 60.0, width: int = 900, height: int = 900) -> Page:
        """Open ``url`` in a fresh context and wait until ``ready`` (a JavaScript expression) is true."""
        return self.submit(self._open, url, ready, timeout, width, height)

    def _shutdown(self) -> None:
        try:
            if self._browser:
                self._browser.close()
        finally:
            if self._playwright:
                self._playwright.stop()

    def close(self) -> None:
        """Close the browser and its thread (safe to call twice)."""
        if self._pool is not None:
            try:
                self.submit(self._shutdown)
            finally:
                self._pool.shutdown()
                self._pool = None

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_until(ready: Callable[[], Any], timeout: float, what: str, interval: float = 0.2,
               alive: Callable[[], bool] | None = None) -> Any:
    """Poll ``ready()`` until it returns something true and return that; alive() false raises at once."""
    deadline = time.monotonic() + timeout
    while True:
        result = ready()
        if result:
            return result
        if alive is not None and not alive():
            raise RuntimeError(f"{what}: the process ended before it was ready.")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.0f} s.")
        time.sleep(interval)
