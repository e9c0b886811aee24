"""Add sha256 hashes to a ``pip freeze`` list, for ``pip install --require-hashes`` (scripts/lock.sh --hashes).

    python scripts/lock_hashes.py FREEZE_FILE > requirements/main.lock.txt

For each ``name==version`` the hashes come from the package index's JSON simple API (PEP 691;
``--index-url``, default PyPI), keeping the files a Linux x86_64 CPython 3.11 can install (sdist,
pure-Python and manylinux x86_64 wheels). A pin with a local version such as ``torch==2.13.0+cpu``
is not on PyPI: its hashes come from PyTorch's CPU index when it answers, and from the wheel files
in pip's find-links folders (this machine's local wheel folder). If PyTorch's index cannot be
reached, only the local file's hash is written; that works on another machine only if the local
wheel is the very file PyTorch publishes (the lock says so in a comment). A pin with no hash at all
stops the script, naming it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PYPI = "https://pypi.org/simple"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)\s*$")
_DIRECT = re.compile(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*@\s*\S+")

Files = dict[str, str]  # filename -> sha256


def norm(name: str) -> str:
    """PEP 503 normalized name: ``Foo_Bar`` -> ``foo-bar``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installable(filename: str) -> bool:
    """Whether Linux x86_64 CPython 3.11 could install this file (an sdist, or a fitting wheel).

    >>> [installable(f) for f in ("a-1.tar.gz", "a-1-py3-none-any.whl", "a-1-cp311-cp311-manylinux_2_28_x86_64.whl",
    ...  "a-1-cp312-cp312-manylinux_2_28_x86_64.whl", "a-1-cp311-cp311-win_amd64.whl", "a-1-cp39-abi3-manylinux2014_x86_64.whl")]
    [True, True, True, False, False, True]
    """
    if filename.endswith((".tar.gz", ".zip")):
        return True
    if not filename.endswith(".whl"):
        return False
    py, abi, plat = filename[:-4].split("-")[-3:]
    py_ok = any(t in ("py3", "py2.py3", "cp311") or t == "py311" for t in py.split(".")) or abi == "abi3"
    plat_ok = plat == "any" or any(p.endswith("x86_64") and "linux" in p for p in plat.split("."))
    return py_ok and plat_ok


def matches(filename: str, name: str, version: str) -> bool:
    """Whether ``filename`` is a distribution of ``name==version``."""
    from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
    from packaging.version import Version

    try:
        if filename.endswith(".whl"):
            dist, ver = parse_wheel_filename(filename)[:2]
        else:
            dist, ver = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        return False
    return norm(dist) == norm(name) and ver == Version(version)


def index_files(index: str, name: str, timeout: float = 30) -> Files:
    """``{filename: sha256}`` of every file the index lists for ``name`` (PEP 691 JSON); {} when unreachable."""
    request = urllib.request.Request(f"{index.rstrip('/')}/{norm(name)}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            data = json.load(reply)
    except (OSError, ValueError):
        return {}
    return {f["filename"]: f["hashes"]["sha256"] for f in data.get("files", []) if "sha256" in f.get("hashes", {})}


def find_links_dirs() -> list[Path]:
    """The local folders pip is configured to take wheels from (``find-links``, from pip config and PIP_FIND_LINKS)."""
    values = [os.environ.get("PIP_FIND_LINKS", "")]
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                             timeout=60).stdout
        values += [line.split("=", 1)[1].strip("'\" ") for line in out.splitlines() if "find-links=" in line]
    except (OSError, subprocess.TimeoutExpired):
        pass
    dirs = []
    for value in values:
        for item in value.split():
            path = Path(item.removeprefix("file://"))
            if path.is_dir() and path not in dirs:
                dirs.append(path)
    return dirs


