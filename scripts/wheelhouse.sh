#!/usr/bin/env bash
# Pack everything setup installs from the package registries into one folder for a room without network:
# the wheels (and the few sdists) of every kernel's lock file, their build requirements, the Debian
# packages of requirements/apt.txt with the dependencies a fresh Debian lacks, and the built shared models.
#
#   make wheelhouse                                  # -> build/wheelhouse (WHEELHOUSE=/media/usb/wheelhouse for another)
#   bash scripts/wheelhouse.sh [options] [DEST]
#     --kernel NAME[=LOCK]   only this kernel (repeatable); LOCK replaces requirements/NAME.lock.txt
#     --no-debs              skip the Debian packages
#     --no-models            skip build/models
#     --no-npm               skip reveal.js (npm-cache/, for make slides)
#   WORKBOOK_WHEELHOUSE=DEST make setup               # then installs from DEST, with the network off
#
# Each kernel's files are downloaded by that kernel's own pip (its venv under WORKBOOK_VENVS, default .venvs),
# so the wheels' Python and platform tags fit it. The folder fits machines like the one that built it (same
# OS, CPU architecture and Python versions); build it on such a machine.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venvs="${WORKBOOK_VENVS:-$root/.venvs}"
dest="" debs=1 models=1 npm=1 kernels=()
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) kernels+=("$2"); shift 2 ;;
    --no-debs) debs=0; shift ;;
    --no-models) models=0; shift ;;
    --no-npm) npm=0; shift ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "wheelhouse: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) dest=$1; shift ;;
  esac
done
dest="${dest:-$root/build/wheelhouse}"
mkdir -p "$dest/wheels"
dest="$(cd "$dest" && pwd)"
started=$(date +%s)

