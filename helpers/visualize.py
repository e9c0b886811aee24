"""See inside an ONNX model with Netron: the server life cycle, and a picture that outlives the kernel.

Notebook 20 first calls ``netron.start(path, ("127.0.0.1", port), browse=False)`` and embeds an
``IPython.display.IFrame`` itself; this module keeps what a reader would not write: one server per model
on a free port (reused, kept apart, stopped at exit), a view that stays live in JupyterLab but shows a
static picture where no server answers (an HTML render, a notebook opened without its kernel), and
headless-Chromium PNGs of the graph with a text summary where no browser exists.
Introduced in notebooks/20_visualize_netron.ipynb.

>>> from helpers.visualize import NetronRenderer, open_in_netron   # doctest: +SKIP
>>> with NetronRenderer() as renderer:                             # doctest: +SKIP
...     picture = renderer.draw("model.onnx", names=True)          # a PNG, or a text summary
>>> view = open_in_netron("model.onnx", picture=picture)          # doctest: +SKIP
>>> view.stop()                                                   # doctest: +SKIP

A model file that is not ONNX, or is truncated, raises
:class:`helpers.inspect.NotAnOnnxModelError` before any server starts.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import html
import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from helpers.report import Table

__all__ = [
    "NetronView",
    "GraphPicture",
    "BrowserUnavailableError",
    "CHROMIUM_ARGS",
    "close_browser_thread",
    "open_in_netron",
    "stop_netron",
    "running_views",
    "find_chromium",
    "NetronRenderer",
    "draw_graph",
    "graph_text_summary",
    "compare_graphs",
    "Gallery",
]

#: Chromium flags for a quiet, offline, headless render (no GPU, no sandbox as root, no phoning home).
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
)
_CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# The servers this kernel started, by resolved model path. This registry is the one piece of module
# state: reusing a file's server and stopping every server at exit both need to know what is running.
_VIEWS: dict[str, NetronView] = {}


class BrowserUnavailableError(RuntimeError):
    """No headless browser could render the Netron view (Chromium or playwright missing, or it failed)."""


@dataclass
class NetronView:
    """A Netron server for one model file; shows as the live viewer, or as its picture where no server answers.

    The HTML is an ``<object>`` that loads the viewer with the picture inside it as fallback content:
    a browser shows the fallback when the server does not answer (an HTML render, a notebook opened
    after the kernel stopped), and JupyterLab's sanitizer keeps only the picture in an untrusted notebook.
    Displayed in a notebook, each display of the view is replaced by the picture when :meth:`stop` stops
    the server: a viewer whose page is still loading (Run All) would otherwise end as "The web request failed".
    """

    path: Path
    host: str
    port: int
    height: int = 600
    picture: GraphPicture | None = None
    _display_ids: list[str] = field(default_factory=list, repr=False)  # where the live view is shown

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)``, as ``netron.stop`` takes it."""
        return (self.host, self.port)

    @property
    def url(self) -> str:
        """Where the viewer is served, e.g. ``http://127.0.0.1:43127/``."""
        return f"http://{self.host}:{self.port}/"

    @property
    def alive(self) -> bool:
        """Whether the server still answers on its port."""
        import netron

        return bool(netron.status(self.address))

    def stop(self, timeout: float = 5.0) -> None:
        """Stop this server and wait (up to ``timeout`` seconds) until its thread has ended."""
        import netron

        netron.stop(self.address)
        deadline = time.monotonic() + timeout
        while self.alive and time.monotonic() < deadline:
            time.sleep(0.05)
        if _VIEWS.get(str(self.path)) is self:
            del _VIEWS[str(self.path)]
        self._show_picture_in_place()

    def _picture(self) -> GraphPicture:
        return self.picture or GraphPicture(None, reason="no picture drawn", summary=graph_text_summary(self.path))

    def stopped_bundle(self) -> dict[str, Any]:
        """What a display of this view shows once its server has stopped: the picture, and a line that says so."""
        bundle = self._picture()._repr_mimebundle_()
        bundle["text/html"] = (f"{self._picture().html()}<p style=\"font-size:small\">Netron: <code>"
                               f"{html.escape(self.path.name)}</code>, its viewer stopped; the picture of the graph "
                               "in its place</p>")
        return bundle

    def _ipython_display_(self) -> None:
        """Show the live view under a display id of its own, so that :meth:`stop` can put the picture there."""
        import uuid

        from IPython.display import display

        display_id = uuid.uuid4().hex
        self._display_ids.append(display_id)
        display(self._repr_mimebundle_(), raw=True, display_id=display_id)

    def _show_picture_in_place(self) -> None:
        if not self._display_ids:
            return
        try:
            from IPython.display import update_display

            for display_id in self._display_ids:
                update_display(self.stopped_bundle(), display_id=display_id, raw=True)
        except Exception as err:  # at interpreter exit (atexit) IPython may be gone: nothing left to update
            warnings.warn(f"Could not replace the stopped Netron viewer by its picture: {err}", RuntimeWarning,
                          stacklevel=3)
        self._display_ids.clear()

    def iframe(self, height: int | None = None, proxy_base: str | None = None) -> Any:
        """The viewer as an ``IPython.display.IFrame``.

        proxy_base: reach the server through jupyter-server-proxy instead of directly, e.g.
            ``"/"`` gives ``/proxy/<port>/`` on the JupyterLab server (for a remote JupyterLab).
        """
        from IPython.display import IFrame

        src = f"{proxy_base.rstrip('/')}/proxy/{self.port}/" if proxy_base is not None else self.url
        return IFrame(src, width="100%", height=height or self.height)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        picture = self._picture()
        bundle = picture._repr_mimebundle_()
        name = html.escape(self.path.name)
        bundle["text/html"] = (
            f'<object data="{self.url}" type="text/html" width="100%" height="{self.height}" '
            f'style="border:1px solid #ddd">{picture.html()}</object>'
            f'<p style="font-size:small">Netron: <code>{name}</code> at <a href="{self.url}" target="_blank">'
            f"{self.url}</a> (live while its kernel runs; without it, the picture above)</p>"
        )
        return bundle

    def __str__(self) -> str:
        return f"Netron serving {self.path.name} at {self.url} ({'running' if self.alive else 'stopped'})"


