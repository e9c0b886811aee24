"""workbook.lab: the workbook's JupyterLab settings live in one place, and `make lab` uses them."""

from __future__ import annotations

import json
import re

from helpers.paths import repo_root
from workbook import lab


def test_the_overrides_turn_the_news_question_off_and_keep_what_was_there(tmp_path):
    python = tmp_path / "venv" / "bin" / "python"
    settings = tmp_path / "venv" / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True)
    (settings / "overrides.json").write_text(json.dumps({
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
        "@jupyterlab/apputils-extension:notification": {"doNotDisturbMode": True}}))
    path = lab.write_settings_overrides(python)
    assert path == settings / "overrides.json"
    written = json.loads(path.read_text())
    assert written["@jupyterlab/apputils-extension:notification"] == {
        "doNotDisturbMode": True, "fetchNews": "false", "checkForUpdates": False}
    assert written["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert lab.write_settings_overrides(python) == path and json.loads(path.read_text()) == written  # idempotent


def test_the_command_is_offline_and_listens_on_127_0_0_1_only(tmp_path):
    command = lab.lab_command(tmp_path, 8890, token="abc")
    assert command[command.index("--ip") + 1] == "127.0.0.1" and command[command.index("--port") + 1] == "8890"
    assert set(lab.LAB_OFFLINE_ARGS) <= set(command) and "--ServerApp.token=abc" in command
    assert not any(a.startswith("--ServerApp.token") for a in lab.lab_command(tmp_path, 8890))  # make lab: its own


def test_make_lab_starts_the_workbook_s_lab_and_nothing_else():
    makefile = (repo_root() / "Makefile").read_text()
    recipe = re.search(r"^lab:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "-m workbook.lab" in recipe and "jupyter lab" not in recipe, recipe
