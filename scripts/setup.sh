#!/usr/bin/env bash
# Set up the workbook: both kernels' virtual environments, the helpers package, Jupyter kernels,
# and the system packages the notebooks need. Idempotent: when nothing changed it only checks.
#
#   bash scripts/setup.sh            # what `make setup` runs
#   WORKBOOK_PYTHON=python3.11 ...   # the interpreter to build the venvs from (3.11: legacy needs it)
#   WORKBOOK_VENVS=/some/dir ...     # where the venvs go (default: .venvs in the repository)
#   WORKBOOK_TORCH_INDEX=auto|always|never   # add PyTorch's CPU wheel index (auto: only when pip lacks torch+cpu)
#   bash scripts/setup.sh --lint     # only the small lint venv (.venvs/lint: ruff), for `make lint`
#
# The functions below are also sourced by tests/test_setup.py (the main part runs only when executed).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venvs="${WORKBOOK_VENVS:-$root/.venvs}"
python="${WORKBOOK_PYTHON:-python3.11}"
started=$(date +%s)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
warn() { printf '\033[33m[setup] warning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

# --- system packages (Debian names in requirements/apt.txt) --------------------------------------
missing_system_packages() {  # the packages of requirements/apt.txt that dpkg does not know as installed
  local pkg
  for pkg in $(sed 's/#.*//' "$root/requirements/apt.txt"); do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; }

system_packages() {  # install what is missing as root; otherwise say the exact command and go on
  local missing line
  missing=$(missing_system_packages | tr '\n' ' ' | sed 's/ *$//')
  [ -z "$missing" ] && return 0
  line="sudo apt-get install -y --no-install-recommends $missing"
  if ! command -v apt-get >/dev/null; then
    warn "no apt-get here: install the equivalents of these Debian packages yourself: $missing"
  elif [ "$(id -u)" = 0 ]; then
    say "installing system packages: $missing"
    if [ -n "${WORKBOOK_WHEELHOUSE:-}" ]; then  # offline: there is no mirror to refresh the lists from
      warn "offline (WORKBOOK_WHEELHOUSE): no apt-get update; trying the package lists this machine has"
    else
      apt-get update -qq >/dev/null || warn "apt-get update failed; trying the installed package lists"
    fi
    if ! apt_install $missing; then  # one unknown name (e.g. chromium on Ubuntu) must not block the rest
      local pkg failed=""
      for pkg in $missing; do apt_install "$pkg" || failed="$failed $pkg"; done
      [ -n "$failed" ] && warn "apt-get could not install:$failed; the kernels install anyway. Retry: ${line#sudo }"
    fi
  else
    warn "not root, so these Debian packages were not installed: $missing"
    warn "the kernels install anyway; a notebook that needs one fails until you run: $line"
  fi
  return 0
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

lock_has_hashes() { grep -q -- '--hash=' "$1"; }

torch_index_args() {  # torch_index_args VENV_DIR LOCK: "" or the extra index PyTorch's +cpu pins need
  "$1/bin/python" "$root/scripts/torch_index.py" "$2"
}

# Prints the names pip freeze (stdin) lists and neither the lock (argv[1]) nor argv[2:] names.
_UNLOCKED_PY='
import re, sys
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
pinned = lambda lines: {norm(m.group(1)) for m in (re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(==|@)", ln) for ln in lines) if m}
keep = pinned(open(sys.argv[1]).read().splitlines()) | {norm(k) for k in sys.argv[2:]} | {"pip", "setuptools", "wheel"}
print(" ".join(sorted(pinned(sys.stdin.read().splitlines()) - keep)))
'

sync_to_lock() {  # sync_to_lock VENV_DIR LOCK [KEEP...]: uninstall packages the lock no longer names
  local dir=$1 lock=$2; shift 2
  local extra
  extra=$(pip_in "$dir" freeze --exclude-editable | "$dir/bin/python" -c "$_UNLOCKED_PY" "$lock" "$@")
  if [ -n "$extra" ]; then
    say "$(basename "$dir") kernel: removing packages no longer in $(basename "$lock"): $extra"
    # shellcheck disable=SC2086
    pip_in "$dir" uninstall -q -y $extra
  fi
}

install_locked() {  # install_locked VENV_DIR REQUIREMENTS LOCK [EXTRA PIP ARGS...]
  local dir=$1 req=$2 lock=$3; shift 3
  local index
  index=$(torch_index_args "$dir" "$lock" | tr '\n' ' ')
  if lock_has_hashes "$lock"; then  # the lock names every package with its hashes: install exactly it
    # shellcheck disable=SC2086
    pip_in "$dir" install -q --require-hashes --no-deps $index "$@" -r "$lock"
  else  # a lock without hashes (hand-made; scripts/lock.sh always writes hashes): resolve the pins under it
    # shellcheck disable=SC2086
    pip_in "$dir" install -q $index "$@" -r "$req" -c "$lock"
  fi
  sync_to_lock "$dir" "$lock" $(cat "$root"/requirements/*-build.txt | sed 's/#.*//; s/==.*//')
}

make_venv() {  # make_venv NAME DISPLAY_NAME REQUIREMENTS LOCK [EXTRA PIP ARGS...]
  # VENV_PYTHON (base interpreter, default $python) and VENV_PIP (pip pin) override per kernel.
  local name=$1 display=$2 req=$3 lock=$4; shift 4
  local dir="$venvs/$name" stamp base="${VENV_PYTHON:-$python}" pip_pin="${VENV_PIP:-pip==26.3}"
  local helpers_flags=(--no-deps --no-build-isolation)
  stamp=$(stamp_of "$req" "$lock" requirements/legacy-build.txt requirements/mlnet-build.txt)
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.workbook-stamp" 2>/dev/null)" = "$stamp" ]; then
    say "$name kernel: up to date ($dir)"
    return 0
  fi
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c 'import sys' 2>/dev/null; then
    say "$name kernel: requirements changed, updating $dir (for a clean rebuild: rm -rf $dir)"
  else
    say "$name kernel: installing $req into $dir (a few minutes the first time)"
    rm -rf "$dir"
    "$base" -m venv "$dir"
  fi
  pip_in "$dir" install -q --upgrade "$pip_pin"
  if [ -f "requirements/$name-build.txt" ]; then
    pip_in "$dir" install -q -r "requirements/$name-build.txt"
  fi
  install_locked "$dir" "$req" "$lock" "$@"
  # helpers declares Python >= 3.11; the mlnet kernel (3.8) imports only the few modules it needs.
  [ "$name" = mlnet ] && helpers_flags+=(--ignore-requires-python)
  quietly "$dir/setup-helpers.log" pip_in "$dir" install -q "${helpers_flags[@]}" -e "$root"
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

# --- JavaScript packages for the browser and Node.js notebook (web/package-lock.json) ------------
npm_packages() {  # npm_packages DIR WHAT USED_BY: npm ci in DIR when its package-lock.json changed; without Node, say so
  local dir=$1 what=$2 used_by=$3 lock="$1/package-lock.json" stamp_file="$1/node_modules/.workbook-stamp" stamp
  stamp=$(sha256sum "$lock" | cut -c1-16)
  [ "$(cat "$stamp_file" 2>/dev/null)" = "$stamp" ] && { say "$dir packages: up to date ($dir/node_modules)"; return 0; }
  if command -v node >/dev/null && ! command -v npm >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
     && [ -z "${WORKBOOK_WHEELHOUSE:-}" ]; then  # offline there is no mirror to fetch npm from: said below
    # Debian's nodejs comes without npm (a separate package); NodeSource's nodejs includes it and conflicts with it.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null 2>&1 || true
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "warning: Node.js or npm missing: $used_by cannot run without them;" \
        "the rest of the workbook is set up. Install them (Debian: apt-get install nodejs npm), then run setup again."
    return 0
  fi
  say "$dir packages: npm ci in $dir/ ($what)"
  # --ignore-scripts: onnxruntime-node's install script fetches optional GPU binaries from a host that may be
  # unreachable; the CPU binding it ships is complete without it. Offline (WORKBOOK_WHEELHOUSE): npm's cache there.
  if (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
        ${WORKBOOK_WHEELHOUSE:+--offline --cache "$WORKBOOK_WHEELHOUSE/npm-cache"} >/dev/null); then
    echo "$stamp" > "$stamp_file"
  else
    say "warning: npm ci failed in $dir/ (run it there to see why); the Python notebooks are unaffected."
  fi
}

web_packages() {  # the JavaScript packages of notebook 42 and of the workshop slides
  npm_packages web "onnxruntime-web, onnxruntime-node; about 430 MB" "notebook 42 (browser, Node.js)"
  npm_packages workshop "reveal.js for make slides; about 3 MB" "make slides"
}

lint_venv() {  # a small venv with only the pinned ruff: `make lint` needs nothing else
  local dir="$venvs/lint" ruff
  ruff=$(grep -E '^ruff==' "$root/requirements/main.txt" | head -1)
  [ -n "$ruff" ] || die "requirements/main.txt pins no ruff (ruff==X.Y.Z)"
  if [ -x "$dir/bin/ruff" ] && [ "$(cat "$dir/.workbook-stamp" 2>/dev/null)" = "$ruff" ]; then
    return 0
  fi
  local base=$python
  command -v "$base" >/dev/null || base=python3
  say "lint: installing $ruff into $dir"
  rm -rf "$dir"
  "$base" -m venv "$dir" || die "could not create $dir: install python3-venv (${base})"
  pip_in "$dir" install -q "$ruff"
  echo "$ruff" > "$dir/.workbook-stamp"
}

main() {
  cd "$root"
  if [ "${1:-}" = "--lint" ]; then
    mkdir -p "$venvs"
    lint_venv
    return 0
  fi
  command -v "$python" >/dev/null || die "$python not found. Install Python 3.11 (the legacy kernel cannot use 3.12+), or set WORKBOOK_PYTHON."
  "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || die "$python is $("$python" --version 2>&1); the workbook needs Python 3.11 (Chainer and MXNet stop there). Set WORKBOOK_PYTHON."

  mkdir -p "$venvs"
  # One setup at a time: a second one (another terminal, a parallel test run) waits for the first.
  exec 9>"$venvs/.setup.lock"
  flock 9
  use_wheelhouse
  system_packages
  # The kernels install at once (downloads overlap); the legacy and mlnet ones report when they are done.
  make_venv legacy "ONNX workbook: legacy" requirements/legacy.txt requirements/legacy.lock.txt \
    --no-build-isolation > "$venvs/legacy-setup.log" 2>&1 &
  local legacy_pid=$! legacy_ok=0 mlnet_pid="" mlnet_ok=0 python38
  # The mlnet kernel needs CPython 3.8 (NimbusML); without one, setup says how to get it and carries on.
  if python38=$(bash scripts/find_python38.sh 2>"$venvs/mlnet-find.log"); then
    VENV_PYTHON="$python38" VENV_PIP="pip==25.0.1" make_venv mlnet "ONNX workbook: mlnet" \
      requirements/mlnet.txt requirements/mlnet.lock.txt > "$venvs/mlnet-setup.log" 2>&1 &
    mlnet_pid=$!
  else
    say "warning: $(cat "$venvs/mlnet-find.log")"
  fi
  make_venv main "ONNX workbook: main" requirements/main.txt requirements/main.lock.txt
  wait "$legacy_pid" || legacy_ok=$?
  cat "$venvs/legacy-setup.log"
  [ "$legacy_ok" = 0 ] || die "the legacy kernel's setup failed (log above, also in $venvs/legacy-setup.log)"
  register_kernel main "ONNX workbook · main (PyTorch, TensorFlow, scikit-learn)"
  register_kernel legacy "ONNX workbook · legacy (Chainer, MXNet)"
  if [ -n "$mlnet_pid" ]; then
    wait "$mlnet_pid" || mlnet_ok=$?
    cat "$venvs/mlnet-setup.log"
    [ "$mlnet_ok" = 0 ] || die "the mlnet kernel's setup failed (log above, also in $venvs/mlnet-setup.log)"
    register_kernel mlnet "ONNX workbook · mlnet (ML.NET via NimbusML, Python 3.8)"
  fi
  web_packages
  say "done in $(( $(date +%s) - started )) s"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
