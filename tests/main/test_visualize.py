"""helpers.visualize: Netron servers that are reused, kept apart, stopped; a real browser draws the graph.

The browser test runs the served Netron page in headless Chromium (Debian's `chromium`, installed by
`scripts/setup.sh` from requirements/apt.txt) and keeps its screenshot under build/screenshots.
"""

from __future__ import annotations

import logging
import re
import socket
import urllib.request

import onnx
import pytest

from helpers import processes, visualize
from helpers.inspect import NotAnOnnxModelError
from helpers.paths import build_dir
from tests.unit.models import linear_model

NODE_NAMES = ("scale_step", "shift_step", "pick_label")


def _named_model(path, graph_name="linear"):
    model = linear_model()
    model.graph.name = graph_name
    for node, name in zip(model.graph.node, NODE_NAMES):
        node.name = name
    onnx.save(model, path)
    return path


def _draw(path, png=None, chromium=None, **options):
    with visualize.NetronRenderer(chromium, prelaunch=False) as renderer:
        return renderer.draw(path, png, **options)


def _served_file(view) -> str:
    page = urllib.request.urlopen(view.url, timeout=10).read().decode("utf-8")
    return re.search(r'<meta name="file" content="/data/([^"]+)">', page).group(1)


@pytest.fixture
def views():
    """Stops every Netron server a test left running, and proves none is left."""
    yield
    visualize.stop_netron()
    assert visualize.running_views() == []


def test_opening_the_same_file_twice_reuses_its_server(tmp_path, views, monkeypatch):
    path = _named_model(tmp_path / "a.onnx")
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # as in a fresh kernel, where netron would call basicConfig
    level = root.level
    first = visualize.open_in_netron(path)
    assert (root.level, root.handlers) == (level, []), "opening a viewer leaves the kernel's logging alone"
    second = visualize.open_in_netron(str(path))
    assert second is first and first.alive and first.host == "127.0.0.1"
    assert visualize.running_views() == [first]


def test_several_models_each_get_their_own_port_and_show_their_own_file(tmp_path, views):
    a = visualize.open_in_netron(_named_model(tmp_path / "a.onnx"))
    b = visualize.open_in_netron(_named_model(tmp_path / "b.onnx"))
    assert a.port != b.port
    assert (_served_file(a), _served_file(b)) == ("a.onnx", "b.onnx")
    assert urllib.request.urlopen(f"{b.url}data/b.onnx", timeout=10).read() == (tmp_path / "b.onnx").read_bytes()


def test_stopping_a_view_frees_its_port_and_leaves_the_others_running(tmp_path, views):
    a = visualize.open_in_netron(_named_model(tmp_path / "a.onnx"))
    b = visualize.open_in_netron(_named_model(tmp_path / "b.onnx"))
    a.stop()
    assert not a.alive and b.alive and visualize.running_views() == [b]
    with pytest.raises(OSError):
        socket.create_connection(a.address, timeout=2).close()
    assert visualize.stop_netron() == 1 and not b.alive
    reopened = visualize.open_in_netron(tmp_path / "a.onnx")  # a stopped file can be opened again
    assert reopened is not a and reopened.alive


def test_the_view_is_live_with_a_server_and_shows_its_picture_without_one(tmp_path, views):
    path = _named_model(tmp_path / "a.onnx")
    view = visualize.open_in_netron(path, height=450)
    bundle = view._repr_mimebundle_()
    live = bundle["text/html"]
    assert f'<object data="{view.url}"' in live and 'height="450"' in live
    # no picture drawn: the fallback inside the <object> is the graph as text, every node named
    fallback = live.split(">", 1)[1].rsplit("</object>", 1)[0]
    assert "<pre>" in fallback and all(name in fallback for name in NODE_NAMES)
    assert view.iframe(proxy_base="/").src == f"/proxy/{view.port}/"
    png = tmp_path / "a.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 16)
    view = visualize.open_in_netron(path, picture=visualize.GraphPicture(png))  # the running server, reused
    bundle = view._repr_mimebundle_()
    assert "image/png" in bundle and '<img src="data:image/png;base64,' in bundle["text/html"]


def _record_displays(monkeypatch):
    """What a notebook would show: IPython's display and update_display, recorded by display id."""
    import IPython.display

    shown = {}
    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw, display_id: shown.__setitem__(display_id, bundle))
    monkeypatch.setattr(IPython.display, "update_display",
                        lambda bundle, raw, display_id: shown.__setitem__(display_id, bundle))
    return shown