def local_files(dirs: Iterable[Path], name: str, version: str) -> Files:
    """``{filename: sha256}`` of the files of ``name==version`` in local folders."""
    found = {}
    for folder in dirs:
        for path in folder.iterdir():
            if path.is_file() and matches(path.name, name, version):
                found[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def direct_reference(line: str) -> str:
    """A ``name @ URL`` line of pip freeze, with the hash ``--require-hashes`` needs (from the URL or the file).

    >>> print(direct_reference("x @ file:///w/x-1.tar.gz#sha256=ab"), end="")
    # x: installed from a file, not an index; other machines need that file at the same path
    x @ file:///w/x-1.tar.gz#sha256=ab \\
        --hash=sha256:ab
    """
    line = line.strip()
    name, url = (part.strip() for part in line.split("@", 1))
    digest = url.split("#sha256=", 1)[1].split("&")[0] if "#sha256=" in url else ""
    path = Path(url.split("#", 1)[0].removeprefix("file://"))
    if not digest and url.startswith("file://") and path.is_file():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not digest:
        raise SystemExit(f"No hash for {line}: pip --require-hashes needs one; add #sha256=... to its URL.")
    note = f"# {name}: installed from a file, not an index; other machines need that file at the same path\n" \
        if url.startswith("file://") else ""
    return f"{note}{line} \\\n    --hash=sha256:{digest}\n"


def hashed_lock(pins: list[tuple[str, str]], lookup: Callable[[str, str], tuple[Files, str]]) -> str:
    """The lock text: each pin with the hashes of its installable files, and a note where ``lookup`` gave one.

    >>> print(hashed_lock([("a", "1")], lambda n, v: ({"a-1.tar.gz": "ab", "a-1-cp311-cp311-win_amd64.whl": "cd"}, "")))
    a==1 \\
        --hash=sha256:ab
    <BLANKLINE>
    """
    lines, missing = [], []
    for name, version in pins:
        files, note = lookup(name, version)
        hashes = sorted({h for f, h in files.items() if installable(f) and matches(f, name, version)})
        if not hashes:
            missing.append(f"{name}=={version}")
            continue
        if note:
            lines.append(f"# {note}")
        lines.append(f"{name}=={version} \\")
        lines += [f"    --hash=sha256:{h}" + (" \\" if i < len(hashes) - 1 else "") for i, h in enumerate(hashes)]
    if missing:
        raise SystemExit(f"No hash found for {', '.join(missing)}: neither the index nor a local wheel folder has "
                         "its files. Lock without --hashes, or make the files reachable.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("freeze", help="a pip freeze output (name==version per line)")
    parser.add_argument("--index-url", default=PYPI)
    parser.add_argument("--cpu-index-url", default=CPU_INDEX)
    args = parser.parse_args(argv)
    lines = Path(args.freeze).read_text().splitlines()
    pins = [(m.group(1), m.group(2)) for m in map(_PIN.match, lines) if m]
    direct = [direct_reference(line) for line in lines if _DIRECT.match(line)]
    dirs = find_links_dirs()

    def lookup(name: str, version: str) -> tuple[Files, str]:
        if "+" not in version:
            files = index_files(args.index_url, name)
            return (files if any(matches(f, name, version) for f in files) else local_files(dirs, name, version)), ""
        files = {f: h for f, h in index_files(args.cpu_index_url, name, timeout=15).items() if matches(f, name, version)}
        local = local_files(dirs, name, version)
        if files:
            if local and not set(local.values()) <= set(files.values()):
                return files | local, f"{name}: the local wheel differs from {args.cpu_index_url}'s; both hashes kept"
            return files, ""
        return local, (f"{name}: hash of the local wheel only ({args.cpu_index_url} was unreachable when locked); "
                       "another machine needs that exact file, or re-lock where the index answers")

    with ThreadPoolExecutor(8) as pool:
        results = dict(zip(pins, pool.map(lambda p: lookup(*p), pins)))
    sys.stdout.write(hashed_lock(pins, lambda n, v: results[(n, v)]) + "".join(direct))
    return 0


if __name__ == "__main__":
    sys.exit(main())
