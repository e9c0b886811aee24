"""The offline room: `make wheelhouse` packs a kernel's packages, and setup installs them with no index reachable.

The wheelhouse here holds a small subset of the legacy kernel's lock file (a package with a dependency, and
the pip and build tools setup installs first), downloaded by scripts/wheelhouse.sh through the legacy venv's
pip from the index this machine's pip is configured with. The install then runs in a fresh venv with pip's
configuration files ignored and its index pointed at a closed port (http://127.0.0.1:9/), through
scripts/setup.sh's own `use_wheelhouse` function: nothing can come from a registry. Where the machine allows it
(root, or unprivileged user namespaces), the install also runs in a network namespace that holds only loopback
(`unshare -rn`, then `ip link set lo up`): nothing at all can be reached, not even a mirror pip might have been
told about. Where it does not, the test says so and runs against the closed index alone.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENVS = Path(os.environ.get("WORKBOOK_VENVS", ROOT / ".venvs"))
LEGACY_PY = VENVS / "legacy" / "bin" / "python"
# python-dateutil needs six and tzdata: pip must resolve dependencies from the folder too
SUBSET = ("python-dateutil", "six", "tzdata", "idna")
UNREACHABLE = "http://127.0.0.1:9/"
# one worker builds the wheelhouse and the venv once (where xdist's loadgroup groups)
pytestmark = pytest.mark.xdist_group("wheelhouse")


def _lock_pins(names: tuple[str, ...]) -> list[str]:
    pins = (ROOT / "requirements" / "legacy.lock.txt").read_text().split()
    return [pin for pin in pins if "==" in pin and pin.split("==")[0].lower() in names]


def _setup_functions() -> str:
    """say, die and use_wheelhouse, cut out of scripts/setup.sh (running the whole script would set up venvs)."""
    text = (ROOT / "scripts" / "setup.sh").read_text()
    lines, keep = [], False
    for line in text.splitlines():
        keep = keep or line.startswith(("say()", "die()", "use_wheelhouse()"))
        if keep:
            lines.append(line)
        if keep and (line.startswith(("say()", "die()")) or line == "}"):
            keep = False
    assert any(line.startswith("use_wheelhouse()") for line in lines), "scripts/setup.sh lost use_wheelhouse"
    return "\n".join(lines)


def _offline_env(**extra: str) -> dict[str, str]:
    """No pip configuration file, no find-links, and an index nobody answers on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE="/dev/null", PIP_INDEX_URL=UNREACHABLE, PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_DEFAULT_TIMEOUT="3", PIP_RETRIES="0", **extra)
    return env


#: Runs a command in a new network namespace that holds only loopback (brought up: pip's closed index and any
#: local socket still work): `unshare -rn` maps the caller to root inside, so it needs no privileges where user
#: namespaces are allowed.
NO_NETWORK = ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$@"', "no-network"]


