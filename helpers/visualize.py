"""Netron in a notebook (notebooks/20_visualize_netron.ipynb): one server per model, reused and stopped at exit,
shown live with its picture as fallback; the picture a PNG drawn by headless Chromium, or the graph as text.

Example::

    with NetronRenderer() as renderer:
        view = open_in_netron("model.onnx", picture=renderer.draw("model.onnx", names=True))
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import html
import json
import logging
import os
import re
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from helpers.processes import LOOPBACK, Browser, BrowserUnavailableError

_VIEWS: dict[str, NetronView] = {}  # the servers this kernel started, by resolved model path


@dataclass
class GraphPicture:
    """A drawn graph (PNG), or, where no browser could draw it, the reason and the graph as ONNX text."""

    png: Path | None
    reason: str = ""
    summary: str | None = None
    texts: list[str] = field(default_factory=list)  # the labels Netron drew

    @property
    def ok(self) -> bool:
        """Whether a PNG was drawn."""
        return self.png is not None

    def _base64(self) -> str:
        return base64.b64encode(self.png.read_bytes()).decode("ascii")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        if self.png is not None:
            return {"image/png": self._base64(), "text/plain": f"<graph {self.png.name}>"}
        text = f"**No picture of the graph:** {self.reason}\n\n```\n{self.summary or ''}\n```"
        return {"text/markdown": text, "text/plain": text}

    def html(self, width: int | None = None) -> str:
        """The picture as an inline ``<img>``, or the reason and the graph as text in ``<pre>``."""
        if self.png is None:
            return f"<pre>{html.escape(self.reason)}\n\n{html.escape(self.summary or '')}</pre>"
        style = f' style="max-width:{width}px"' if width else ""
        return f'<img src="data:image/png;base64,{self._base64()}" alt="{html.escape(self.png.name)}"{style}>'


def _graph_text(path: Path) -> str:
    """The graph in ONNX's text syntax (``onnx.printer``), without the weights' values, cut at 80 lines."""
    import onnx.printer

    from helpers.inspect import load_model

    graph = load_model(path, load_external_data=False).graph
    del graph.initializer[:]
    lines = onnx.printer.to_text(graph).splitlines()
    if len(lines) > 80:
        lines = [*lines[:80], f"... and {len(lines) - 80} more lines"]
    return "\n".join(lines)


def _drawn_texts(page_html: str) -> list[str]:
    """The labels of the ``<text>`` elements Netron drew in ``<svg id="canvas">`` (its page refuses eval)."""
    canvas = page_html.split('id="canvas"', 1)[-1]
    texts = [html.unescape(re.sub(r"<[^>]+>", "", t)).strip()
             for t in re.findall(r"<text\b[^>]*>(.*?)</text>", canvas, flags=re.S)]
    return [t for t in texts if t]


@dataclass
class NetronView:
    """A Netron server for one model, shown as an ``<object>`` loading the viewer with its picture inside: a browser
    shows the picture where the server does not answer; :meth:`stop` puts the picture in place of every display."""

    path: Path
    host: str
    port: int
    height: int = 600
    picture: GraphPicture | None = None
    _display_ids: list[str] = field(default_factory=list, repr=False)

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
        """Stop this server, wait (up to ``timeout`` s) for its thread to end, show the picture in its place."""
        import netron

        netron.stop(self.address)
        deadline = time.monotonic() + timeout
        while self.alive and time.monotonic() < deadline:
            time.sleep(0.05)
        if _VIEWS.get(str(self.path)) is self:
            del _VIEWS[str(self.path)]
        try:
            from IPython.display import update_display

            for display_id in self._display_ids:
                update_display(self._bundle(live=False), display_id=display_id, raw=True)
        except Exception as err:  # at interpreter exit IPython may be gone
            warnings.warn(f"Could not replace the stopped Netron viewer by its picture: {err}", RuntimeWarning,
                          stacklevel=2)
        self._display_ids.clear()

    def _bundle(self, live: bool) -> dict[str, Any]:
        picture = self.picture or GraphPicture(None, reason="no picture drawn", summary=_graph_text(self.path))
        name = html.escape(self.path.name)
        if live:
            body = (f'<object data="{self.url}" type="text/html" width="100%" height="{self.height}" '
                    f'style="border:1px solid #ddd">{picture.html()}</object><p style="font-size:small">Netron: '
                    f'<code>{name}</code> at <a href="{self.url}" target="_blank">{self.url}</a> (live while its '
                    "kernel runs; without it, the picture above)</p>")
        else:
            body = (f'{picture.html()}<p style="font-size:small">Netron: <code>{name}</code>, its viewer stopped; '
                    "the picture of the graph in its place</p>")
        return {**picture._repr_mimebundle_(), "text/html": body}

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return self._bundle(live=True)

    def _ipython_display_(self) -> None:
        """Show the live view under a display id of its own, where :meth:`stop` puts the picture."""
        from IPython.display import display

        self._display_ids.append(uuid.uuid4().hex)
        display(self._bundle(live=True), raw=True, display_id=self._display_ids[-1])

    def iframe(self, height: int | None = None, proxy_base: str | None = None) -> Any:
        """The viewer as an ``IFrame``; proxy_base ``"/"`` reaches it through jupyter-server-proxy's ``/proxy/<port>/``."""
        from IPython.display import IFrame

        src = f"{proxy_base.rstrip('/')}/proxy/{self.port}/" if proxy_base is not None else self.url
        return IFrame(src, width="100%", height=height or self.height)

    def __str__(self) -> str:
        return f"Netron serving {self.path.name} at {self.url} ({'running' if self.alive else 'stopped'})"


