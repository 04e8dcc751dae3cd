#!/usr/bin/env bash
# Installs parlab for a course hub into PREFIX, where every account can read and run it,
# independent of the installing user's home (`make hub-install PREFIX=/opt/parlab` runs it):
#
#   PREFIX/venv/            Python packages pinned by requirements/lock.txt and hub.txt, parlab
#                           with its native module, the Python kernel, nbgrader's extensions,
#                           nbgrader's system-wide config (course id, exchange: nbgrader_config.py)
#   PREFIX/rust/            a copy of the Rust toolchain (rustc, cargo, the standard library)
#   PREFIX/cargo/           the shared, read-only CARGO_HOME: every crate the core needs,
#                           vendored, and a config.toml that builds from them offline
#   PREFIX/bin/             evcxr_jupyter, parlab-singleuser (the hub's spawner command),
#                           parlab-course (sets up an instructor's course directory)
#   PREFIX/share/evcxr/     the Rust kernel's launcher: per-user build slots in ~/.cache/parlab
#   PREFIX/course/          the lessons (notebooks/), the core's source (rust_core/, standalone),
#                           nbgrader_config.py and scripts/assignments.py
#   PREFIX/proxy/           configurable-http-proxy from npm
#   PREFIX/etc/jupyterhub_config.py   the hub's configuration (deploy/jupyterhub_config.py)
#
# Usage: deploy/install.sh PREFIX
# Environment: HUB_PYTHON (the interpreter whose packages requirements/lock.txt pins; default
# python3), CHP_VERSION (configurable-http-proxy), EVCXR_JUPYTER (default: the evcxr_jupyter
# on PATH, which `make` builds).
#
# Where other accounts cannot run HUB_PYTHON (a pyenv in a mode-700 home: "bad interpreter:
# Permission denied"), the interpreter is copied into PREFIX/python, its standard library
# without its site-packages, and its library path set to its own lib/ (patchelf), so the venv
# links to that copy.
set -euo pipefail
umask 022
prefix=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
python=$(command -v "${HUB_PYTHON:-python3}" || true)
chp_version=${CHP_VERSION:?CHP_VERSION: the configurable-http-proxy version to install}

say() { printf 'hub-install: %s\n' "$*"; }
die() { printf 'hub-install: %s\n' "$*" >&2; exit 1; }
step_start=$SECONDS
step() { say "$1 ($((SECONDS - step_start)) s)"; step_start=$SECONDS; }

# Every account must reach what the hub runs: each folder above it searchable (o+x) and each
# file readable (o+r). A pyenv interpreter in a mode-700 home fails this, and a student then
# gets "bad interpreter: Permission denied"; say so before installing anything.
reachable() {
  "$python" - "$@" <<'PY'
import os, stat, sys, sysconfig

def problems(path):
    path = os.path.realpath(path)
    found, parts = [], path.split(os.sep)
    for i in range(2, len(parts) + 1):
        folder = os.sep.join(parts[:i]) or os.sep
        if not os.path.exists(folder):
            break
        mode = os.stat(folder).st_mode
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            found.append(f"{folder} (mode {stat.S_IMODE(mode):o}: other accounts cannot enter it)")
    if os.path.isfile(path) and not os.stat(path).st_mode & stat.S_IROTH:
        found.append(f"{path} (not readable by other accounts)")
    return found

paths = sys.argv[1:] or [sys.executable, sysconfig.get_paths()["stdlib"]]
if not sys.argv[1:]:  # the libpython this interpreter really loaded, if it is a shared one
    with open("/proc/self/maps") as maps:
        paths += sorted({line.split()[-1] for line in maps if "/libpython" in line})
bad = list(dict.fromkeys(p for path in paths for p in problems(path)))
if bad:
    print("\n".join(bad))
    sys.exit(1)
PY
}

