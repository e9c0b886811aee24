"""Workaround: ``--dist loadgroup`` of pytest-xdist 3.8 does not group under pytest 9.2.

xdist marks a test's ``xdist_group`` by appending ``@group`` to ``item._nodeid``, which pytest 9.2 no longer
reads (node ids are structured: ``item._id``), so the tests of one group were spread over the workers: the
book's fixture was built on both, and linked notebooks waited on each other's file locks.
Upstream: https://github.com/pytest-dev/pytest-xdist/issues/1386 (fix proposed in pull request 1388).
The root conftest loads this plugin; ``tests/test_xdist_loadgroup.py`` proves it still needed, and working.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)  # after xdist's own hook has written the suffix
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        suffixed = item.__dict__.get("_nodeid")
        if isinstance(suffixed, str) and suffixed != item.nodeid and hasattr(item, "_id"):
            item._id = NodeId.parse(suffixed)  # the id the scheduler reads: "path::test[params]@group"
