"""make book: the executed workbook as a static site, every page opened in headless Chromium.

The book is built from a real quick run (the runner's own command, `--quick 00 01`, into a temporary build
folder, as `make workbook` fills build/), plus a stand-in benchmark report with its plot. The browser check
(workbook.book.check_site, driven by helpers.processes' Browser on a 127.0.0.1 server) must find nothing wrong
on the real site, and must report each fault injected into a copy: a CDN script and font, a picture from
another server on 127.0.0.1, a broken link, a missing anchor, a missing image, a console error, and a search
that finds nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers.paths import repo_root
from helpers.processes import find_chromium
from workbook import book

pytestmark = [pytest.mark.timeout(600), pytest.mark.xdist_group("book")]  # one worker builds the quick book once

QUICK = ("00", "01")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> Path:
    """A build folder as `make workbook NOTEBOOKS="--quick 00 01"` leaves it, plus a benchmark report and plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers.report import Table
    from workbook import runner

    build = tmp_path_factory.mktemp("book") / "build"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONNX_WORKBOOK_BUILD", str(build))
        assert runner.main(["--quick", "--no-html", *QUICK]) == 0, "the quick run of 00 and 01 failed"
    reports = build / "reports"
    table = Table([{"case": "stand-in", "runtime": "onnxruntime", "median ms": 1.0}], title="A stand-in benchmark")
    (reports / "benchmark.md").write_text(f"# Benchmark\n\n{table.to_markdown()}\n", encoding="utf-8")
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(["ort"], [1.0])
    fig.savefig(reports / "benchmark.png")
    plt.close(fig)
    return build


@pytest.fixture(scope="module")
def quick_book(quick_run, tmp_path_factory) -> book.BookBuild:
    if find_chromium() is None:
        pytest.fail("No Chromium: apt-get install chromium (requirements/apt.txt lists it).", pytrace=False)
    return book.build_book(quick_run, tmp_path_factory.mktemp("site"))


def test_the_book_of_a_quick_run_has_every_part_and_opens_cleanly_in_chromium(quick_book):
    statuses = quick_book.notebooks
    assert {s for n, s in statuses.items() if n[:2] in QUICK} == {"quick"}, statuses
    assert {s for n, s in statuses.items() if n[:2] not in QUICK} == {"not run"}, statuses
    html = quick_book.html
    for page in ("index", "environment", "reports/parity", "reports/benchmark", "reports/workbook-run",
                 "workshop/README", "notebooks/00_start_here", "notebooks/50_capstone"):
        assert (html / f"{page}.html").is_file(), f"{page}.html missing; pages: {quick_book.pages}"
    index = (html / "index.html").read_text(encoding="utf-8")
    for part in ("Basics (0x)", "Export (1x)", "Visualize (2x)", "Inference (3x)", "Deploy (4x)", "Capstone (5x)"):
        assert part in index, f"the table of contents lacks the part {part!r}"
    assert "quick mode" in (html / "notebooks/01_onnx_basics.html").read_text(encoding="utf-8")
    assert "did not execute" in (html / "notebooks/10_export_pytorch.html").read_text(encoding="utf-8")
    assert "benchmark.png" in (html / "reports/benchmark.html").read_text(encoding="utf-8")
    environment = (html / "environment.html").read_text(encoding="utf-8")
    assert "Recorded by the runner" in environment and "onnxruntime" in environment

    check = book.check_site(html, ("InferenceSession",))
    assert check.ok, check.describe()
    assert set(check.pages) == set(book.site_pages(html)) and len(check.pages) >= len(quick_book.pages)
    assert check.search_hits["InferenceSession"] >= 2, check.describe()


FAULTS = """
<script src="https://cdn.jsdelivr.net/npm/left-pad@1.3.0/index.js"></script>
<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Roboto">
<a href="no_such_page.html">gone</a> <a href="01_onnx_basics.html#no-such-anchor">no anchor</a>
<img src="../_images/no_such_picture.png" alt="missing"> <img src="http://127.0.0.1:9/netron.png" alt="a kernel's server">
<script>console.error("an injected error")</script>
"""


def test_the_check_reports_a_cdn_request_broken_links_and_image_a_console_error_and_an_empty_search(
        quick_book, tmp_path):
    site = shutil.copytree(quick_book.html, tmp_path / "html")
    page = site / "notebooks" / "00_start_here.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", FAULTS + "</body>"), encoding="utf-8")
    check = book.check_site(site, ("InferenceSession", "zqxjkvwq"),
                            pages=["notebooks/00_start_here.html", "notebooks/01_onnx_basics.html"])
    found = "\n".join(check.problems)
    for expected in ("requested https://cdn.jsdelivr.net/npm/left-pad", "requested https://fonts.googleapis.com",
                     "requested http://127.0.0.1:9/netron.png (outside the site)",
                     "broken link to notebooks/no_such_page.html", "01_onnx_basics.html#no-such-anchor (no such anchor)",
                     "broken image", "console error: an injected error", "searching 'zqxjkvwq' found nothing"):
        assert expected in found, f"{expected!r} not reported; the check said:\n{found}"
    assert all(p.startswith(("notebooks/00_start_here.html", "search.html")) for p in check.problems), found
    assert check.search_hits["InferenceSession"] >= 2