[[ -x "$python" ]] || die "HUB_PYTHON=${HUB_PYTHON:-python3}: no such interpreter"
python=$("$python" -c 'import os, sys; print(os.path.realpath(sys.executable))')
orig_python=$python  # the interpreter as given (python below may become a copy of it)
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
if ! why=$(reachable "$prefix"); then
  die "PREFIX=$prefix is not reachable by other accounts:
$why"
fi
if why=$(reachable); then
  say "interpreter: $python (every account can run it)"
  rm -rf "$prefix/python"
else
  say "other accounts cannot run $python:"
  printf '%s\n' "$why" | sed 's/^/  /'
  base=$("$python" -c 'import sys; print(sys.base_prefix)')
  version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  if [[ ! -x "$prefix/python/bin/python$version" ]] || ! cmp -s "$python" "$prefix/python/.source-python"; then
    if ! command -v patchelf >/dev/null; then
      [[ $(id -u) == 0 ]] || die "patchelf is needed to copy the interpreter: apt-get install patchelf (as root), then again"
      apt-get install -y -q patchelf >/dev/null
    fi
    rm -rf "$prefix/python" "$prefix/venv"
    mkdir -p "$prefix/python/bin" "$prefix/python/lib"
    cp "$python" "$prefix/python/bin/python$version"
    ln -s "python$version" "$prefix/python/bin/python3"
    cp -P "$base"/lib/libpython3* "$prefix/python/lib/" 2>/dev/null || true
    [[ -d "$base/include" ]] && cp -r "$base/include" "$prefix/python/"
    # With its compiled modules (__pycache__, valid by the sources' times, which tar keeps): an
    # install nobody can write to would otherwise compile the standard library in every process.
    tar -C "$base/lib" -cf - --exclude="python$version/site-packages/*" "python$version" |
      tar -C "$prefix/python/lib" -xf -
    patchelf --set-rpath '$ORIGIN/../lib' "$prefix/python/bin/python$version"
    cp "$python" "$prefix/python/.source-python"  # what the copy was made from, to notice a change
    chmod -R a+rX "$prefix/python"
  fi
  python="$prefix/python/bin/python$version"
  why=$(reachable) || die "the copy $python is still out of other accounts' reach: $why"
  say "interpreter: $python, a copy of $base (Python $("$python" -c 'import platform; print(platform.python_version())'))"
fi
if [[ $(id -u) == 0 ]] && ! setpriv --reuid=65534 --regid=65534 --clear-groups -- "$python" -c 'import venv' 2>/dev/null; then
  die "$python does not run as the account nobody (uid 65534): students could not run it"
fi
step "interpreter"

# --- Python: the venv, pinned packages, parlab and its native module, the kernel -----------
# `make setup` has installed the packages requirements/lock.txt pins into the developers' venv
# (HUB_DEV_VENV, default .venv) for this same interpreter: the hub's venv is a copy of it,
# relocated (its scripts' #! lines, its links, pyvenv.cfg), with hub.txt added. That saves
# downloading and unpacking ~140 packages again; without such a venv, pip installs them.
dev_venv=$(realpath -m "${HUB_DEV_VENV:-$repo/.venv}")
relocate() { # relocate FROM TO DIR: the text files and links in DIR that name FROM name TO instead
  local from=$1 to=$2 dir=$3 link target
  grep -rlIZ --exclude='*.pyc' -F "$from" "$dir" | xargs -0 -r sed -i "s|$from|$to|g"
  while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    if [[ $target == "$from"* ]]; then ln -sfn "$to${target#"$from"}" "$link"; fi
  done < <(find "$dir" -type l -print0)
}
dev_python=$(readlink -f "$dev_venv/bin/python" 2>/dev/null || true)
pip=("$prefix/venv/bin/python" -m pip --disable-pip-version-check --quiet)
# The hub's own packages (hub.txt) as wheels kept in build/: downloaded (or built) once.
hub_wheels="$repo/build/hub-wheelhouse"
hub_packages() {
  "${pip[@]}" install --no-deps --no-index --find-links "$hub_wheels" -r "$repo/requirements/hub.txt" 2>/dev/null || {
    "${pip[@]}" wheel --no-deps --wheel-dir "$hub_wheels" -r "$repo/requirements/hub.txt" &&
      "${pip[@]}" install --no-deps --no-index --find-links "$hub_wheels" -r "$repo/requirements/hub.txt"
  }
}
# Kept from the last install if made for the same interpreter and requirements.
requirements=$(echo "$python" && cat "$repo/requirements/lock.txt" "$repo/requirements/hub.txt")
if [[ -x "$prefix/venv/bin/python" && $(cat "$prefix/venv/.parlab-requirements" 2>/dev/null) == "$requirements" ]]; then
  venv_from="kept from the last install"
