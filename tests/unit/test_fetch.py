"""The pinned download notebook 21 teaches (pooch.retrieve with a known SHA-256) against a local mirror.

Every test talks to a real HTTP server on 127.0.0.1 serving bytes the test made; nothing leaves the
machine. They pin the behaviour the notebook relies on: verified, cached, refused on a mismatch.
"""

from __future__ import annotations

import hashlib
import logging
import os

import pytest

from helpers.processes import StaticServer

pooch = pytest.importorskip("pooch", reason="pooch is the main kernel's (notebook 21)")
requests = pytest.importorskip("requests")

PAYLOAD = os.urandom(300_000)
PAYLOAD_SHA = "sha256:" + hashlib.sha256(PAYLOAD).hexdigest()
logging.getLogger("pooch").setLevel(logging.WARNING)


@pytest.fixture
def mirror(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "good.bin").write_bytes(PAYLOAD)
    (site / "corrupt.bin").write_bytes(PAYLOAD[:-1] + bytes([PAYLOAD[-1] ^ 0xFF]))
    with StaticServer({"/": site}) as server:
        yield server.url.rstrip("/")


def test_a_download_is_verified_and_cached(mirror, tmp_path):
    path = pooch.retrieve(f"{mirror}/good.bin", known_hash=PAYLOAD_SHA, fname="good.bin", path=tmp_path / "cache")
    written = os.stat(path).st_mtime_ns
    again = pooch.retrieve(f"{mirror}/good.bin", known_hash=PAYLOAD_SHA, fname="good.bin", path=tmp_path / "cache")
    assert again == path and os.stat(path).st_mtime_ns == written
    with open(path, "rb") as f:
        assert hashlib.file_digest(f, "sha256").hexdigest() == PAYLOAD_SHA.removeprefix("sha256:")


def test_other_bytes_are_refused_and_nothing_is_kept(mirror, tmp_path):
    with pytest.raises(ValueError, match="does not match the known hash"):
        pooch.retrieve(f"{mirror}/corrupt.bin", known_hash=PAYLOAD_SHA, fname="m.bin", path=tmp_path / "cache")
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_a_wrong_pin_is_refused_and_leaves_the_good_cached_file(mirror, tmp_path):
    path = pooch.retrieve(f"{mirror}/good.bin", known_hash=PAYLOAD_SHA, fname="good.bin", path=tmp_path / "cache")
    with pytest.raises(ValueError, match="does not match the known hash"):
        pooch.retrieve(f"{mirror}/good.bin", known_hash="sha256:" + "0" * 64, fname="good.bin", path=tmp_path / "cache")
    with open(path, "rb") as f:
        assert hashlib.file_digest(f, "sha256").hexdigest() == PAYLOAD_SHA.removeprefix("sha256:")


def test_a_missing_file_is_an_http_error(mirror, tmp_path):
    with pytest.raises(requests.HTTPError, match="404"):
        pooch.retrieve(f"{mirror}/missing.bin", known_hash=PAYLOAD_SHA, path=tmp_path / "cache")


def test_pooch_does_not_read_file_urls_so_the_mirror_is_http(tmp_path):
    (tmp_path / "m.bin").write_bytes(PAYLOAD)
    with pytest.raises(ValueError, match="Unrecognized URL protocol 'file'"):
        pooch.retrieve(f"file://{tmp_path}/m.bin", known_hash=PAYLOAD_SHA, path=tmp_path / "cache")


def test_the_mirror_serves_on_loopback_and_stops_when_the_block_ends(tmp_path):
    with StaticServer({"/": tmp_path}) as server:
        assert server.url.startswith("http://127.0.0.1:")
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url, timeout=2)
