"""workbook.runner.render_html: an HTML render opens offline, from its own file, and shows no dead viewer.

In tests/main: nbconvert lives in the main environment only."""

from __future__ import annotations

from html.parser import HTMLParser

import nbformat

from workbook.runner import render_html

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


class _References(HTMLParser):
    """Every URL a page loads by itself: <script src>, <link href>, <iframe src>, <object data>, <img src>."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        wanted = {"script": "src", "link": "href", "iframe": "src", "object": "data", "img": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append((tag, value))


def _small_notebook(path, netron_port=43127, iframe_port=43128):
    nb = nbformat.v4.new_notebook()
    view = (f'<object data="http://127.0.0.1:{netron_port}/" type="text/html" width="100%" height="300">'
            f'<img src="data:image/png;base64,{PNG}" alt="the graph"></object><p>Netron: model.onnx</p>')
    iframe = (f'\n<iframe\n    width="100%"\n    height="300"\n    src="http://127.0.0.1:{iframe_port}/"\n'
              '    frameborder="0"\n    allowfullscreen\n    \n></iframe>\n')
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A render\n\nSome *text*, a formula-free page."),
        nbformat.v4.new_code_cell("view", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/html": view, "text/plain": "NetronView"})]),
        nbformat.v4.new_code_cell("IFrame(...)", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/html": iframe, "text/plain": "IFrame"})]),
        nbformat.v4.new_code_cell("print(1)", outputs=[nbformat.v4.new_output("stream", name="stdout", text="1\n")]),
    ]
    nbformat.write(nb, path)
    return path


def test_a_render_loads_nothing_from_the_internet_and_no_dead_viewer(tmp_path):
    page = render_html(_small_notebook(tmp_path / "small.ipynb"), tmp_path / "html").read_text(encoding="utf-8")
    references = _References()
    references.feed(page)
    remote = [(tag, url) for tag, url in references.urls if url.startswith(("http://", "https://", "//"))]
    assert remote == [], remote  # no CDN (require.js, MathJax, widgets), no 127.0.0.1 server of a gone kernel
    assert ("img", f"data:image/png;base64,{PNG}") in references.urls, "the viewer's picture takes its place"
    assert "A live viewer was here" in page and "Some <em>text</em>" in page


def test_the_default_nbconvert_render_does_load_from_a_cdn(tmp_path):
    """The failing case: nbconvert's own lab template fetches require.js and MathJax from cdnjs."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(_small_notebook(tmp_path / "s.ipynb"), as_version=4))
    references = _References()
    references.feed(body)
    assert any(url.startswith("https://cdnjs") for _, url in references.urls)
    assert ("object", "http://127.0.0.1:43127/") in references.urls