def _check_onnx_file(model: str | os.PathLike[str]) -> Path:
    """Resolve ``model`` and make sure it parses as ONNX (raises NotAnOnnxModelError otherwise)."""
    from helpers.inspect import load_model

    path = Path(model).expanduser().resolve()
    load_model(path, load_external_data=False)  # FileNotFoundError or NotAnOnnxModelError
    return path


def _isolate_handler(address: tuple[str, int]) -> None:
    """Give the server at ``address`` its own request handler class.

    netron 9.3 stores the served file on its shared handler class, so a second server would
    make the first one show the second file too; a per-server subclass keeps each on its model.
    """
    try:
        from netron import server

        for thread in server._threads(address):
            handler = thread.server.RequestHandlerClass
            thread.server.RequestHandlerClass = type(
                f"NetronHandler{address[1]}", (handler,), {"content": handler.content}
            )
    except AttributeError:  # netron's internals changed: still works for one model at a time
        warnings.warn(
            "Could not give this Netron server its own handler (netron internals changed); with several "
            "models open at once, each viewer may show the last opened file.", RuntimeWarning, stacklevel=3,
        )


def open_in_netron(
    model: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    height: int = 600,
    picture: GraphPicture | None = None,
) -> NetronView:
    """Serve ``model`` in Netron on ``host`` (``netron.start``, a free port) and return the view.

    model: the ``.onnx`` file (an external-data file beside it is served too).
    host: the interface to listen on; keep 127.0.0.1 and forward the port to reach it remotely.
    port: a fixed port, or None for a free one.
    height: the viewer's height in pixels.
    picture: what the view shows where no server answers (default: a text summary of the graph).

    Opening a file that is already served returns the running view. The file is checked first: a
    file that is not ONNX raises :class:`helpers.inspect.NotAnOnnxModelError` and starts nothing.

    >>> view = open_in_netron("model.onnx")   # doctest: +SKIP
    >>> view.url                               # doctest: +SKIP
    'http://127.0.0.1:40213/'
    """
    path = _check_onnx_file(model)
    existing = _VIEWS.get(str(path))
    if existing is not None and existing.alive and (port in (None, existing.port)):
        existing.height = height
        existing.picture = picture or existing.picture
        return existing
    if existing is not None:
        existing.stop()
    import logging

    import netron

    # netron.serve calls logging.basicConfig(level=INFO) when the root logger has no handler, which would
    # make every library's INFO messages print in this kernel from then on: give it one for the call.
    root, guard = logging.getLogger(), logging.NullHandler()
    added = not root.hasHandlers()
    if added:
        root.addHandler(guard)
    try:
        address = netron.start(str(path), (host, port or 0), browse=False)
    finally:
        if added:
            root.removeHandler(guard)
    _isolate_handler(address)
    view = NetronView(path, address[0], int(address[1]), height, picture)
    _VIEWS[str(path)] = view
    return view


