"""JupyterLab as attendees use it: served on 127.0.0.1, driven in headless Chromium.

One server (workbook.lab.running_lab, what `make lab` starts) over a temporary folder with
notebook 00 and one tiny notebook per workbook kernel. The browser sees the launcher list every kernel by
its display name, opens notebook 00, and runs a cell in each kernel until its output shows; screenshots go
to build/screenshots. After the server stops, no process of it (or of its kernels) is left.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path

import nbformat
import pytest

from helpers.paths import build_dir, repo_root
from helpers.processes import CHROMIUM_ARGS, find_chromium
from workbook.lab import LabServer, LabStartError, running_lab

REQUIRED_KERNELS = ("onnx-workbook-main", "onnx-workbook-legacy")  # onnx-workbook-mlnet joins when installed
WAIT_MS = 120_000  # a kernel's first start on a busy 2-core machine


def _kernel_notebook(path: Path, name: str, display: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": name, "display_name": display, "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell('import sys\nprint("ran in", sys.executable)')]
    nbformat.write(nb, path)


def _workbook_kernels(lab: LabServer) -> dict[str, str]:
    specs = lab.kernelspecs()
    missing = [name for name in REQUIRED_KERNELS if name not in specs]
    assert not missing, f"kernels not registered with JupyterLab: {missing} (run `make setup`); found {sorted(specs)}"
    return {name: display for name, display in specs.items() if name.startswith("onnx-workbook-")}


def _launcher_lists(page, kernels: dict[str, str], lab: LabServer) -> None:
    page.goto(lab.url_for("lab", reset=True))
    page.locator(".jp-Launcher").wait_for()
    shown = page.locator(".jp-Launcher-section").filter(has_text="Notebook").locator(".jp-LauncherCard")
    shown.first.wait_for()
    titles = {card.get_attribute("title") or "" for card in shown.all()}
    labels = {card.locator(".jp-LauncherCard-label").inner_text().strip() for card in shown.all()}
    for name, display in kernels.items():
        assert display in titles | labels, f"{name} ({display!r}) missing from the launcher: {sorted(labels)}"
    page.screenshot(path=str(build_dir("screenshots") / "lab_launcher.png"))


def _notebook_00_opens(page, lab: LabServer) -> None:
    title = json.loads((lab.notebook_dir / "00_start_here.ipynb").read_text())["cells"][0]["source"]
    heading = "".join(title).splitlines()[0].lstrip("# ").strip()
    page.goto(lab.url_for("lab/tree/00_start_here.ipynb", reset=True))
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    page.locator(".jp-RenderedMarkdown h1").filter(has_text=heading).first.wait_for()
    page.screenshot(path=str(build_dir("screenshots") / "lab_notebook_00.png"))


def _cell_runs(page, lab: LabServer, name: str, display: str) -> None:
    spec = lab.api(f"api/kernelspecs/{name}")["spec"]
    notebook = f"kernel_{name}.ipynb"
    _kernel_notebook(lab.notebook_dir / notebook, name, display)
    page.goto(lab.url_for(f"lab/tree/{notebook}", reset=True))
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")  # the open tab, not one restored behind it
    # the front end shows "<display name> | Idle" once the kernel is up: a cell sent earlier can be lost
    page.locator("#jp-main-statusbar").filter(has_text=re.compile(re.escape(display) + r"\s*\|\s*Idle")).wait_for()
    cell = panel.locator(".jp-CodeCell").first
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    output = cell.locator(".jp-OutputArea-output").filter(has_text="ran in")
    try:
        output.wait_for()
    finally:
        page.screenshot(path=str(build_dir("screenshots") / f"lab_{name}.png"))
    ran_in = output.inner_text().split("ran in", 1)[1].strip()
    assert ran_in == spec["argv"][0], f"{display}: the cell ran in {ran_in}, not in the kernel's {spec['argv'][0]}"


def test_jupyterlab_lists_every_kernel_opens_notebook_00_runs_a_cell_in_each_kernel_and_stops_clean(tmp_path):
    """One server and one browser for every step (starting them is the slow part)."""
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("No Chromium: apt-get install chromium (requirements/apt.txt lists it).", pytrace=False)
    from playwright.sync_api import sync_playwright

    shutil.copy(repo_root() / "notebooks" / "00_start_here.ipynb", tmp_path)
    with running_lab(tmp_path, startup_timeout=120) as lab, sync_playwright() as pw:
        kernels = _workbook_kernels(lab)
        browser = pw.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(WAIT_MS)
            _launcher_lists(page, kernels, lab)
            _notebook_00_opens(page, lab)
            for name, display in sorted(kernels.items()):
                _cell_runs(page, lab, name, display)
            # the leftover check below sees processes when there are some: the server and its kernels
            assert len(lab.leftover_processes()) >= 1 + len(kernels), lab.leftover_processes()
        finally:
            browser.close()
    assert not lab.alive, "the server process ended"
    assert lab.leftover_processes() == [], "no kernel or helper process of the server is left"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", lab.port), timeout=2).close()


def test_a_lab_that_cannot_start_says_why(tmp_path):
    """The start-up wait is bounded and explains itself (here: the port is taken)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(LabStartError, match="is port .* in use"), running_lab(
                tmp_path, port=taken.getsockname()[1], startup_timeout=60):
            pass


def test_the_lab_never_asks_about_jupyter_news(tmp_path):
    """JupyterLab asks "Would you like to get notified about official Jupyter news?" while fetchNews is "none"."""
    with running_lab(tmp_path, startup_timeout=180) as lab:
        notification = lab.api("lab/api/settings/@jupyterlab/apputils-extension:notification")
    properties = notification["schema"]["properties"]
    assert properties["fetchNews"]["default"] == "false", properties["fetchNews"]
    assert properties["checkForUpdates"]["default"] is False