def _check_onnx_file(model: str | os.PathLike[str]) -> Path:
    """The resolved path of ``model``; raises NotAnOnnxModelError unless it parses as ONNX."""
    from helpers.inspect import load_model

    path = Path(model).expanduser().resolve()
    load_model(path, load_external_data=False)
    return path


def open_in_netron(model: str | os.PathLike[str], *, height: int = 600,
                   picture: GraphPicture | None = None) -> NetronView:
    """Serve ``model`` in Netron on 127.0.0.1 (its running view if already served) and return the view.

    picture: what the view shows where no server answers (default: the graph as text). A file that is not ONNX
    raises :class:`helpers.inspect.NotAnOnnxModelError` and starts nothing.
    """
    path = _check_onnx_file(model)
    existing = _VIEWS.get(str(path))
    if existing is not None and existing.alive:
        existing.height = height
        existing.picture = picture or existing.picture
        return existing
    import netron
    from netron import server

    # netron calls logging.basicConfig(level=INFO) when the root logger has no handler: give it one meanwhile
    root, guard = logging.getLogger(), logging.NullHandler()
    root.addHandler(guard)
    try:
        address = netron.start(str(path), (LOOPBACK, 0), browse=False)
    finally:
        root.removeHandler(guard)
    for thread in server._threads(address):  # netron keeps the served file on a handler class all servers share
        handler = thread.server.RequestHandlerClass
        thread.server.RequestHandlerClass = type(f"NetronHandler{address[1]}", (handler,), {"content": handler.content})
    _VIEWS[str(path)] = NetronView(path, address[0], int(address[1]), height, picture)
    return _VIEWS[str(path)]


def running_views() -> list[NetronView]:
    """The Netron servers this kernel started that still run."""
    return [v for v in _VIEWS.values() if v.alive]


def stop_netron() -> int:
    """Stop every Netron server this kernel started (``view.stop()`` stops one); returns how many."""
    views = list(_VIEWS.values())
    for view in views:
        view.stop()
    return len(views)


atexit.register(stop_netron)