def running_views() -> list[NetronView]:
    """The Netron servers this kernel started that are still running."""
    return [v for v in _VIEWS.values() if v.alive]


def stop_netron(view: NetronView | str | os.PathLike[str] | None = None) -> int:
    """Stop one Netron server (a view, or the model path it serves), or all of them; returns how many."""
    if view is None:
        targets = list(_VIEWS.values())
    elif isinstance(view, NetronView):
        targets = [view]
    else:
        found = _VIEWS.get(str(Path(view).expanduser().resolve()))
        targets = [found] if found else []
    for target in targets:
        target.stop()
    return len(targets)


atexit.register(stop_netron)  # the kernel ends: stop every server it started


def close_browser_thread(owner: Any) -> None:
    """Close a browser driven from a worker thread: ``owner._browser`` and ``owner._playwright`` are closed in
    ``owner._pool``'s thread (playwright objects belong to the thread that made them), then the pool stops.
    Safe to call twice. Used by :class:`NetronRenderer` and :class:`helpers.web.PageDriver`."""
    if owner._pool is None:
        return

    def shutdown() -> None:
        try:
            if owner._browser is not None:
                owner._browser.close()
        finally:
            if owner._playwright is not None:
                owner._playwright.stop()
            owner._browser = owner._playwright = None

    try:
        owner._pool.submit(shutdown).result()
    finally:
        owner._pool.shutdown()
        owner._pool = None


def find_chromium() -> str | None:
    """The path of a Chromium executable (``CHROMIUM`` env, then PATH, then the usual places), or None."""
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                      *_CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