elif [[ -x "$dev_python" ]] && cmp -s "$dev_python" "$orig_python" && "$dev_venv/bin/python" -m pip check >/dev/null 2>&1; then
  rm -rf "$prefix/venv.new" && mkdir "$prefix/venv.new"
  # A venv's own parts only: not make's stamps, nor the developers' Rust build slots (cache/).
  for part in bin include lib lib64 share etc pyvenv.cfg; do
    if [[ -e "$dev_venv/$part" || -L "$dev_venv/$part" ]]; then cp -a "$dev_venv/$part" "$prefix/venv.new/"; fi
  done
  rm -rf "$prefix/venv.new/share/jupyter/kernels/rust" "$prefix/venv.new/share/jupyter/kernels/python3-free-threaded"
  relocate "$dev_venv" "$prefix/venv" "$prefix/venv.new" # the names it has once moved in place
  version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  for name in python python3 "python$version"; do ln -sfn "$python" "$prefix/venv.new/bin/$name"; done
  cat >"$prefix/venv.new/pyvenv.cfg" <<EOF
home = $(dirname "$python")
include-system-site-packages = false
version = $("$python" -c 'import platform; print(platform.python_version())')
executable = $python
EOF
  rm -rf "$prefix/venv" && mv "$prefix/venv.new" "$prefix/venv"
  # lock.txt's packages are there (make installed them): add hub.txt's, and check the whole.
  hub_packages
  "${pip[@]}" check >/dev/null || die "$prefix/venv: pip check: $("${pip[@]}" check)"
  echo "$requirements" >"$prefix/venv/.parlab-requirements"
  venv_from="a copy of $dev_venv"
else
  rm -rf "$prefix/venv"
  "$python" -m venv "$prefix/venv"
  "${pip[@]}" install -r "$repo/requirements/lock.txt"
  hub_packages
  echo "$requirements" >"$prefix/venv/.parlab-requirements"
  venv_from="pip"
fi
step "venv with requirements/lock.txt and hub.txt ($venv_from): $prefix/venv"

# parlab's native module is built for Python's stable ABI (abi3): the one `make setup` built
# (maturin develop, into target/) serves the hub's venv too. Asked with make's settings (the
# developers' interpreter and VIRTUAL_ENV), cargo finds it up to date and maturin only packs
# the wheel (seconds); other settings would make cargo build it again (minutes).
wheels="$repo/build/hub-wheels"
rm -rf "$wheels"
if [[ -x "$dev_venv/bin/maturin" ]]; then
  VIRTUAL_ENV=$dev_venv "$dev_venv/bin/maturin" build --release --quiet -m "$repo/python/Cargo.toml" \
    -i "$dev_venv/bin/python" --out "$wheels"
else
  "$prefix/venv/bin/maturin" build --release --quiet -m "$repo/python/Cargo.toml" -i "$prefix/venv/bin/python" --out "$wheels"