class NetronRenderer(Browser):
    """A headless Chromium that draws Netron views to PNG (Netron's telemetry blocked); keep one for several."""

    def __init__(self, chromium: str | None = None, prelaunch: bool = True) -> None:
        super().__init__(chromium, prelaunch=prelaunch)

    def _route(self, route: Any) -> None:
        url = urlparse(route.request.url)
        if url.hostname != LOOPBACK or url.path not in ("/", "/index.html"):
            super()._route(route)
            return
        response = route.fetch()  # stamp Netron's page with today's date: past 180 days it asks to be updated
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        route.fulfill(response=response, body=re.sub(r'<meta name="date" content="[^"]*">',
                                                     f'<meta name="date" content="{now}">', response.text()))

    def _render(self, path: Path, target: Path, settings: dict[str, Any], width: int, height: int,
                timeout: float) -> GraphPicture:  # in the browser's thread
        self.launch()  # before any server starts: a browser that cannot start leaves none running
        own = str(path) not in _VIEWS or not _VIEWS[str(path)].alive
        view = open_in_netron(path)
        origin = view.url.rstrip("/")
        state = {"cookies": [{"name": "consent", "value": str(int(time.time() * 1000)), "url": origin}],
                 "origins": [{"origin": origin, "localStorage": [{"name": "options", "value": json.dumps(settings)}]}]}
        context = self.new_context(viewport={"width": width, "height": height}, storage_state=state)
        try:
            page = context.new_page()
            page.goto(view.url, timeout=timeout * 1000)
            for selector in ("#canvas .graph-node, #canvas .graph-input", "body.default"):
                page.wait_for_selector(selector, state="attached", timeout=timeout * 1000)
            page.wait_for_timeout(100)  # let the layout settle
            texts = _drawn_texts(page.content())
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
        return GraphPicture(target, texts=texts)

    def draw(self, model: str | os.PathLike[str], png_path: str | os.PathLike[str] | None = None,
             **options: Any) -> GraphPicture:
        """A picture of the graph (options as for :meth:`draw_many`)."""
        return self.draw_many([model], [png_path] if png_path else None, **options)[0]

    def draw_many(self, models: list[str | os.PathLike[str]], png_paths: list[str | os.PathLike[str]] | None = None,
                  *, width: int = 1000, height: int = 1400, names: bool = False, attributes: bool = False,
                  horizontal: bool = False, timeout: float = 60.0) -> list[GraphPicture]:
        """Draw each model's Netron view to a PNG (default ``build/screenshots/<model>.png``), or its text if none can.

        width, height: the browser window in pixels; each PNG is the drawn graph, cropped to it.
        names, attributes, horizontal: Netron's "Show Names", "Show Attributes", and a left-to-right layout.
        """
        from helpers.paths import build_dir

        paths = [_check_onnx_file(m) for m in models]  # a file that is not ONNX starts nothing, not even playwright
        from playwright.sync_api import Error as PlaywrightError

        if png_paths is not None and len(png_paths) != len(paths):
            raise ValueError(f"{len(paths)} models but {len(png_paths)} PNG paths; pass one path per model.")
        targets = [Path(p) for p in png_paths] if png_paths else [build_dir("screenshots") / f"{p.stem}.png" for p in paths]
        settings = {"names": names, "attributes": attributes, "direction": "horizontal" if horizontal else None}
        settings = {k: v for k, v in settings.items() if v}
        try:
            return self.submit(lambda: [self._render(p, t, settings, width, height, timeout) for p, t in zip(paths, targets)])
        except BrowserUnavailableError as err:
            reason = str(err)
        except PlaywrightError as err:
            reason = f"Chromium could not render the Netron view: {str(err).splitlines()[0]}"
        return [GraphPicture(None, reason=reason, summary=_graph_text(p)) for p in paths]


@dataclass
class Gallery:
    """Graph pictures in a row, each with its title (the text fallback where a PNG is missing)."""

    pictures: dict[str, GraphPicture]
    width: int = 320

    def _repr_html_(self) -> str:
        cells = "".join(f'<div style="margin-right:16px"><b>{html.escape(title)}</b><br>{pic.html(self.width)}</div>'
                        for title, pic in self.pictures.items())
        return f'<div style="display:flex;align-items:flex-start">{cells}</div>'
