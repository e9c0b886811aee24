#!/usr/bin/env bash
# Print the path of a CPython 3.8 interpreter for the mlnet kernel (NimbusML needs 3.8), looking where a
# user would have one: $WORKBOOK_PYTHON38, python3.8 on PATH, pyenv's versions, conda's environments.
# Exits 1 with the ways to get one when there is none.
set -uo pipefail

is_38() { [ -n "$1" ] && [ -x "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 8))' 2>/dev/null; }

candidates=()
[ -n "${WORKBOOK_PYTHON38:-}" ] && candidates+=("$WORKBOOK_PYTHON38")
command -v python3.8 >/dev/null 2>&1 && candidates+=("$(command -v python3.8)")
pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
for dir in "$pyenv_root"/versions/3.8*/bin; do candidates+=("$dir/python3.8"); done
if command -v conda >/dev/null 2>&1; then
  while read -r env_dir; do candidates+=("$env_dir/bin/python3.8"); done \
    < <(conda env list 2>/dev/null | awk '$0 !~ /^#/ && NF {print $NF}')
fi

for candidate in "${candidates[@]}"; do
  if is_38 "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done
cat >&2 <<'MSG'
no Python 3.8 found for the mlnet kernel (ML.NET's NimbusML binding runs on CPython 3.8 only).
The other kernels install without it; notebooks 18 and 19 are reported as "needs Python 3.8".
To get one, any of:
  pyenv install 3.8.18                                   (then run make setup again)
  conda create -n py38 python=3.8                        (then run make setup again)
  WORKBOOK_PYTHON38=/path/to/python3.8 make setup        (an interpreter you already have)
MSG
exit 1