def test_without_executed_notebooks_the_book_says_to_run_make_workbook(tmp_path):
    with pytest.raises(book.BookError, match=r"No executed notebook .* Run `make workbook` first"):
        book.build_book(tmp_path / "build", tmp_path / "site")


@pytest.mark.parametrize(("stem", "part"), [("00_start_here", "Basics (0x)"), ("17_legacy", "Export (1x)"),
                                            ("20_visualize_netron", "Visualize (2x)"), ("32_q", "Inference (3x)"),
                                            ("45_spark", "Deploy (4x)"), ("50_capstone", "Capstone (5x)"),
                                            ("70_new", "Part 7 (7x)")])
def test_a_notebooks_part_comes_from_its_number(stem, part):
    assert book.part_of(stem) == part


def test_links_to_book_pages_stay_repository_files_are_copied_and_folders_lose_their_link(tmp_path):
    src = tmp_path / "src"
    stager = book._Stager(src, repo_root())
    stager.docs = {"notebooks/01_onnx_basics.ipynb", "workshop/README.md"}
    text = ("[01](01_onnx_basics.ipynb#step-1), [guide](../workshop/README.md), [score](../deploy/score.py), "
            "[solutions](../workshop/solutions/), [gone](no_such_file.py), [web](https://onnx.ai), [here](#top)")
    out = stager.relink(text, repo_root() / "notebooks", src / "notebooks")
    assert out == ("[01](01_onnx_basics.ipynb#step-1), [guide](../workshop/README.md), [score](../deploy/score.py), "
                   "solutions, gone, [web](https://onnx.ai), [here](#top)")
    assert (src / "deploy" / "score.py").read_bytes() == (repo_root() / "deploy" / "score.py").read_bytes()


def test_outputs_that_need_the_kernel_become_static():
    """A Netron view keeps its picture, an IFrame to a kernel's server becomes a note, widgets and JS go."""
    netron = {"output_type": "display_data", "metadata": {}, "data": {
        "text/html": '<object data="http://127.0.0.1:43127/" type="text/html"><img src="data:,"></object>',
        "image/png": "iVBORw0KGgo=", "text/plain": "<graph cnn.png>"}}
    iframe = {"output_type": "display_data", "metadata": {}, "data": {
        "text/html": '<iframe width="100%" src="http://localhost:8081/"></iframe>', "text/plain": "<IFrame>"}}
    widget = {"output_type": "display_data", "metadata": {}, "data": {
        "application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "  0%|"}}
    script = {"output_type": "display_data", "metadata": {}, "data": {
        "application/javascript": "fetch('https://cdn.example')", "text/plain": "<js>"}}
    table = {"output_type": "execute_result", "metadata": {}, "execution_count": 1, "data": {
        "text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "1"}}
    cell = {"cell_type": "code", "outputs": [netron, iframe, widget, script, table]}
    book._clean_outputs(cell)
    kept = [json.dumps(o["data"]) for o in cell["outputs"]]
    assert len(kept) == 4, kept
    assert "image/png" in kept[0] and "text/html" not in kept[0]
    assert "http://localhost:8081/" in kept[1] and "static page cannot show it" in kept[1] and "iframe" not in kept[1]
    assert "application/javascript" not in kept[2]
    assert "<table>" in kept[3]


def test_a_failed_notebook_is_marked_and_its_banner_links_to_the_failing_cell(tmp_path):
    """papermill's red line at the top goes (it is no title); its marker before the failed cell stays."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"parameters": {"quick": True}, "exception": True}
    top = nbformat.v4.new_markdown_cell('<span style="color:red">An Exception was encountered at '
                                        '<a href="#papermill-error-cell">In [2]</a>.</span>')
    marker = nbformat.v4.new_markdown_cell('<span id="papermill-error-cell">Execution using papermill encountered '
                                           "an exception here and stopped:</span>")
    for cell in (top, marker):
        cell.metadata["tags"] = ["papermill-error-cell-tag"]
    nb.cells = [top, nbformat.v4.new_markdown_cell("# A title\n\nText."), marker, nbformat.v4.new_code_cell("1/0")]
    executed = tmp_path / "99_broken.ipynb"
    nbformat.write(nb, executed)
    stager = book._Stager(tmp_path / "src", repo_root())
    record = {"status": "failed", "cell_index": 1, "error": "ZeroDivisionError: division by zero"}
    assert book._stage_notebook(stager, executed, executed, record) == "failed"
    staged = json.loads((tmp_path / "src" / "notebooks" / "99_broken.ipynb").read_text())
    sources = ["".join(c["source"]) for c in staged["cells"]]
    assert sources[0].startswith("# A title") and not any("An Exception was encountered" in s for s in sources)
    assert '<a href="#papermill-error-cell">in code cell 1</a>: ZeroDivisionError' in sources[1], sources[1]
    assert 'id="papermill-error-cell"' in sources[2]