fi
"${pip[@]}" install --force-reinstall --no-deps "$wheels"/parlab-*.whl
"$prefix/venv/bin/python" -c 'import parlab, parlab._core' || die "parlab's native module does not load in $prefix/venv"
# Nothing in the venv may lead back into the repository (or the developers' venv): students
# may not be able to read it, and it changes under the install. (pip's direct_url.json only
# records where the wheel came from, and maturin's sboms/ what it was built from.)
if left=$(grep -rlI --exclude='*.pyc' --exclude=direct_url.json --exclude-dir=sboms -F "$repo/" "$prefix/venv"); then
  die "files in $prefix/venv name the repository $repo:
$left"
fi
step "parlab and its native module"

"$prefix/venv/bin/python" -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (parlab)" >/dev/null
install -D -m 644 "$repo/deploy/nbgrader_config.py" "$prefix/venv/etc/jupyter/nbgrader_config.py"
grep -q '"nbgrader.server_extensions.assignment_list": true' "$prefix/venv/etc/jupyter/jupyter_server_config.d/nbgrader.json" ||
  die "nbgrader's server extensions are not enabled in $prefix/venv"
step "Python kernel, nbgrader's extensions and system-wide nbgrader_config.py"

# --- The course: lessons, the core's source, the grading configuration --------------------
# The Rust notebooks load the core by `../../rust_core`; rust_core/ here is standalone (the
# workspace's shared fields written in), so it builds without the repository's workspace.
rm -rf "$prefix/course.new"
mkdir -p "$prefix/course.new/scripts"
cp -r "$repo/notebooks" "$prefix/course.new/notebooks"
find "$prefix/course.new/notebooks" -name .ipynb_checkpoints -prune -exec rm -rf {} +
find "$prefix/course.new/notebooks" \( -name conftest.py -o -name __pycache__ \) -prune -exec rm -rf {} +
mkdir "$prefix/course.new/rust_core"
(cd "$repo/rust_core" && cp -r Cargo.toml src $(ls -d benches tests examples 2>/dev/null) "$prefix/course.new/rust_core/")
"$prefix/venv/bin/python" - "$prefix/course.new/rust_core/Cargo.toml" "$repo/Cargo.toml" <<'PY'
import re, sys, tomllib
from pathlib import Path

member, root = Path(sys.argv[1]), Path(sys.argv[2])
shared = tomllib.loads(root.read_text())["workspace"]["package"]


def field(match):
    value = shared[match[1]]
    return f'{match[1]} = "{value}"' if isinstance(value, str) else f"{match[1]} = {value}"


text = re.sub(r"^([\w-]+)\.workspace = true$", field, member.read_text(), flags=re.M)
assert ".workspace" not in text, f"{member}: a workspace field is left"
member.write_text(text)
PY
cp "$repo/Cargo.lock" "$prefix/course.new/rust_core/Cargo.lock"
cp "$repo/nbgrader_config.py" "$prefix/course.new/"
cp "$repo/scripts/assignments.py" "$prefix/course.new/scripts/"
rm -rf "$prefix/course" && mv "$prefix/course.new" "$prefix/course"
step "lessons and the core's source: $prefix/course"

# --- Rust: the toolchain, the crates (vendored, read-only), evcxr --------------------------
# Copied (~600 MB, seconds) unless the copy is of this very toolchain already.
sysroot=$(rustc --print sysroot)
if [[ $("$prefix/rust/bin/rustc" -vV 2>/dev/null) != "$(rustc -vV)" || $("$prefix/rust/bin/cargo" -V 2>/dev/null) != "$(cargo -V)" ]]; then
  rm -rf "$prefix/rust.new" && mkdir "$prefix/rust.new"
  cp -r "$sysroot/bin" "$sysroot/lib" "$prefix/rust.new/"
  if [[ -d "$sysroot/libexec" ]]; then cp -r "$sysroot/libexec" "$prefix/rust.new/"; fi
  rm -rf "$prefix/rust" && mv "$prefix/rust.new" "$prefix/rust"
fi
"$prefix/rust/bin/rustc" --version >/dev/null
step "Rust toolchain $("$prefix/rust/bin/rustc" --version | cut -d' ' -f2) copied: $prefix/rust"

