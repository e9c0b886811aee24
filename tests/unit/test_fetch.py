"""helpers.fetch downloads only what matches its pin: verified, cached, resumed, retried, and loud on failure.

Every test talks to a real HTTP server on 127.0.0.1 (http.server in a thread) serving bytes the test
made; nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import threading

import pytest

from helpers.fetch import ChecksumMismatchError, FetchError, fetch, sha256_of

PAYLOAD = os.urandom(300_000)  # a few chunks, so a dropped connection really is midway
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Routes: /good.bin (honours Range), /flaky.bin (drops the first transfer halfway),
    /always-drops.bin, /corrupt.bin (other bytes), /no-range.bin (ignores Range), /flaky-5xx.bin, else 404."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, body: bytes, drop_after: int | None = None) -> None:
        start = 0
        match = re.match(r"bytes=(\d+)-$", self.headers.get("Range", ""))
        if match and self.path != "/no-range.bin":
            start = int(match.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = body[start:]
        self.send_header("Content-Length", str(len(chunk)))
        self.send_header("Connection", "close")
        self.end_headers()
        if drop_after is not None:
            self.wfile.write(chunk[:drop_after])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)  # the connection drops midway
            return
        self.wfile.write(chunk)

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        count = sum(1 for p, _ in server.requests if p == self.path)
        if self.path == "/good.bin":
            self._send(PAYLOAD)
        elif self.path == "/flaky.bin":
            self._send(PAYLOAD, drop_after=len(PAYLOAD) // 2 if count == 1 else None)
        elif self.path == "/always-drops.bin":
            self._send(PAYLOAD, drop_after=1000)
        elif self.path == "/corrupt.bin":
            self._send(PAYLOAD[:-1] + bytes([PAYLOAD[-1] ^ 0xFF]))
        elif self.path == "/no-range.bin":
            self._send(PAYLOAD, drop_after=len(PAYLOAD) // 3 if count == 1 else None)
        elif self.path == "/flaky-5xx.bin":
            if count == 1:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._send(PAYLOAD)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not found")


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _fetch(server, name, tmp_path, **kw):
    kw.setdefault("backoff", 0.0)
    return fetch(f"{server.base}/{name}", kw.pop("sha256", PAYLOAD_SHA), cache_dir=tmp_path / "cache", timeout=10, **kw)


def test_a_download_is_verified_cached_and_not_fetched_again(server, tmp_path):
    path = _fetch(server, "good.bin", tmp_path)
    assert path.read_bytes() == PAYLOAD and sha256_of(path) == PAYLOAD_SHA
    assert path.name == "good.bin" and not list(path.parent.glob("*.part"))
    assert _fetch(server, "good.bin", tmp_path) == path
    assert len(server.requests) == 1, "a cached file with the right hash needs no network"


def test_a_connection_dropped_midway_is_resumed_with_a_range_request(server, tmp_path):
    path = _fetch(server, "flaky.bin", tmp_path)
    assert path.read_bytes() == PAYLOAD
    assert len(server.requests) == 2
    first, second = server.requests
    assert first[1] is None
    offset = int(re.match(r"bytes=(\d+)-", second[1]).group(1))
    assert 0 < offset < len(PAYLOAD), "the second request continues where the first stopped"


def test_a_server_that_ignores_ranges_makes_the_download_start_over_cleanly(server, tmp_path):
    path = _fetch(server, "no-range.bin", tmp_path)
    assert path.read_bytes() == PAYLOAD and len(server.requests) == 2


def test_a_5xx_answer_is_retried(server, tmp_path):
    assert _fetch(server, "flaky-5xx.bin", tmp_path).read_bytes() == PAYLOAD
    assert len(server.requests) == 2


def test_retries_are_bounded_and_the_partial_file_is_kept_for_a_later_resume(server, tmp_path):
    with pytest.raises(FetchError, match=r"after 3 attempts .*calling fetch again resumes it"):
        _fetch(server, "always-drops.bin", tmp_path, retries=2)
    assert len(server.requests) == 3
    parts = list((tmp_path / "cache").rglob("*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size == 3000  # 1000 bytes per attempt, resumed each time


def test_a_checksum_mismatch_deletes_the_file_and_raises(server, tmp_path):
    with pytest.raises(ChecksumMismatchError, match=f"expected {PAYLOAD_SHA}; the file was deleted"):
        _fetch(server, "corrupt.bin", tmp_path)
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_a_damaged_cache_entry_is_downloaded_again(server, tmp_path):
    path = _fetch(server, "good.bin", tmp_path)
    path.write_bytes(b"damaged")
    assert _fetch(server, "good.bin", tmp_path).read_bytes() == PAYLOAD
    assert len(server.requests) == 2


def test_a_404_fails_at_once_naming_the_fix(server, tmp_path):
    with pytest.raises(FetchError, match=r"HTTP 404 .*check the URL"):
        _fetch(server, "missing.bin", tmp_path, retries=3)
    assert len(server.requests) == 1, "a client error is not retried"


@pytest.mark.parametrize(
    ("sha", "message"),
    [("", "sha256 must be 64 hex digits"), ("abc", "sha256 must be 64 hex digits")],
)
def test_a_missing_or_malformed_pin_is_refused_before_any_request(server, tmp_path, sha, message):
    with pytest.raises(ValueError, match=message):
        _fetch(server, "good.bin", tmp_path, sha256=sha)
    assert server.requests == []


def test_only_http_urls_are_fetched(tmp_path):
    with pytest.raises(ValueError, match="Only http"):
        fetch("file:///etc/passwd", PAYLOAD_SHA, cache_dir=tmp_path)


def test_serve_directory_serves_a_folder_on_loopback_and_stops(tmp_path):
    from helpers.fetch import serve_directory

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "m.bin").write_bytes(PAYLOAD)
    with serve_directory(tmp_path / "site") as base:
        assert base.startswith("http://127.0.0.1:")
        path = fetch(f"{base}/m.bin", PAYLOAD_SHA, cache_dir=tmp_path / "cache", backoff=0)
    assert path.read_bytes() == PAYLOAD
    with pytest.raises(FetchError):  # the server is gone
        fetch(f"{base}/m.bin", hashlib.sha256(b"other").hexdigest(), cache_dir=tmp_path / "c2", retries=0, timeout=2)
