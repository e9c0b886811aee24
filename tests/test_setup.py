"""Setup off this machine: the PyTorch CPU index decision, a non-root machine, the lint venv, the lock sync.

Nothing here touches the real venvs: scripts/setup.sh is sourced (its functions only) with fake
commands on PATH, and scripts/torch_index.py runs against simulated pip configurations: no config
file at all (PIP_CONFIG_FILE=/dev/null, as on an ordinary machine) and a fake local index.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "scripts" / "setup.sh"
TORCH_INDEX = ROOT / "scripts" / "torch_index.py"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
WHEEL = "torch-2.13.0{}-cp311-cp311-manylinux_2_28_x86_64.whl"

sys.path.insert(0, str(ROOT / "scripts"))
import torch_index  # noqa: E402


def _ordinary_pip(tmp_path: Path, local_cpu_wheel: bool) -> dict[str, str]:
    """The environment of a pip with no config file and one index offering only PyPI's plain torch."""
    simple = tmp_path / "index" / "simple" / "torch"
    simple.mkdir(parents=True)
    name = WHEEL.format("")
    (simple / "index.html").write_text(f'<html><body><a href="../../{name}">{name}</a></body></html>')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env |= {"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": (tmp_path / "index" / "simple").as_uri(),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if local_cpu_wheel:  # like this machine: a wheel folder holding the CPU build
        wheels = tmp_path / "wheels"
        wheels.mkdir()
        (wheels / WHEEL.format("+cpu")).touch()
        env["PIP_FIND_LINKS"] = str(wheels)
    return env


def _torch_index(tmp_path: Path, env: dict[str, str]) -> list[str]:
    lock = tmp_path / "main.lock.txt"
    lock.write_text("numpy==2.4.6\ntorch==2.13.0+cpu\n")
    out = subprocess.run([sys.executable, str(TORCH_INDEX), str(lock)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_an_ordinary_pip_gets_pytorchs_cpu_index(tmp_path):
    assert _torch_index(tmp_path, _ordinary_pip(tmp_path, local_cpu_wheel=False)) == ["--extra-index-url", CPU_INDEX]


def test_a_pip_that_already_offers_the_cpu_build_gets_nothing_added(tmp_path):
    assert _torch_index(tmp_path, _ordinary_pip(tmp_path, local_cpu_wheel=True)) == []


@pytest.mark.parametrize(("mode", "expected"), [("never", []), ("always", ["--extra-index-url", CPU_INDEX])])
def test_the_decision_can_be_forced(tmp_path, mode, expected):
    env = _ordinary_pip(tmp_path, local_cpu_wheel=mode == "always") | {"WORKBOOK_TORCH_INDEX": mode}
    assert _torch_index(tmp_path, env) == expected


def test_a_lock_without_cpu_pins_asks_no_index():
    asked = []
    assert torch_index.decide(torch_index.local_cpu_pins(["numpy==1.23.5"]), asked.append) == []
    assert asked == []
    with pytest.raises(ValueError, match="use auto, always or never"):
        torch_index.decide({"torch": "2.13.0+cpu"}, lambda n: set(), "sometimes")


def test_environment_yml_names_the_cpu_index():
    assert f"--extra-index-url {CPU_INDEX}" in (ROOT / "environment.yml").read_text()


# --- scripts/setup.sh functions, with fake commands ------------------------------------------------

def _fake(bin_dir: Path, name: str, body: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/usr/bin/env bash\n" + body + "\n")
    path.chmod(0o755)


def _bash(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", **env}
    return subprocess.run(["bash", "-c", f"source {SETUP}; {script}"], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=120)


def _apt_packages() -> list[str]:
    lines = (ROOT / "requirements" / "apt.txt").read_text().splitlines()
    return [w for line in lines for w in line.split("#", 1)[0].split()]


def test_as_root_one_unknown_package_does_not_block_the_others(tmp_path):
    calls = tmp_path / "apt-calls"
    _fake(tmp_path / "bin", "dpkg-query", "exit 1")
    _fake(tmp_path / "bin", "id", "echo 0")
    # like Ubuntu, which has no package named chromium: a batch naming it fails, the others install alone
    _fake(tmp_path / "bin", "apt-get", f'echo "$@" >> {calls}; for a in "$@"; do [ "$a" = chromium ] && exit 100; done; exit 0')
    out = _bash("system_packages; echo rc=$?", tmp_path)
    assert "rc=0" in out.stdout
    installed = [line.split()[-1] for line in calls.read_text().splitlines()[2:]]  # after update and the batch
    assert installed == _apt_packages()
    assert "apt-get could not install: chromium;" in out.stderr


@pytest.mark.parametrize("who", ["non-root", "root with a failing apt-get"])
def test_a_machine_that_cannot_install_debian_packages_gets_the_exact_line_and_continues(tmp_path, who):
    calls = tmp_path / "apt-calls"
    _fake(tmp_path / "bin", "dpkg-query", "exit 1")  # nothing installed
    _fake(tmp_path / "bin", "id", 'echo 1000' if who == "non-root" else 'echo 0')
    _fake(tmp_path / "bin", "apt-get", f'echo "$@" >> {calls}; exit {0 if who == "non-root" else 100}')
    out = _bash("system_packages; echo rc=$?", tmp_path)
    assert "rc=0" in out.stdout, out.stderr
    line = "apt-get install -y --no-install-recommends " + " ".join(_apt_packages())
    assert line in out.stderr, out.stderr
    assert "the kernels install anyway" in out.stderr
    if who == "non-root":
        assert f"sudo {line}" in out.stderr and not calls.exists(), "a non-root setup must not call apt-get"


def test_nothing_is_said_when_every_debian_package_is_there(tmp_path):
    _fake(tmp_path / "bin", "dpkg-query", 'printf "install ok installed"')
    out = _bash("system_packages; echo rc=$?", tmp_path)
    assert out.stdout.strip() == "rc=0" and out.stderr == ""


def test_apt_txt_names_what_a_bare_debian_lacks():
    assert {"python3-venv", "g++", "gcc", "libgomp1", "chromium"} <= set(_apt_packages())


FAKE_PYTHON = r"""
log={log}
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; exit 0
fi
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  echo "pip $*" >> "$log"
  case "$3" in
    install) touch "$(dirname "$0")/ruff"; chmod +x "$(dirname "$0")/ruff" ;;
    freeze) printf 'numpy==2.4.6\nold-package==1.0\nsetuptools==72.2.0\nwheel==0.45.1\nOld_Thing==2\npyspark @ file:///w/pyspark-4.3.0.tar.gz\n' ;;
  esac
  exit 0
fi
exec {real} "$@"
"""


def _fake_python(tmp_path: Path) -> Path:
    log = tmp_path / "pip-calls"
    _fake(tmp_path / "bin", "fakepython", FAKE_PYTHON.format(log=log, real=sys.executable))
    return log


def test_the_lint_venv_holds_only_the_pinned_ruff_and_is_made_once(tmp_path):
    log = _fake_python(tmp_path)
    venvs = tmp_path / "venvs"
    env = {"WORKBOOK_VENVS": str(venvs), "WORKBOOK_PYTHON": "fakepython"}
    for _ in range(2):
        out = _bash('main --lint && echo ok', tmp_path, **env)
        assert "ok" in out.stdout, out.stderr
    ruff = next(line for line in (ROOT / "requirements" / "main.txt").read_text().splitlines() if line.startswith("ruff=="))
    assert log.read_text().splitlines() == [f"pip -m pip install -q {ruff}"], "one install, of ruff alone"
    assert (venvs / "lint" / "bin" / "ruff").exists()


def test_make_lint_uses_the_lint_venv_not_the_full_setup():
    makefile = (ROOT / "Makefile").read_text()
    rule = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "setup.sh --lint" in rule and "ruff check" in rule and "setup\n" not in rule.splitlines()[0] + "\n"


def test_sync_removes_packages_the_lock_dropped_and_keeps_the_rest(tmp_path):
    log = _fake_python(tmp_path)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(tmp_path / "bin" / "fakepython")
    lock = tmp_path / "lock.txt"
    lock.write_text("numpy==2.4.6 \\\n    --hash=sha256:00\npyspark @ file:///w/pyspark-4.3.0.tar.gz \\\n    --hash=sha256:11\n")
    out = _bash(f"sync_to_lock {venv} {lock} setuptools wheel", tmp_path)
    assert out.returncode == 0, out.stderr
    assert "pip -m pip uninstall -q -y old-package old-thing" in log.read_text().splitlines()


def _lock_entries(kernel: str, text: str | None = None) -> dict[str, list[str]]:
    """``{name==version: [sha256, ...]}`` of a lock file written by uv (scripts/lock.sh), or of ``text``."""
    entries: dict[str, list[str]] = {}
    current = None
    text = (ROOT / "requirements" / f"{kernel}.lock.txt").read_text() if text is None else text
    for line in text.splitlines():
        if line and line[0].isalnum():
            current = line.split()[0]
            entries[current] = []
        elif line.strip().startswith("--hash=sha256:") and current:
            entries[current].append(line.strip().split(":", 1)[1].rstrip(" \\"))
    return entries


@pytest.mark.parametrize("kernel", ["main", "legacy", "mlnet"])
def test_every_kernels_lock_pins_each_package_with_hashes(kernel):
    entries = _lock_entries(kernel)
    assert len(entries) > 20 and all("==" in pin for pin in entries), kernel
    unhashed = [pin for pin, hashes in entries.items() if not hashes]
    assert unhashed == [], f"{kernel}.lock.txt: pins without a hash: {unhashed}"
    assert all(len(h) == 64 for hashes in entries.values() for h in hashes)


def test_the_lock_reader_sees_a_pin_without_hash():
    text = "a==1 \\\n    --hash=sha256:" + "0" * 64 + "\n    # via b\nb==2\n"
    assert _lock_entries("", text) == {"a==1": ["0" * 64], "b==2": []}


def test_the_main_lock_hashes_the_cpu_torch_and_keeps_the_top_level_pins():
    entries = _lock_entries("main")
    assert [p for p in entries if p.startswith("torch==")] == ["torch==2.13.0+cpu"]
    pins = [ln.split("#")[0].strip() for ln in (ROOT / "requirements" / "main.txt").read_text().splitlines()]
    wanted = {p.lower().replace("_", "-") for p in pins if "==" in p and not p.startswith("torch==")}
    assert wanted <= {p.lower().replace("_", "-") for p in entries}, wanted - set(entries)


def test_lock_sh_locks_every_kernel_with_uv_for_its_own_python():
    text = (ROOT / "scripts" / "lock.sh").read_text()
    assert "pip compile" in text and "--generate-hashes" in text and "--python-platform" in text
    for kernel, version in (("main", "3.11"), ("legacy", "3.11"), ("mlnet", "3.8")):
        block = text.split(f"      {kernel})", 1)[1].split(";;", 1)[0]
        assert f"--python-version {version}" in block, block


def test_the_setup_scripts_docstring_examples_hold():
    import doctest

    failed, tried = doctest.testmod(torch_index)
    assert tried > 0 and failed == 0


def test_a_whole_setup_run_with_a_fake_pip_builds_both_kernels_then_only_checks(tmp_path):
    """scripts/setup.sh end to end, executed (not sourced), with a fake interpreter standing in for pip."""
    log = _fake_python(tmp_path)
    _fake(tmp_path / "bin", "dpkg-query", 'printf "install ok installed"')
    venvs = tmp_path / "venvs"
    # No Python 3.8 here (pyenv hidden): the mlnet kernel is skipped with a warning, as on a machine without one.
    path = ":".join(p for p in os.environ["PATH"].split(":") if ".pyenv" not in p)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{path}", "WORKBOOK_VENVS": str(venvs),
           "WORKBOOK_PYTHON": "fakepython", "WORKBOOK_TORCH_INDEX": "never", "PYENV_ROOT": str(tmp_path / "pyenv")}
    env.pop("WORKBOOK_PYTHON38", None)
    first = subprocess.run(["bash", str(SETUP)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    calls = log.read_text()
    for kernel in ("main", "legacy"):
        lock = ROOT / "requirements" / f"{kernel}.lock.txt"
        assert "--hash=" in lock.read_text()  # every lock is hashed: installed exactly, nothing resolved
        extra = " --no-build-isolation" if kernel == "legacy" else ""
        assert f"--require-hashes --no-deps{extra} -r requirements/{kernel}.lock.txt" in calls, calls
        assert (venvs / "main" / "share" / "jupyter" / "kernels" / f"onnx-workbook-{kernel}" / "kernel.json").exists()
    assert "removing packages no longer in main.lock.txt: old-package old-thing" in first.stdout
    assert "warning: no Python 3.8 found for the mlnet kernel" in first.stdout and "pyenv install 3.8" in first.stdout
    assert not (venvs / "mlnet").exists(), "without Python 3.8 the other kernels install and mlnet is left out"
    again = subprocess.run(["bash", str(SETUP)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stdout.count("kernel: up to date") == 2, again.stdout + again.stderr


def _local_torch_wheel() -> Path | None:
    """This machine's local +cpu torch wheel (pip's find-links folder), if there is one."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60).stdout
    folders = [ln.split("=", 1)[1].strip("'\" ") for ln in out.splitlines() if "find-links=" in ln]
    folders += os.environ.get("PIP_FIND_LINKS", "").split()
    for folder in folders:
        wheel = Path(folder.removeprefix("file://")) / WHEEL.format("+cpu")
        if wheel.is_file():
            return wheel
    return None


def _install_locked_torch(tmp_path: Path, folder: Path) -> subprocess.CompletedProcess:
    """pip with no config file and no index, torch only from ``folder`` (standing in for PyTorch's CPU index),
    resolving the main lock's hashed torch line as setup would (--require-hashes --no-deps)."""
    text = (ROOT / "requirements" / "main.lock.txt").read_text()
    start = text.index("\ntorch==") + 1
    line = text[start:].split("\n    #", 1)[0]  # the pin and its hashes, up to uv's "# via" comment
    req = tmp_path / "torch.lock.txt"
    req.write_text(line + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env |= {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(folder),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--require-hashes", "--no-deps",
                           "--ignore-installed", "-r", str(req)], env=env, capture_output=True, text=True, timeout=600)


def test_the_hashed_cpu_torch_installs_under_a_plain_pip_from_a_folder_of_that_wheel(tmp_path):
    wheel = _local_torch_wheel()
    if wheel is None:
        pytest.skip("no local +cpu torch wheel on this machine")
    folder = tmp_path / "cpu-index"
    folder.mkdir()
    (folder / wheel.name).symlink_to(wheel)
    out = _install_locked_torch(tmp_path, folder)
    assert out.returncode == 0 and "Would install torch-2.13.0+cpu" in out.stdout, out.stdout + out.stderr


def test_other_bytes_under_the_torch_wheels_name_are_refused(tmp_path):
    folder = tmp_path / "cpu-index"
    folder.mkdir()
    (folder / WHEEL.format("+cpu")).write_bytes(b"not the wheel PyTorch publishes")
    out = _install_locked_torch(tmp_path, folder)
    assert out.returncode != 0 and "DO NOT MATCH THE HASHES" in out.stderr, out.stdout + out.stderr
