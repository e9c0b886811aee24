"""A local mirror for trying pinned downloads offline: a folder served over HTTP on 127.0.0.1.

The call a reader copies is ``pooch.retrieve(url, known_hash="sha256:...")`` (notebooks/21_pretrained_models.ipynb):
it caches the file, checks its SHA-256 and refuses a mismatch. pooch fetches http(s), ftp, sftp and doi
URLs, not ``file://``, so the workbook, which runs offline, shows it against :func:`serve_directory`.

>>> with serve_directory("build/models") as base:                                  # doctest: +SKIP
...     pooch.retrieve(f"{base}/model.onnx", known_hash="sha256:...", path="build/downloads")
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["serve_directory"]


@contextmanager
def serve_directory(folder: str | os.PathLike[str]) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 at a free port while the block runs; yields the base URL.

    For trying a pinned download without internet (the notebook does), and for tests. The server runs in a
    thread and is shut down when the block ends.
    """
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
