#!/usr/bin/env bash
# Refresh requirements/{main,legacy,mlnet}.lock.txt from requirements/*.txt with uv, sha256 hashes included:
#   bash scripts/lock.sh                  # every kernel
#   bash scripts/lock.sh legacy mlnet     # some kernels
#   UV_ARGS="--upgrade-package onnx" bash scripts/lock.sh main   # let one package move
# After changing a pin in requirements/NAME.txt, run this: uv keeps every version the existing lock names
# (its output file) unless the requirements ask for another one, and writes each package with the hashes
# of its files on the index. setup then installs exactly the lock: pip install --require-hashes --no-deps.
#
# Each kernel is resolved for its own interpreter and platform (--python-version, --python-platform), not
# the machine that locks: main and legacy CPython 3.11.7 (soupsieve 4.1.3, through nbconvert, needs
# >= 3.11.5), mlnet CPython 3.8.18, all Linux x86_64 manylinux_2_28. uv writes the hashes of every file of a
# pinned version (all platforms); pip accepts any of them, so the lock stays valid on any Linux x86_64.
#
# torch==X+cpu is not on PyPI. uv looks for it in PyTorch's CPU index when that answers, and in pip's local
# wheel folders (find-links from pip's configuration or PIP_FIND_LINKS; this machine's /opt/wheels). Locked
# from the local folder, the hash is the local wheel's: another machine, which gets torch from
# https://download.pytorch.org/whl/cpu (scripts/torch_index.py), installs only if that file is byte-identical.
# For torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl it is: the local file's sha256, 6746dbcb...2b264667b,
# is the one PyTorch's index publishes (as its URL's #sha256= fragment), as recorded by several public projects
# that downloaded it from there; not re-checked against download.pytorch.org from here (unreachable).
# Chainer is an sdist whose build needs pkg_resources (setuptools < 81): its metadata is built in the legacy
# venv (--no-build-isolation-package), so run setup once before locking the legacy kernel.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venvs="${WORKBOOK_VENVS:-$root/.venvs}"
UV_VERSION=0.13.8
CPU_INDEX=https://download.pytorch.org/whl/cpu
cd "$root"

uv="${UV:-$(command -v uv || true)}"
if [ -z "$uv" ] || ! "$uv" --version | grep -q "^uv $UV_VERSION"; then
  uv="$venvs/uv/bin/uv"  # a small venv of its own, like the lint venv: not the kernels
  if ! [ -x "$uv" ] || ! "$uv" --version | grep -q "^uv $UV_VERSION"; then
    python3 -m venv "$venvs/uv"
    "$venvs/uv/bin/python" -m pip install -q "uv==$UV_VERSION"
  fi
fi

find_links=()  # pip's local wheel folders, for the +cpu torch
for value in "${PIP_FIND_LINKS:-}" $(python3 -m pip config list 2>/dev/null | sed -n "s/^[^=]*find-links='\(.*\)'$/\1/p"); do
  for dir in $value; do
    dir=${dir#file://}
    [ -d "$dir" ] && find_links+=(--find-links "$dir")
  done
done
torch_index=()
if curl -fsS --max-time 15 -o /dev/null "$CPU_INDEX/torch/" 2>/dev/null; then
  torch_index=(--extra-index-url "$CPU_INDEX" --index-strategy unsafe-best-match)
else
  echo "note: $CPU_INDEX cannot be reached: the +cpu torch is hashed from the local wheel folder" >&2
fi

compile() {  # compile KERNEL ARGS...: requirements/KERNEL.txt -> requirements/KERNEL.lock.txt
  local kernel=$1; shift
  # The old lock is uv's output file, so its versions are kept; its hashes are dropped first, so that every
  # hash is read fresh from the index (uv would carry the old ones over).
  [ -f "requirements/$kernel.lock.txt" ] && sed -i -e '/^ *--hash=/d' -e 's/ \\$//' "requirements/$kernel.lock.txt"
  # shellcheck disable=SC2086
  "$uv" pip compile "requirements/$kernel.txt" -o "requirements/$kernel.lock.txt" --generate-hashes \
    --python-platform x86_64-manylinux_2_28 --quiet "$@" ${UV_ARGS:-}
  echo "wrote requirements/$kernel.lock.txt ($(grep -c '^[A-Za-z0-9].*==' "requirements/$kernel.lock.txt") packages, with hashes)"
}

for kernel in "${@:-main legacy mlnet}"; do
  for k in $kernel; do
    case $k in
      main) compile main --python-version 3.11.7 "${find_links[@]}" "${torch_index[@]}" ;;
      legacy) [ -x "$venvs/legacy/bin/python" ] || { echo "run make setup first: chainer's metadata is built in $venvs/legacy" >&2; exit 1; }
              compile legacy --python-version 3.11.7 -c requirements/legacy-build.txt \
                --no-build-isolation-package chainer --python "$venvs/legacy/bin/python" ;;
      mlnet) compile mlnet --python-version 3.8.18 -c requirements/mlnet-build.txt ;;
      *) echo "unknown kernel $k: main, legacy or mlnet" >&2; exit 2 ;;
    esac
  done
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
