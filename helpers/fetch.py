"""Download a model file robustly: pinned source, SHA-256 verified, cached, resumed and retried.

The workbook runs offline; this is what a reader needs *with* internet to get a pretrained model
(notebooks/21_pretrained_models.ipynb). A download is only trusted when its SHA-256 matches the one
you pinned, so a moved branch, a truncated transfer or a tampered mirror fails loudly instead of
feeding a wrong model into your pipeline.

For a file on the Hugging Face Hub, the notebook calls ``huggingface_hub.hf_hub_download(repo_id,
filename, revision=<commit>)`` (which caches and resumes) and checks :func:`sha256_of` itself; :func:`fetch`
does the same for any HTTP(S) URL, and :func:`serve_directory` lets a notebook or a test try it offline.

>>> path = fetch("https://example.org/model.onnx", sha256="...")   # doctest: +SKIP

Behaviour: a cached file whose hash matches is returned without touching the network; an interrupted
transfer is resumed with an HTTP ``Range`` request (or restarted when the server ignores ranges);
network errors and 5xx answers are retried a bounded number of times with exponential backoff; 4xx
answers (404: wrong repo, path or revision) fail at once; a checksum mismatch deletes the file and
raises :class:`ChecksumMismatchError`.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

__all__ = [
    "FetchError", "ChecksumMismatchError", "fetch", "sha256_of", "serve_directory", "USER_AGENT",
]

#: The User-Agent the workbook sends (some hosts refuse Python's default one).
USER_AGENT = "onnx-workbook-fetch/1.0"
_CHUNK = 1 << 16
_SHA = re.compile(r"^[0-9a-f]{64}$")


class FetchError(RuntimeError):
    """The file could not be downloaded (HTTP error, or network failures beyond the retries)."""


class ChecksumMismatchError(FetchError):
    """The downloaded bytes do not have the pinned SHA-256; the file was deleted."""


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file, as 64 lowercase hex digits (streamed, so any size is fine)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _default_cache() -> Path:
    from helpers.paths import build_dir

    return build_dir("downloads")


def _total_from(response: http.client.HTTPResponse, offset: int) -> int | None:
    """The full file size from Content-Range (a 206) or Content-Length (a 200), if the server said."""
    content_range = response.headers.get("Content-Range", "")
    match = re.match(r"bytes\s+\d+-\d+/(\d+)", content_range)
    if match:
        return int(match.group(1))
    length = response.headers.get("Content-Length")
    if length is None:
        return None
    return int(length) + (offset if response.status == 206 else 0)


class _Interrupted(Exception):
    """The transfer stopped early; resume it."""


def _download_once(url: str, part: Path, timeout: float, progress: bool) -> None:
    """One attempt: continue ``part`` from where it stopped. Raises _Interrupted, HTTPError, URLError, OSError."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - http(s) checked by caller
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # the part file is already complete (or too long): check it
            return
        raise
    with response:
        if offset and response.status != 206:  # the server ignored the range: start over
            offset = 0
        total = _total_from(response, offset)
        mode = "ab" if offset else "wb"
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, desc=part.name.removesuffix(".part"))
        written = offset
        try:
            with open(part, mode) as f:
                while True:
                    try:
                        block = response.read(_CHUNK)
                    except http.client.IncompleteRead as err:
                        f.write(err.partial)
                        raise _Interrupted(f"connection closed after {written + len(err.partial)} bytes") from err
                    if not block:
                        break
                    f.write(block)
                    written += len(block)
                    if bar is not None:
                        bar.update(len(block))
        finally:
            if bar is not None:
                bar.close()
    if total is not None and written < total:
        raise _Interrupted(f"got {written} of {total} bytes")


def fetch(
    url: str,
    sha256: str,
    *,
    filename: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60.0,
    progress: bool = False,
) -> Path:
    """Download ``url`` into the cache, verify its SHA-256, and return the local path.

    sha256: the expected hash (64 hex digits); get it from the model card or a trusted first download.
    filename: the name in the cache (default: the URL's last path segment).
    cache_dir: where files are kept (default ``build/downloads``); each hash has its own folder.
    retries: extra attempts after a network failure or a 5xx answer; each resumes where the last stopped.
    backoff: seconds before the first retry, doubling each time.
    timeout: seconds without data before an attempt counts as failed.
    progress: show a tqdm progress bar.

    Raises :class:`FetchError` (HTTP 4xx, or failures beyond the retries) and
    :class:`ChecksumMismatchError` (the file is deleted).
    """
    sha256 = (sha256 or "").lower()
    if not _SHA.match(sha256):
        raise ValueError(
            f"sha256 must be 64 hex digits, got {sha256!r}. Pin the hash the publisher gives, or compute it "
            "once from a download you trust with helpers.fetch.sha256_of(path)."
        )
    scheme = urlparse(url).scheme
    if scheme not in ("http", "https"):
        raise ValueError(f"Only http(s) URLs can be fetched, got {url!r}.")
    name = filename or Path(urlparse(url).path).name or "download"
    folder = Path(cache_dir) if cache_dir else _default_cache()
    target = folder / sha256[:16] / name
    if target.exists():
        if sha256_of(target) == sha256:
            return target
        target.unlink()  # a damaged cache entry: download again
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    failures: list[str] = []
    for attempt in range(retries + 1):
        try:
            _download_once(url, part, timeout, progress)
            break
        except urllib.error.HTTPError as err:
            if 400 <= err.code < 500:
                part.unlink(missing_ok=True)
                raise FetchError(
                    f"{url} answered HTTP {err.code} {err.reason}: check the URL (for Hugging Face: the repo, the "
                    "path and the pinned revision)."
                ) from err
            failures.append(f"HTTP {err.code}")
        except (TimeoutError, _Interrupted, urllib.error.URLError, http.client.HTTPException, OSError) as err:
            failures.append(f"{type(err).__name__}: {err}")
        if attempt < retries:
            time.sleep(backoff * 2**attempt)
    else:
        raise FetchError(
            f"Could not download {url} after {retries + 1} attempts ({'; '.join(failures)}). "
            f"The partial file {part} is kept: calling fetch again resumes it."
        )
    actual = sha256_of(part)
    if actual != sha256:
        part.unlink(missing_ok=True)
        raise ChecksumMismatchError(
            f"{name} from {url} has SHA-256 {actual}, expected {sha256}; the file was deleted. The source changed "
            "or the pin is wrong: check the revision and the hash on the model card; never skip the check."
        )
    os.replace(part, target)
    return target


@contextmanager
def serve_directory(folder: str | os.PathLike[str]) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 at a free port while the block runs; yields the base URL.

    For trying :func:`fetch` without internet (the notebook does), and for tests. The server runs in a
    thread and is shut down when the block ends.

    >>> with serve_directory(".") as base:   # doctest: +SKIP
    ...     fetch(f"{base}/model.onnx", sha256="...")
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
