"""tests/xdist_loadgroup.py keeps an ``xdist_group`` on one worker; without it, xdist 3.8 on pytest 9.2 does not."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from helpers.paths import repo_root

GROUPED = """
import pytest


@pytest.mark.xdist_group("one")
@pytest.mark.parametrize("i", range(8))
def test_grouped(i):
    pass
"""


def _workers(tmp_path, *plugin: str) -> set[str]:
    """The workers that ran the 8 tests of one group, with ``-n 2 --dist loadgroup``."""
    (tmp_path / "test_grouped.py").write_text(GROUPED, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(repo_root())}
    run = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p",
                          "no:cacheprovider", *plugin, "test_grouped.py"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return set(re.findall(r"\[(gw\d+)\] .*PASSED", run.stdout))


def test_a_group_runs_on_one_worker_with_the_workaround(tmp_path):
    assert len(_workers(tmp_path, "-p", "tests.xdist_loadgroup")) == 1


def test_without_the_workaround_the_group_is_still_spread_over_workers(tmp_path):
    """When this fails, xdist groups again by itself (pytest-dev/pytest-xdist#1386): remove the workaround."""
    assert len(_workers(tmp_path)) == 2
