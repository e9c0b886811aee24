"""Does pip need PyTorch's CPU wheel index to install a lock file's ``+cpu`` pins? Prints the pip arguments.

PyPI has no ``torch==X+cpu`` (its plain ``torch`` is a multi-GB CUDA build); PyTorch publishes the CPU
builds on its own index. A machine whose pip already offers the pinned ``+cpu`` builds (a local wheel
folder, a mirror, a pip.conf naming that index) needs nothing; any other machine needs the index as an
extra one. Asking the configured indexes first keeps an install on a machine without access to
download.pytorch.org from waiting on it.

    python scripts/torch_index.py requirements/main.lock.txt           # prints "" or the two arguments
    WORKBOOK_TORCH_INDEX=always|never|auto (default auto) overrides the probe.

It asks with ``pip index versions NAME``, which reads the configured index, extra indexes and
find-links without downloading anything. Standard library only: setup runs it before any venv has
the workbook's packages.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
MODE_ENV = "WORKBOOK_TORCH_INDEX"
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#\\]+\+cpu)\b")


def local_cpu_pins(lines: Iterable[str]) -> dict[str, str]:
    """The ``name==version+cpu`` pins of a requirements or lock file, as ``{name: version}``.

    >>> local_cpu_pins(["numpy==2.4.6", "torch==2.13.0+cpu \\\\", "    --hash=sha256:ab"])
    {'torch': '2.13.0+cpu'}
    """
    pins = {}
    for line in lines:
        match = _PIN.match(line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def parse_available(output: str) -> set[str]:
    """The versions in ``pip index versions`` output (empty when pip found none).

    >>> sorted(parse_available("torch (2.15.0)\\nAvailable versions: 2.15.0, 2.13.0+cpu, 2.13.0\\n"))
    ['2.13.0', '2.13.0+cpu', '2.15.0']
    """
    for line in output.splitlines():
        if line.strip().startswith("Available versions:"):
            return {v.strip() for v in line.split(":", 1)[1].split(",") if v.strip()}
    return set()


def pip_available(pip: Sequence[str]) -> Callable[[str], set[str]]:
    """A probe: the versions of a package that ``pip`` (a command, e.g. ``[python, "-m", "pip"]``) can see."""

    def probe(name: str) -> set[str]:
        try:
            out = subprocess.run([*pip, "index", "versions", name], capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired):
            return set()
        return parse_available(out.stdout)

    return probe


def decide(pins: dict[str, str], available: Callable[[str], set[str]], mode: str = "auto") -> list[str]:
    """The pip arguments that make ``pins`` installable: ``[]`` or ``["--extra-index-url", CPU_INDEX]``.

    >>> decide({"torch": "2.13.0+cpu"}, lambda name: {"2.13.0+cpu"})
    []
    >>> decide({"torch": "2.13.0+cpu"}, lambda name: {"2.13.0"})
    ['--extra-index-url', 'https://download.pytorch.org/whl/cpu']
    >>> decide({}, lambda name: set())
    []
    """
    if mode not in ("auto", "always", "never"):
        raise ValueError(f"{MODE_ENV}={mode!r}: use auto, always or never.")
    if mode == "never" or not pins:
        return []
    if mode == "always" or any(version not in available(name) for name, version in pins.items()):
        return ["--extra-index-url", CPU_INDEX]
    return []


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python scripts/torch_index.py LOCK_FILE  (prints the pip arguments, one per line)",
              file=sys.stderr)
        return 2
    pins = local_cpu_pins(Path(args[0]).read_text(encoding="utf-8").splitlines())
    extra = decide(pins, pip_available([sys.executable, "-m", "pip"]), os.environ.get(MODE_ENV, "auto"))
    if extra:
        print(f"pip cannot find {', '.join(f'{n}=={v}' for n, v in pins.items())} in its configured indexes: "
              f"adding {CPU_INDEX}", file=sys.stderr)
    print("\n".join(extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
