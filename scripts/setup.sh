#!/usr/bin/env bash
# Set up the workbook: both kernels' virtual environments, the helpers package, Jupyter kernels,
# and the system packages the notebooks need. Idempotent: when nothing changed it only checks.
#
#   bash scripts/setup.sh            # what `make setup` runs
#   WORKBOOK_PYTHON=python3.11 ...   # the interpreter to build the venvs from (3.11: legacy needs it)
#   WORKBOOK_VENVS=/some/dir ...     # where the venvs go (default: .venvs in the repository)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venvs="${WORKBOOK_VENVS:-$root/.venvs}"
python="${WORKBOOK_PYTHON:-python3.11}"
started=$(date +%s)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

# --- system packages (Debian names in requirements/apt.txt) --------------------------------------
system_packages() {
  local wanted missing=()
  wanted=$(grep -v '^\s*#' requirements/apt.txt | tr -s ' \n' ' ')
  for pkg in $wanted; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    say "warning: cannot install system packages here (no apt-get); install: ${missing[*]}"
  elif [ "$(id -u)" = 0 ]; then
    say "installing system packages: ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "missing system packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}"
  fi
}

# --- offline room: WORKBOOK_WHEELHOUSE=DIR (a folder from `make wheelhouse`) installs with no registry ---
use_wheelhouse() {
  local dir=${WORKBOOK_WHEELHOUSE:-} deb missing=()
  [ -n "$dir" ] || return 0
  [ -d "$dir/wheels" ] || die "WORKBOOK_WHEELHOUSE=$dir has no wheels/ folder; make one with: make wheelhouse WHEELHOUSE=$dir"
  dir=$(cd "$dir" && pwd)
  export PIP_NO_INDEX=1 PIP_FIND_LINKS="$dir/wheels"  # every pip call below: these files only
  say "offline: pip installs from $dir/wheels only"
  # When the machine lacks some of debs/, install those and the newer versions of what it has in older
  # ones (a new package may need them); never a downgrade, nothing when nothing is missing.
  local newer=() pkg have
  for deb in "$dir"/debs/*.deb; do
    [ -f "$deb" ] || continue
    pkg=$(dpkg-deb -f "$deb" Package)
    have=$(dpkg-query -W -f='${Status} ${Version}' "$pkg" 2>/dev/null | sed -n 's/^install ok installed //p' || true)
    if [ -z "$have" ]; then missing+=("$deb")
    elif dpkg --compare-versions "$have" lt "$(dpkg-deb -f "$deb" Version)"; then newer+=("$deb"); fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  missing+=("${newer[@]}")
  [ "$(id -u)" = 0 ] || die "missing system packages; install them with: sudo apt-get install ${missing[*]}"
  say "offline: installing ${#missing[@]} Debian packages from $dir/debs"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- one venv per kernel -------------------------------------------------------------------------
stamp_of() {  # everything that decides a kernel's contents
  cat "$@" pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16
}

quietly() {  # quietly LOG CMD...: run CMD, show its output only if it fails
  local log=$1; shift
  "$@" >"$log" 2>&1 || { cat "$log" >&2; die "failed: $*"; }
}

pip_in() {  # pip_in VENV_DIR ARGS...: pip, without the noise of this machine's unused local index paths
  local dir=$1; shift
  "$dir/bin/python" -m pip "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

make_venv() {  # make_venv NAME DISPLAY_NAME REQUIREMENTS LOCK [EXTRA PIP ARGS...]
  local name=$1 display=$2 req=$3 lock=$4; shift 4
  local dir="$venvs/$name" stamp
  stamp=$(stamp_of "$req" "$lock" requirements/legacy-build.txt)
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.workbook-stamp" 2>/dev/null)" = "$stamp" ]; then
    say "$name kernel: up to date ($dir)"
    return 0
  fi
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c 'import sys' 2>/dev/null; then
    say "$name kernel: requirements changed, updating $dir (for a clean rebuild: rm -rf $dir)"
  else
    say "$name kernel: installing $req into $dir (a few minutes the first time)"
    rm -rf "$dir"
    "$python" -m venv "$dir"
  fi
  pip_in "$dir" install -q --upgrade "pip==26.3"
  if [ "$name" = legacy ]; then
    pip_in "$dir" install -q -r requirements/legacy-build.txt
  fi
  pip_in "$dir" install -q "$@" -r "$req" -c "$lock"
  quietly "$dir/setup-helpers.log" pip_in "$dir" install -q --no-deps --no-build-isolation -e "$root"
  pip_in "$dir" check >/dev/null || die "$name kernel: pip check found broken requirements (run $dir/bin/pip check)"
  echo "$stamp" > "$dir/.workbook-stamp"
  say "$name kernel: ready"
}

register_kernel() {  # register_kernel NAME DISPLAY_NAME: into the main venv, where Jupyter looks
  local name=$1 display=$2 spec="$venvs/main/share/jupyter/kernels/onnx-workbook-$1/kernel.json"
  if [ -f "$spec" ] && grep -qF "$venvs/$name/bin/python" "$spec"; then
    return 0
  fi
  quietly "$venvs/$name/kernel-install.log" "$venvs/$name/bin/python" -m ipykernel install \
    --prefix "$venvs/main" --name "onnx-workbook-$name" --display-name "$display"
  say "registered Jupyter kernel onnx-workbook-$name ($display)"
}

command -v "$python" >/dev/null || die "$python not found. Install Python 3.11 (the legacy kernel cannot use 3.12+), or set WORKBOOK_PYTHON."
"$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "$python is $("$python" --version 2>&1); the workbook needs Python 3.11 (Chainer and MXNet stop there). Set WORKBOOK_PYTHON."

mkdir -p "$venvs"
# One setup at a time: a second one (another terminal, a parallel test run) waits for the first.
exec 9>"$venvs/.setup.lock"
flock 9
use_wheelhouse
system_packages
# Both kernels install at once (downloads overlap); the legacy one reports when it is done.
make_venv legacy "ONNX workbook: legacy" requirements/legacy.txt requirements/legacy.lock.txt \
  --no-build-isolation > "$venvs/legacy-setup.log" 2>&1 &
legacy_pid=$!
make_venv main "ONNX workbook: main" requirements/main.txt requirements/main.lock.txt
legacy_ok=0
wait "$legacy_pid" || legacy_ok=$?
cat "$venvs/legacy-setup.log"
[ "$legacy_ok" = 0 ] || die "the legacy kernel's setup failed (log above, also in $venvs/legacy-setup.log)"
register_kernel main "ONNX workbook · main (PyTorch, TensorFlow, scikit-learn)"
register_kernel legacy "ONNX workbook · legacy (Chainer, MXNet)"
say "done in $(( $(date +%s) - started )) s"