say() { printf '\033[1m[wheelhouse]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[wheelhouse] error:\033[0m %s\n' "$*" >&2; exit 1; }
pip_of() {  # pip_of PYTHON ARGS...: pip without the noise of this machine's unused local index paths
  local py=$1; shift
  "$py" -m pip "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

if [ ${#kernels[@]} -eq 0 ]; then  # every kernel with a lock file
  for lock in "$root"/requirements/*.lock.txt; do kernels+=("$(basename "$lock" .lock.txt)"); done
fi

# --- wheels: one pip per kernel, so each gets the files for its own Python --------------------------
for spec in "${kernels[@]}"; do
  name=${spec%%=*} lock="$root/requirements/$name.lock.txt"
  if [ "$spec" != "$name" ]; then lock=${spec#*=}; fi
  py="$venvs/$name/bin/python"
  [ -f "$lock" ] || die "no lock file $lock for kernel $name"
  if [ ! -x "$py" ]; then
    say "warning: skipping kernel $name: its venv $venvs/$name is missing (run make setup first)"
    continue
  fi
  say "$name kernel: downloading $(grep -c '^[A-Za-z0-9]' "$lock") packages of $lock"
  # pip, setuptools and wheel at the venv's versions (pip freeze leaves them out of the lock, yet setup
  # installs pip, and torch needs setuptools), and the build tools of the sdists (requirements/*-build.txt)
  mapfile -t tools < <("$py" -c 'import importlib.metadata as m
for name in ("pip", "setuptools", "wheel"):
    try:
        print(f"{name}=={m.version(name)}")
    except m.PackageNotFoundError:
        pass')
  pip_of "$py" download -q --only-binary=:all: --no-deps -d "$dest/wheels" "${tools[@]}"
  for build in "$root"/requirements/*-build.txt; do
    if [ -f "$build" ]; then pip_of "$py" download -q --only-binary=:all: -d "$dest/wheels" -r "$build"; fi
  done
  # The lock pins every package, so --no-deps; a wheel where one exists, else the sdist (e.g. chainer,
  # libsvm), whose metadata pip prepares with the venv's own build tools (--no-build-isolation).
  pip_of "$py" download -q --no-deps --prefer-binary --no-build-isolation -d "$dest/wheels" -r "$lock"
done

# --- Debian packages: requirements/apt.txt and the dependencies a minimal Debian lacks --------------
if [ "$debs" = 1 ] && command -v apt-get >/dev/null; then
  wanted=$(grep -v '^\s*#' "$root/requirements/apt.txt" | tr -s ' \n' ' ')
  # What apt would install on a minimal Debian: simulate the install against a dpkg status that holds only
  # the essential and required packages (and apt) of this machine, with their installed dependencies.
  base_status="$dest/.minimal-dpkg-status"
  python3 - "$base_status" <<'PY'
import re, subprocess, sys
stanzas = [s for s in open("/var/lib/dpkg/status").read().split("\n\n") if s.strip()]
name = {s: re.search(r"^Package: (\S+)", s, re.M).group(1) for s in stanzas}
seed = [name[s] for s in stanzas if re.search(r"^(Priority: required|Essential: yes)$", s, re.M)] + ["apt"]
out = subprocess.run(["apt-cache", "depends", "--recurse", "--installed", "--no-recommends", "--no-suggests",
                      "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *seed],
                     capture_output=True, text=True, check=True).stdout
base = {line for line in out.splitlines() if re.match(r"^[a-z0-9]", line)}
open(sys.argv[1], "w").write("\n\n".join(s for s in stanzas if name[s] in base) + "\n")
PY
  # shellcheck disable=SC2086
  mapfile -t needed < <(apt-get -s -o Dir::State::status="$base_status" install --no-install-recommends $wanted \
    | sed -n 's/^Inst \([^ ]*\) .*/\1/p')
  rm -f "$base_status"
  [ ${#needed[@]} -gt 0 ] || die "apt-get could not plan the install of: $wanted"
  say "Debian packages: downloading ${#needed[@]} (apt.txt and its dependencies) into debs/"
  mkdir -p "$dest/debs"
  chmod 777 "$dest/debs" 2>/dev/null || true  # apt downloads as the unprivileged _apt user
  (cd "$dest/debs" && apt-get download -q "${needed[@]}" >/dev/null 2>"$dest/debs.log") \
    || { cat "$dest/debs.log" >&2; die "apt-get download failed (try apt-get update first)"; }
  rm -f "$dest/debs.log"
elif [ "$debs" = 1 ]; then
  say "warning: no apt-get here: the folder holds no Debian packages"
fi

# --- reveal.js for `make slides`: npm's cache of workshop/package-lock.json (npm ci --offline --cache) -------
if [ "$npm" = 0 ]; then
  :
elif command -v npm >/dev/null; then
  say "npm: caching workshop/package-lock.json's packages into npm-cache/"
  npm ci --prefix "$root/workshop" --ignore-scripts --no-audit --no-fund --cache "$dest/npm-cache" >/dev/null
else
  say "warning: no npm here: the folder holds no reveal.js (make slides needs it)"
fi

# --- the shared models the workbook built (optional) ------------------------------------------------
build="${ONNX_WORKBOOK_BUILD:-build}"
[[ "$build" = /* ]] || build="$root/$build"  # a relative setting is from the repository root, as in helpers.paths
models_dir="$build/models"
if [ "$models" = 1 ] && [ -d "$models_dir" ]; then
  say "models: copying $models_dir"
  rm -rf "$dest/models" && cp -r "$models_dir" "$dest/models"
fi

cat > "$dest/README.txt" <<EOF
onnx-workbook offline bundle, made $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -sm) by scripts/wheelhouse.sh.
Copy this folder to the machine, then in the repository:  WORKBOOK_WHEELHOUSE=/path/to/this/folder make setup
wheels/  every kernel's wheels and sdists (pip --no-index --find-links)
debs/    Debian packages of requirements/apt.txt and their dependencies (installed when missing)
npm-cache/  reveal.js for make slides (npm ci --prefix workshop --offline --cache npm-cache)
models/  the workbook's built models (copy to build/models to skip rebuilding them)
EOF

count=$(find "$dest/wheels" -type f | wc -l)
say "wheels/: $count files, $(du -sh "$dest/wheels" | cut -f1)"
if [ -d "$dest/debs" ]; then say "debs/: $(find "$dest/debs" -name '*.deb' | wc -l) packages, $(du -sh "$dest/debs" | cut -f1)"; fi
if [ -d "$dest/npm-cache" ]; then say "npm-cache/: $(du -sh "$dest/npm-cache" | cut -f1)"; fi
if [ -d "$dest/models" ]; then say "models/: $(du -sh "$dest/models" | cut -f1)"; fi
say "total: $(du -sh "$dest" | cut -f1) in $dest ($(( $(date +%s) - started )) s)"