def test_stopping_a_displayed_view_puts_its_picture_in_its_place(tmp_path, views, monkeypatch):
    shown = _record_displays(monkeypatch)
    png = tmp_path / "a.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 16)
    view = visualize.open_in_netron(_named_model(tmp_path / "a.onnx"), picture=visualize.GraphPicture(png))
    view._ipython_display_()  # what a notebook cell ending in `view` does
    view._ipython_display_()  # shown twice: both places change
    assert len(shown) == 2 and all(b["text/html"].startswith(f'<object data="{view.url}"') for b in shown.values())
    view.stop()
    for bundle in shown.values():
        assert "<object" not in bundle["text/html"] and view.url not in bundle["text/html"]
        assert '<img src="data:image/png;base64,' in bundle["text/html"] and "viewer stopped" in bundle["text/html"]


def test_a_running_view_stays_live_where_it_is_shown(tmp_path, views, monkeypatch):
    shown = _record_displays(monkeypatch)
    view = visualize.open_in_netron(_named_model(tmp_path / "a.onnx"))
    view._ipython_display_()
    other = visualize.open_in_netron(_named_model(tmp_path / "b.onnx"))
    other.stop()  # another view's stop leaves this display alone
    (bundle,) = shown.values()
    assert bundle["text/html"].startswith(f'<object data="{view.url}"') and view.alive


@pytest.mark.parametrize("content", [b"", b"definitely not a protobuf \xff\xfe" * 10, "truncated"])
def test_a_file_that_is_not_onnx_is_refused_before_any_server_starts(tmp_path, views, content):
    path = tmp_path / "bad.onnx"
    if content == "truncated":
        good = _named_model(tmp_path / "good.onnx").read_bytes()
        content = good[: len(good) // 2]
    path.write_bytes(content)
    with pytest.raises(NotAnOnnxModelError, match="bad.onnx"):
        visualize.open_in_netron(path)
    with pytest.raises(NotAnOnnxModelError):
        _draw(path)
    assert visualize.running_views() == []


def test_a_missing_browser_falls_back_to_a_text_summary(tmp_path, views, monkeypatch):
    path = _named_model(tmp_path / "a.onnx")
    monkeypatch.setattr(processes, "find_chromium", lambda: None)
    picture = _draw(path)
    assert not picture.ok and "No Chromium found" in picture.reason
    bundle = picture._repr_mimebundle_()
    assert "image/png" not in bundle and all(name in bundle["text/markdown"] for name in NODE_NAMES)
    assert visualize.running_views() == []


def test_netron_draws_the_models_node_names_in_a_real_browser(tmp_path, views):
    if processes.find_chromium() is None:
        pytest.fail("Chromium is missing: run `bash scripts/setup.sh` as root (requirements/apt.txt lists it).")
    path = _named_model(tmp_path / "named.onnx", graph_name="browser_test")
    shot = build_dir("screenshots") / "test_visualize_named.png"
    shot.unlink(missing_ok=True)
    result = _draw(path, shot, names=True)
    assert result.ok, result.reason
    for name in NODE_NAMES:
        assert name in result.texts, f"{name} not drawn; Netron drew {result.texts}"
    assert {"x", "scores", "label"} <= set(result.texts)  # the graph's inputs and outputs
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 2000
    assert visualize.running_views() == [], "a server started only for the picture is stopped"


def test_a_browser_that_fails_to_start_falls_back_to_a_text_summary(tmp_path, views):
    picture = _draw(_named_model(tmp_path / "a.onnx"), chromium="/bin/false")
    assert not picture.ok and picture.reason.startswith("Chromium could not render the Netron view")
    assert all(f"[{name}]" in picture.summary for name in NODE_NAMES)
    assert visualize.running_views() == []


def test_a_browser_shows_the_live_viewer_while_the_server_runs_and_the_picture_after(tmp_path, views):
    """What an HTML render of notebook 20 shows: the viewer while its server answers, the PNG once it is gone."""
    if processes.find_chromium() is None:
        pytest.fail("Chromium is missing: run `bash scripts/setup.sh` as root (requirements/apt.txt lists it).")
    from playwright.sync_api import sync_playwright

    path = _named_model(tmp_path / "a.onnx")
    picture = _draw(path, tmp_path / "a.png")
    assert picture.ok, picture.reason
    view = visualize.open_in_netron(path, picture=picture)
    page_file = tmp_path / "render.html"
    page_file.write_text(f"<html><body>{view._repr_mimebundle_()['text/html']}</body></html>", encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=processes.find_chromium(), args=list(processes.CHROMIUM_ARGS))
        try:
            shown = {}
            for state in ("live", "stopped"):
                if state == "stopped":
                    view.stop()
                page = browser.new_page()
                page.route("**/*", lambda r: r.abort() if "127.0.0.1" not in r.request.url
                           and not r.request.url.startswith(("file:", "data:")) else r.continue_())
                page.goto(page_file.as_uri())
                page.wait_for_load_state("load")
                shown[state] = page.locator("object img").is_visible()
                page.close()
        finally:
            browser.close()
    assert shown == {"live": False, "stopped": True}, shown