class _SvgText(HTMLParser):
    """Collect the text of ``<text>`` elements inside ``<svg id="canvas">`` (what Netron drew)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # > 0 inside the canvas svg
        self.in_text = False
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "svg" and (self.depth or dict(attrs).get("id") == "canvas"):
            self.depth += 1
        elif tag == "text" and self.depth:
            self.in_text = True
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg" and self.depth:
            self.depth -= 1
        elif tag == "text":
            self.in_text = False

    def handle_data(self, data: str) -> None:
        if self.in_text:
            self.texts[-1] += data


def _today_index(body: str) -> str:
    """Stamp Netron's page with today's date: past 180 days old, it only asks to be updated."""
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    import re

    return re.sub(r'<meta name="date" content="[^"]*">', f'<meta name="date" content="{now}">', body)


class NetronRenderer:
    """A headless Chromium that draws Netron views to PNG, kept open for several pictures.

    Starting the browser takes a few seconds, so a notebook that draws several graphs makes one
    renderer and closes it at the end (or uses it as a context manager):

    >>> with NetronRenderer() as renderer:                          # doctest: +SKIP
    ...     picture = renderer.draw("model.onnx", names=True)       # a GraphPicture

    chromium: the browser executable (default :func:`find_chromium`).
    prelaunch: start the browser right away, in the background (the first picture is then quicker).
    The browser runs in a worker thread of its own: playwright's sync API refuses to run inside an
    asyncio loop, and a Jupyter kernel has one.
    """

    def __init__(self, chromium: str | None = None, prelaunch: bool = True) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.chromium = chromium or find_chromium()
        self._pool: Any = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netron-render")
        self._playwright: Any = None
        self._browser: Any = None
        if prelaunch and self.chromium:  # start the browser now, while the notebook does other work
            self._pool.submit(self._prelaunch)

    def _prelaunch(self) -> None:  # runs in the worker thread; a failure is reported by the first render
        import contextlib

        with contextlib.suppress(Exception):  # the first render launches again and raises a clear error
            self._launch()

    def __enter__(self) -> NetronRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _launch(self) -> Any:  # runs in the worker thread
        if self._browser is not None:
            return self._browser
        if self.chromium is None:
            raise BrowserUnavailableError(
                "No Chromium found. Install it (Debian: `apt-get install chromium`; the workbook lists it in "
                "requirements/apt.txt, so `bash scripts/setup.sh` as root does it) or set CHROMIUM=/path/to/chrome."
            )
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as err:
            raise BrowserUnavailableError("The playwright package is missing: pip install playwright.") from err
        if self._playwright is None:
            self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=self.chromium, args=list(CHROMIUM_ARGS), headless=True)
        return self._browser

    def _render(self, paths: list[Path], targets: list[Path], settings: dict[str, Any], width: int, height: int,
                timeout: float) -> list[GraphPicture]:  # runs in the worker thread
        from playwright.sync_api import Error as PlaywrightError

        try:
            browser = self._launch()
            return [self._render_one(browser, p, t, settings, width, height, timeout) for p, t in zip(paths, targets)]
        except PlaywrightError as err:
            raise BrowserUnavailableError(
                f"Chromium could not render the Netron view: {str(err).strip().splitlines()[0]}") from err

    @staticmethod
    def _render_one(browser: Any, path: Path, target: Path, settings: dict[str, Any], width: int, height: int,
                    timeout: float) -> GraphPicture:
        def route(r: Any) -> None:
            parsed = urlparse(r.request.url)
            if parsed.hostname not in _LOOPBACK:
                r.abort()
            elif parsed.path in ("/", "/index.html"):
                response = r.fetch()
                r.fulfill(response=response, body=_today_index(response.text()))
            else:
                r.continue_()

        start = time.perf_counter()
        own = str(path) not in _VIEWS or not _VIEWS[str(path)].alive
        view = open_in_netron(path)
        origin = f"http://{view.host}:{view.port}"
        state = {
            "cookies": [{"name": "consent", "value": str(int(time.time() * 1000)), "url": origin}],
            "origins": [{"origin": origin, "localStorage": [{"name": "options", "value": json.dumps(settings)}]}],
        }
        context = browser.new_context(viewport={"width": width, "height": height}, storage_state=state)
        try:
            context.route("**/*", route)
            page = context.new_page()
            page.goto(view.url, timeout=timeout * 1000)
            page.wait_for_selector("#canvas .graph-node, #canvas .graph-input", state="attached", timeout=timeout * 1000)
            page.wait_for_selector("body.default", state="attached", timeout=timeout * 1000)
            page.wait_for_timeout(100)  # let the layout settle
            texts = [t.strip() for t in _parse_texts(page.content()) if t.strip()]
            box = page.locator("#canvas").bounding_box()
            clip = None
            if box:
                clip = {"x": max(box["x"], 0), "y": max(box["y"], 0),
                        "width": min(box["width"], width), "height": min(box["height"], height)}
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target), clip=clip)
        finally:
            context.close()
            if own:
                view.stop()
        return GraphPicture(target, texts=texts, seconds=time.perf_counter() - start)

    def draw(self, model: str | os.PathLike[str], png_path: str | os.PathLike[str] | None = None,
             **options: Any) -> GraphPicture:
        """A picture of the graph: the PNG, or the reason and a text summary where no browser could draw it.

        options: as for :meth:`draw_many`.
        """
        return self.draw_many([model], [png_path] if png_path else None, **options)[0]

    def draw_many(
        self,
        models: list[str | os.PathLike[str]],
        png_paths: list[str | os.PathLike[str]] | None = None,
        *,
        width: int = 1000,
        height: int = 1400,
        names: bool = False,
        attributes: bool = False,
        horizontal: bool = False,
        timeout: float = 60.0,
    ) -> list[GraphPicture]:
        """Draw the Netron view of each model to a PNG (one browser for all); text summaries if it cannot.

        png_paths: where to write them (default ``build/screenshots/<model>.png``).
        width, height: the browser window in pixels; each PNG is the drawn graph, cropped to it.
        names: label nodes with their names instead of their operator types (Netron's "Show Names").
        attributes: list each node's attributes in its box (Netron's "Show Attributes").
        horizontal: lay the graph out left to right.
        timeout: seconds to wait for each graph.

        Every request that is not to 127.0.0.1 is blocked (Netron's usage telemetry included). Never
        fails for a missing or broken browser; a model file that is not ONNX raises NotAnOnnxModelError.
        """
        from helpers.paths import build_dir

        paths = [_check_onnx_file(m) for m in models]
        if png_paths is not None and len(png_paths) != len(paths):
            raise ValueError(f"{len(paths)} models but {len(png_paths)} PNG paths; pass one path per model.")
        targets = [Path(p) for p in png_paths] if png_paths else [build_dir("screenshots") / f"{p.stem}.png" for p in paths]
        settings: dict[str, Any] = {k: v for k, v in (("names", names), ("attributes", attributes)) if v}
        if horizontal:
            settings["direction"] = "horizontal"
        if self._pool is None:
            raise RuntimeError("This renderer is closed; make a new NetronRenderer().")
        try:
            return self._pool.submit(self._render, paths, targets, settings, width, height, timeout).result()
        except BrowserUnavailableError as err:
            return [GraphPicture(None, reason=str(err), summary=graph_text_summary(p)) for p in paths]

    def close(self) -> None:
        """Close the browser and its worker thread (safe to call twice)."""
        close_browser_thread(self)


def _parse_texts(page_html: str) -> list[str]:
    parser = _SvgText()
    parser.feed(page_html)
    return parser.texts


def graph_text_summary(model: Any, max_nodes: int = 60) -> Table:
    """The graph as a table: one row per node (name, operator, inputs, outputs), inputs and outputs noted.

    model: a path, bytes or ``ModelProto``. Shows the first ``max_nodes`` nodes.
    """
    from helpers.inspect import load_model, summarize_model

    proto = load_model(model, load_external_data=False)
    summary = summarize_model(proto)
    inits = {t.name for t in proto.graph.initializer}
    rows = []
    for i, node in enumerate(proto.graph.node[:max_nodes]):
        rows.append({
            "#": i, "name": node.name or "–", "op": node.op_type,
            "inputs": ", ".join(f"{x}*" if x in inits else x for x in node.input),
            "outputs": ", ".join(node.output),
        })
    notes = [
        f"inputs: {'; '.join(map(str, summary.inputs))}",
        f"outputs: {'; '.join(map(str, summary.outputs))}",
        "opsets: " + ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in summary.opsets.items())
        + "; * marks a weight (initializer)",
    ]
    if len(proto.graph.node) > max_nodes:
        notes.append(f"… and {len(proto.graph.node) - max_nodes} more nodes")
    return Table(rows, title=f"Graph of {summary.graph_name or 'the model'} ({len(proto.graph.node)} nodes)", notes=notes)


@dataclass
class GraphPicture:
    """A drawn graph (PNG), or, where no browser could draw it, the reason and a text summary."""

    png: Path | None
    reason: str = ""
    summary: Table | None = None
    texts: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether a PNG was produced."""
        return self.png is not None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        if self.png is not None:
            import base64

            data = self.png.read_bytes()
            return {"image/png": base64.b64encode(data).decode("ascii"), "text/plain": f"<graph {self.png.name}>"}
        text = f"**No picture of the graph:** {self.reason}\n\n" + (self.summary.to_markdown() if self.summary else "")
        return {"text/markdown": text, "text/plain": text}

    def html(self, width: int | None = None) -> str:
        """The picture as HTML: an inline ``<img>``, or the reason and the text summary in ``<pre>``."""
        import base64

        if self.png is not None:
            data = base64.b64encode(self.png.read_bytes()).decode("ascii")
            style = f' style="max-width:{width}px"' if width else ""
            return f'<img src="data:image/png;base64,{data}" alt="{html.escape(self.png.name)}"{style}>'
        return f"<pre>{html.escape(self.reason)}\n\n{html.escape(self.summary.to_text() if self.summary else '')}</pre>"


def draw_graph(model: str | os.PathLike[str], png_path: str | os.PathLike[str] | None = None, *,
               chromium: str | None = None, **options: Any) -> GraphPicture:
    """A picture of the graph in a fresh browser: the PNG, or a text summary where no browser can draw it.

    options: as for :meth:`NetronRenderer.draw_many` (``names=True``, ``attributes=True``, ...). To draw
    several graphs, keep one :class:`NetronRenderer` open instead (the browser starts once).
    """
    path = _check_onnx_file(model)
    with NetronRenderer(chromium) as renderer:
        return renderer.draw(path, png_path, **options)


def compare_graphs(models: dict[str, Any]) -> Table:
    """Side-by-side facts about several models (opset, nodes, names, weights, files): what differs at a glance.

    models: ``{label: path}``.
    """
    from helpers.inspect import load_model, summarize_model

    columns: dict[str, dict[str, Any]] = {}
    for label, path in models.items():
        proto = load_model(path, load_external_data=False)
        s = summarize_model(path)
        names = [n.name for n in proto.graph.node]
        columns[label] = {
            "opset": ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in s.opsets.items()),
            "producer": s.producer,
            "inputs": "; ".join(map(str, s.inputs)),
            "outputs": "; ".join(map(str, s.outputs)),
            "nodes": s.n_nodes,
            "operators": ", ".join(f"{k}×{v}" for k, v in sorted(s.operators.items())),
            "first node names": ", ".join(names[:3]),
            "weight names": ", ".join(t.name for t in proto.graph.initializer[:3]),
            "parameters": s.n_parameters,
            "files": f"{s.size_bytes / 1024:.1f} KiB" + (
                f" + {s.external_data_bytes / 1024:.1f} KiB external data" if s.external_data_bytes else ""),
            "metadata entries": len(proto.metadata_props) + sum(len(v.metadata_props) for v in proto.graph.input),
        }
    facts = list(next(iter(columns.values()))) if columns else []
    rows = [{"": fact, **{label: col[fact] for label, col in columns.items()}} for fact in facts]
    return Table(rows, ["", *columns], title="The graphs compared")


@dataclass
class Gallery:
    """Several graph pictures in a row, each with a title (falls back to text where a PNG is missing)."""

    pictures: dict[str, GraphPicture]
    width: int = 320

    def _repr_html_(self) -> str:
        cells = []
        for title, pic in self.pictures.items():
            body = pic.html(self.width)
            cells.append(f'<div style="margin-right:16px"><b>{html.escape(title)}</b><br>{body}</div>')
        return f'<div style="display:flex;align-items:flex-start">{"".join(cells)}</div>'