@functools.cache
def no_network_unavailable() -> str:
    """Why commands cannot run without a network here ('' when they can)."""
    if not (shutil.which("unshare") and shutil.which("ip")):
        return "unshare or ip (util-linux, iproute2) is not installed"
    try:
        out = subprocess.run([*NO_NETWORK, "ip", "-o", "link"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as err:
        return f"unshare -rn failed: {err}"
    if out.returncode != 0:
        return f"unshare -rn is not allowed here (not root, no user namespaces): {out.stderr.strip()[:200]}"
    return ""


def _bash(script: str, env: dict[str, str], timeout: float = 120,
          no_network: bool = False) -> subprocess.CompletedProcess[str]:
    body = f"set -euo pipefail\n{_setup_functions()}\n{script}\n"
    prefix = NO_NETWORK if no_network else []
    return subprocess.run([*prefix, "bash", "-c", body], capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=ROOT)


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    if not LEGACY_PY.exists():
        pytest.fail(f"The legacy kernel is missing ({LEGACY_PY}); run `make setup`.", pytrace=False)
    folder = tmp_path_factory.mktemp("wheelhouse")
    lock = folder / "subset.lock.txt"
    lock.write_text("\n".join(_lock_pins(SUBSET)) + "\n")
    out = subprocess.run(
        ["bash", "scripts/wheelhouse.sh", "--kernel", f"legacy={lock}", "--no-debs", "--no-models", "--no-npm",
         str(folder / "room")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=dict(os.environ, WORKBOOK_VENVS=str(VENVS)))
    assert out.returncode == 0, f"wheelhouse.sh failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    assert "total:" in out.stdout
    return folder / "room"


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    """A new venv from the legacy kernel's base interpreter (Python 3.11), as setup makes one."""
    base = subprocess.run([str(LEGACY_PY), "-c", "import sys; print(sys._base_executable)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    venv = tmp_path_factory.mktemp("offline") / "venv"
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=120)
    return venv


def test_the_wheelhouse_holds_the_subset_pip_and_the_build_tools(wheelhouse):
    files = sorted(p.name.lower() for p in (wheelhouse / "wheels").iterdir())
    for pin in _lock_pins(SUBSET) + [line for line in (ROOT / "requirements/legacy-build.txt").read_text().split()
                                     if "==" in line]:
        name, version = pin.lower().replace("-", "_").split("==")
        assert any(f.startswith(f"{name}-{version}-") for f in files), f"{pin} missing from {files}"
    assert any(f.startswith("pip-") for f in files)
    assert (wheelhouse / "README.txt").read_text().startswith("onnx-workbook offline bundle")


def test_setup_installs_from_the_wheelhouse_with_no_index_reachable(wheelhouse, fresh_venv):
    pins = " ".join(_lock_pins(SUBSET))
    pip = f"{fresh_venv}/bin/python -m pip"
    isolated = not no_network_unavailable()
    start = time.perf_counter()
    out = _bash(f"""use_wheelhouse
        {pip} install -q --upgrade "pip==$({LEGACY_PY} -m pip --version | cut -d' ' -f2)"
        {pip} install -q -r requirements/legacy-build.txt
        {pip} install -q {pins}
        {pip} check""", _offline_env(WORKBOOK_WHEELHOUSE=str(wheelhouse)), no_network=isolated)
    seconds = time.perf_counter() - start
    where = "in a network namespace with only loopback" if isolated else \
        f"against a closed index only (no network namespace: {no_network_unavailable()})"
    print(f"offline install of {len(_lock_pins(SUBSET))} packages, pip and the build tools: {seconds:.1f} s, {where}")
    assert out.returncode == 0, f"offline install failed ({where}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    assert "pip installs from" in out.stdout
    code = "import dateutil, six, idna; print(dateutil.__file__)"
    ran = subprocess.run([str(fresh_venv / "bin/python"), "-c", code], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and str(fresh_venv) in ran.stdout, ran.stderr


def test_without_the_wheelhouse_the_same_install_fails(fresh_venv, tmp_path):
    """Proves the install above could fail: with no wheelhouse, nothing answers on the index."""
    target = tmp_path / "target"
    out = subprocess.run([str(fresh_venv / "bin/python"), "-m", "pip", "install", "--target", str(target), "tqdm"],
                         capture_output=True, text=True, env=_offline_env(), timeout=120)
    assert out.returncode != 0 and not any(target.glob("tqdm*")), out.stdout
    assert "127.0.0.1" in out.stdout + out.stderr  # it tried the closed index, and only that


def test_the_namespace_reaches_nothing_but_loopback():
    """What the install above ran in: only `lo`, and no route out. The same probes outside it see the machine's
    interfaces, so the check can fail."""
    reason = no_network_unavailable()
    if reason:
        pytest.skip(f"no network namespace here, the install ran against a closed index only: {reason}")
    probe = [sys.executable, "-c", "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=3)\n"
             "except OSError as err:\n    print('unreachable', err.errno)\nelse:\n    print('connected')"]
    inside = subprocess.run([*NO_NETWORK, "ip", "-o", "link"], capture_output=True, text=True, timeout=30).stdout
    outside = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, timeout=30).stdout
    assert [line.split(":")[1].strip() for line in inside.splitlines()] == ["lo"], inside
    assert len(outside.splitlines()) > 1, "this machine has no interface but lo: the check could not fail here"
    routed = subprocess.run([*NO_NETWORK, *probe], capture_output=True, text=True, timeout=30).stdout
    assert routed.startswith("unreachable 101"), routed  # ENETUNREACH: no route at all, not a refused port


def test_a_package_missing_from_the_wheelhouse_is_refused(wheelhouse, fresh_venv, tmp_path):
    out = _bash(f"use_wheelhouse\n{fresh_venv}/bin/python -m pip install --target {tmp_path / 't'} tqdm",
                _offline_env(WORKBOOK_WHEELHOUSE=str(wheelhouse)))
    assert out.returncode != 0
    assert "No matching distribution found for tqdm" in out.stderr


def test_a_folder_without_wheels_is_refused_with_the_command_that_makes_one(tmp_path):
    out = _bash("use_wheelhouse", _offline_env(WORKBOOK_WHEELHOUSE=str(tmp_path)))
    assert out.returncode != 0
    assert f"WORKBOOK_WHEELHOUSE={tmp_path} has no wheels/ folder" in out.stderr
    assert "make wheelhouse" in out.stderr


def _deb(folder: Path, package: str, version: str = "1.0") -> Path:
    """A tiny real .deb named `package` (dpkg-deb reads its control file)."""
    tree = folder / f"{package}-{version}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(f"Package: {package}\nVersion: {version}\nArchitecture: all\n"
                                             "Maintainer: test <t@example.org>\nDescription: probe\n")
    deb = folder / f"{package}_{version}_all.deb"
    subprocess.run(["dpkg-deb", "--build", str(tree), str(deb)], check=True, capture_output=True, timeout=60)
    return deb


def _apt_calls(wheelhouse: Path) -> list[str]:
    """Run use_wheelhouse with stand-ins for apt-get and id: record the command instead of changing the machine."""
    calls = wheelhouse / "apt-get.calls"
    calls.unlink(missing_ok=True)
    out = _bash(f'apt-get() {{ echo "$*" >> {calls}; }}\nid() {{ echo 0; }}\nuse_wheelhouse',
                _offline_env(WORKBOOK_WHEELHOUSE=str(wheelhouse)))
    assert out.returncode == 0, out.stdout + out.stderr
    return calls.read_text().splitlines() if calls.exists() else []


@pytest.mark.skipif(sys.platform != "linux" or not Path("/usr/bin/dpkg-deb").exists(), reason="needs dpkg-deb")
def test_setup_installs_the_debian_packages_the_machine_lacks_never_a_downgrade(tmp_path):
    (tmp_path / "wheels").mkdir()
    debs = tmp_path / "debs"
    debs.mkdir()
    older, newer = _deb(debs, "bash", "1.0"), _deb(debs, "dash", "999.0")
    assert _apt_calls(tmp_path) == [], "nothing is missing: nothing is installed, not even the newer dash"
    absent = _deb(debs, "onnx-workbook-absent-probe")
    apt = _apt_calls(tmp_path)
    assert len(apt) == 1 and apt[0].startswith("install ") and str(absent) in apt[0], apt
    assert str(newer) in apt[0], "a newer version of an installed package comes along (the new one may need it)"
    assert str(older) not in apt[0], "an installed package is never downgraded"


@pytest.mark.parametrize("offline", [True, False], ids=["offline", "online-can-fail"])
def test_offline_setup_never_asks_apt_to_reach_a_mirror(tmp_path, offline):
    """Setup's system step ran `apt-get update` in offline mode too: a request to Debian's mirrors, which a room
    without network cannot answer. Offline it is skipped; online it runs, which proves the probe sees it."""
    calls = tmp_path / "apt-get.calls"
    script = (f'source scripts/setup.sh\napt-get() {{ echo "$*" >> {calls}; }}\ndpkg-query() {{ return 1; }}\n'
              "id() { echo 0; }\nsystem_packages")
    env = _offline_env(**({"WORKBOOK_WHEELHOUSE": str(tmp_path)} if offline else {}))
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    recorded = calls.read_text().splitlines()
    assert any(c.startswith("install ") for c in recorded), recorded
    assert any(c.startswith("update") for c in recorded) is not offline, recorded
