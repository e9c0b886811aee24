#!/usr/bin/env bash
# Refresh requirements/*.lock.txt (and environment.yml) from the installed kernels, after changing a pin:
#   edit requirements/main.txt, delete requirements/main.lock.txt's line for it, `make setup`, then this.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venvs="${WORKBOOK_VENVS:-$root/.venvs}"
for kernel in main legacy; do
  "$venvs/$kernel/bin/python" -m pip freeze --exclude-editable > "$root/requirements/$kernel.lock.txt"
  echo "wrote requirements/$kernel.lock.txt ($(wc -l < "$root/requirements/$kernel.lock.txt") packages)"
done

# environment.yml mirrors the main kernel's top-level pins for conda users.
python3 - "$root" <<'PY'
import sys
from pathlib import Path

root = Path(sys.argv[1])
pins = [line.split("#", 1)[0].strip() for line in (root / "requirements/main.txt").read_text().splitlines()]
body = "\n".join(f"      - {p}" for p in pins if "==" in p)
(root / "environment.yml").write_text(f"""# Conda users: `conda env create -f environment.yml && conda activate onnx-workbook`, then
# `pip install --no-deps -e .` and `python -m ipykernel install --user --name onnx-workbook-main`.
# Generated from requirements/main.txt by scripts/lock.sh (a test checks the pins agree). The legacy
# kernel (Chainer, MXNet) needs its own environment: see README, "Kernels".
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