# Vendored again only when Cargo.lock changed (cargo takes them from ~/.cargo/registry, where
# `make setup`'s builds downloaded them, or from crates.io).
if ! cmp -s "$repo/Cargo.lock" "$prefix/cargo/Cargo.lock"; then
  if [[ -d "$prefix/cargo" ]]; then chmod -R u+w "$prefix/cargo"; fi
  rm -rf "$prefix/cargo" && mkdir -p "$prefix/cargo"
  (cd "$prefix/course/rust_core" && "$prefix/rust/bin/cargo" vendor --versioned-dirs --quiet "$prefix/cargo/vendor" >/dev/null)
  cp "$repo/Cargo.lock" "$prefix/cargo/Cargo.lock"
else
  chmod -R u+w "$prefix/cargo"
fi
cat >"$prefix/cargo/config.toml" <<EOF
# The shared CARGO_HOME of the hub's Rust kernels (read-only): crates come from the vendored
# copies, never from the network; each user's builds go to their own ~/.cache/parlab.
[source.crates-io]
replace-with = "parlab-vendor"

[source.parlab-vendor]
directory = "$prefix/cargo/vendor"

[net]
offline = true
EOF
chmod -R a-w "$prefix/cargo"
step "crates vendored (read-only CARGO_HOME): $prefix/cargo"

evcxr=${EVCXR_JUPYTER:-$(command -v evcxr_jupyter || true)}
[[ -x "$evcxr" ]] || die "evcxr_jupyter not found (make builds it: scripts/install-rust-kernel.sh)"
install -D -m 755 "$evcxr" "$prefix/bin/evcxr_jupyter"
install -D -m 755 "$repo/scripts/rust-kernel-launch.sh" "$prefix/share/evcxr/launch.sh"
install -D -m 755 "$repo/deploy/rust-kernel.sh" "$prefix/share/evcxr/kernel.sh"
printf '' >"$prefix/share/evcxr/init.evcxr"
# The prelude every new kernel runs (as `make setup`'s kernel does): its panic hook reports a
# panic as the cell's result, without a backtrace, which nbgrader then scores and feedback shows.
if [[ -f "$repo/scripts/evcxr-prelude.rs" ]]; then
  install -m 644 "$repo/scripts/evcxr-prelude.rs" "$prefix/share/evcxr/prelude.rs"
fi
mkdir -p "$prefix/venv/share/jupyter/kernels/rust"
cat >"$prefix/venv/share/jupyter/kernels/rust/kernel.json" <<EOF
{
  "argv": ["$prefix/share/evcxr/kernel.sh", "--control_file", "{connection_file}"],
  "display_name": "Rust (parlab)",
  "language": "rust",
  "interrupt_mode": "message"
}
EOF
cp "$repo"/.venv/share/jupyter/kernels/rust/logo-*.png "$prefix/venv/share/jupyter/kernels/rust/" 2>/dev/null || true
step "Rust kernel (evcxr_jupyter from $evcxr)"

