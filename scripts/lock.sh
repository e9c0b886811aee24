#!/usr/bin/env bash
# Refresh requirements/*.lock.txt (and environment.yml) from the installed kernels, after changing a pin:
#   edit requirements/main.txt, delete requirements/main.lock.txt's line for it, `make setup`, then this.
#
#   bash scripts/lock.sh            # name==version per package (pip freeze)
#   bash scripts/lock.sh --hashes   # each with its sha256 hashes: setup then installs with --require-hashes
#                                   # --no-deps exactly the lock, and uninstalls what the lock dropped
#
# Hashes come from PyPI's JSON simple API (scripts/lock_hashes.py) for every package a Linux x86_64
# CPython 3.11 can install. The +cpu torch build is not on PyPI: its hashes come from PyTorch's CPU
# index, or, where that index cannot be reached (this machine), from the wheel in pip's local wheel
# folder. Such a lock installs elsewhere only if that local wheel is the file PyTorch publishes; the
# lock carries a comment saying so. Re-lock with --hashes where download.pytorch.org answers to be sure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venvs="${WORKBOOK_VENVS:-$root/.venvs}"
hashes=0
[ "${1:-}" = "--hashes" ] && hashes=1
# Kernels whose lock gets hashes with --hashes. The legacy kernel's packages all come from PyPI, so its
# hashes are PyPI's. The main kernel is left out by default: its torch==X+cpu comes from PyTorch's CPU index,
# which cannot be reached from the machines this lock is made on, so its hash could only be the local
# wheel's (HASHED_KERNELS="main legacy" where download.pytorch.org answers). The mlnet kernel (Python 3.8)
# is locked by hand (requirements/mlnet.lock.txt): lock_hashes.py picks CPython 3.11 files.
hashed=" ${HASHED_KERNELS:-legacy} "
for kernel in main legacy; do
  lock="$root/requirements/$kernel.lock.txt"
  frozen=$(mktemp)
  "$venvs/$kernel/bin/python" -m pip freeze --exclude-editable > "$frozen"
  if [ "$hashes" = 1 ] && [[ "$hashed" == *" $kernel "* ]]; then
    # the main venv's python: it has packaging, which lock_hashes.py uses to read file names
    "$venvs/main/bin/python" "$root/scripts/lock_hashes.py" "$frozen" > "$lock.new"
    mv "$lock.new" "$lock"
  else
    cp "$frozen" "$lock"
  fi
  rm -f "$frozen"
  echo "wrote requirements/$kernel.lock.txt ($(grep -c '==' "$lock") packages$(grep -q -- '--hash=' "$lock" && echo ", with hashes"))"
done

# environment.yml mirrors the main kernel's top-level pins for conda users.
python3 - "$root" <<'PY'
import sys
from pathlib import Path

root = Path(sys.argv[1])
pins = [line.split("#", 1)[0].strip() for line in (root / "requirements/main.txt").read_text().splitlines()]
body = "\n".join(["      - --extra-index-url https://download.pytorch.org/whl/cpu"] + [f"      - {p}" for p in pins if "==" in p])
(root / "environment.yml").write_text(f"""# Conda users: `conda env create -f environment.yml && conda activate onnx-workbook`, then
# `pip install --no-deps -e .` and `python -m ipykernel install --user --name onnx-workbook-main`.
# Generated from requirements/main.txt by scripts/lock.sh (a test checks the pins agree). The legacy
# kernel (Chainer, MXNet) needs its own environment: see README, "Kernels". PyTorch's CPU index is
# an extra index so that torch resolves to its CPU build (PyPI's torch is the multi-GB CUDA one).
name: onnx-workbook
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
{body}
""")
print("wrote environment.yml")
PY