# --- python/11's free-threaded kernel, where make built it ---------------------------------
# `make setup` built the interpreter (.free-threaded/python, a static build: it runs from any
# folder) and its venv (.free-threaded/venv: requirements/free-threaded.txt, parlab from
# python/ by a .pth). Both are copied and relocated, the .pth pointed at a copy of
# python/parlab under PREFIX, and the kernel registered in PREFIX/venv: nothing is downloaded
# or built again.
ft_dev=$repo/.free-threaded
if [[ -f "$ft_dev/.interpreter" && -x "$ft_dev/venv/bin/python" ]]; then
  rm -rf "$prefix/free-threaded.new" && mkdir -p "$prefix/free-threaded.new/src"
  cp -a "$ft_dev/python" "$ft_dev/venv" "$prefix/free-threaded.new/"
  cp -r "$repo/python/parlab" "$prefix/free-threaded.new/src/"
  find "$prefix/free-threaded.new/src" -name __pycache__ -prune -exec rm -rf {} +
  relocate "$repo/python" "$prefix/free-threaded/src" "$prefix/free-threaded.new/venv"
  relocate "$ft_dev" "$prefix/free-threaded" "$prefix/free-threaded.new"
  rm -rf "$prefix/free-threaded" && mv "$prefix/free-threaded.new" "$prefix/free-threaded"
  ft=$prefix/free-threaded/venv/bin/python
  version=$("$ft" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  # What python/11 imports must leave the GIL off (as scripts/free-threaded-kernel.sh checks).
  if "$ft" -W error::RuntimeWarning -c '
import sys
import matplotlib.pyplot, pandas, ipykernel
import parlab
from parlab import evidence, free_threading, measure, trace
assert not sys._is_gil_enabled(), "an import switched the GIL back on"
assert parlab.__file__.startswith(sys.argv[1]), parlab.__file__
' "$prefix/free-threaded/src"; then
    "$ft" -m ipykernel install --prefix "$prefix/venv" --name python3-free-threaded \
      --display-name "Python $version (free-threaded)" >/dev/null 2>&1
    step "free-threaded kernel (Python $version, a copy of $ft_dev)"
  else
    rm -rf "$prefix/free-threaded"
    say "the free-threaded kernel could not be installed: python/11 will not run on the hub"
  fi
fi

# --- The hub: its configuration, the spawner's command, configurable-http-proxy ------------
install -D -m 644 "$repo/deploy/jupyterhub_config.py" "$prefix/etc/jupyterhub_config.py"
rm -rf "$prefix/etc/jupyter-student" && cp -r "$repo/deploy/jupyter-student" "$prefix/etc/jupyter-student"
install -D -m 755 "$repo/deploy/singleuser.sh" "$prefix/bin/parlab-singleuser"
install -D -m 755 "$repo/deploy/course.sh" "$prefix/bin/parlab-course"
if ! command -v npm >/dev/null; then
  [[ $(id -u) == 0 ]] || die "npm not found: apt-get install nodejs npm (as root), then again"
  apt-get install -y -q nodejs npm >/dev/null
fi
if [[ $("$prefix/proxy/node_modules/.bin/configurable-http-proxy" --version 2>/dev/null) != "$chp_version" ]]; then
  npm install --prefix "$prefix/proxy" --no-fund --no-audit --silent "configurable-http-proxy@$chp_version" >/dev/null
fi
step "hub configuration and configurable-http-proxy $chp_version"

chmod -R a+rX "$prefix"
if [[ $(id -u) == 0 ]]; then
  # The proof: the account nobody starts both interpreters.
  setpriv --reuid=65534 --regid=65534 --clear-groups -- env -i HOME=/nonexistent PATH=/usr/bin:/bin \
    "$prefix/venv/bin/python" -c 'import parlab, parlab._core, nbgrader, jupyterhub' ||
    die "the account nobody cannot import parlab from $prefix/venv"
  setpriv --reuid=65534 --regid=65534 --clear-groups -- env -i HOME=/nonexistent PATH=/usr/bin:/bin \
    "$prefix/rust/bin/cargo" --version >/dev/null || die "the account nobody cannot run $prefix/rust/bin/cargo"
  if [[ -x "$prefix/free-threaded/venv/bin/python" ]]; then
    setpriv --reuid=65534 --regid=65534 --clear-groups -- env -i HOME=/nonexistent PATH=/usr/bin:/bin \
      "$prefix/free-threaded/venv/bin/python" -c 'import parlab, ipykernel' ||
      die "the account nobody cannot import parlab in the free-threaded kernel's $prefix/free-threaded/venv"
  fi
fi
say "done: $prefix (start the hub with: $prefix/venv/bin/jupyterhub -f $prefix/etc/jupyterhub_config.py)"
