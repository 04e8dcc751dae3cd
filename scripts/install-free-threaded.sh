#!/usr/bin/env bash
# Builds a free-threaded CPython (PEP 703, ./configure --disable-gil) into PREFIX, from the
# source that Debian's archive serves through apt: no registry ships it as a binary.
# The newest source first (3.14, then 3.13). The machine's own apt sources stay untouched:
# apt reads a sources list and keeps its lists in WORK/apt only.
# Usage: scripts/install-free-threaded.sh PREFIX WORK
#   PREFIX: where the interpreter goes (PREFIX/bin/python3); WORK: a scratch directory.
# On failure it prints one line saying why and exits 1.
set -euo pipefail
prefix=$(mkdir -p "$1" && cd "$1" && pwd)
work=$(mkdir -p "$2" && cd "$2" && pwd)
log="$work/build.log"
: >"$log"
fail() { echo "free-threaded Python: $* (details: $log)" >&2; exit 1; }
step() { echo "  $(date +%T) $*"; }
start=$SECONDS

command -v apt-get >/dev/null || fail "needs Debian's apt-get to fetch CPython's source"

# What CPython's configure needs for ssl, sqlite3, ctypes, lzma, bz2, zlib, readline, uuid.
build_deps=(build-essential pkg-config libssl-dev libsqlite3-dev libffi-dev liblzma-dev
  libbz2-dev zlib1g-dev libreadline-dev libncurses-dev uuid-dev libexpat1-dev)
missing=()
for p in "${build_deps[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  [[ $(id -u) == 0 ]] || fail "needs these system packages: ${missing[*]} (sudo apt-get install ${missing[*]})"
  step "apt-get install ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
    >>"$log" 2>&1 || fail "apt-get install ${missing[*]} failed"
fi

# A private apt configuration: only deb-src lines of the suites that carry 3.14 / 3.13.
apt_dir="$work/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts"
cat >"$apt_dir/sources.list" <<'EOF'
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
EOF
apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=$apt_dir/parts"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root")
step "apt-get update (private lists in $apt_dir)"
apt-get "${apt_opts[@]}" update -qq >>"$log" 2>&1 || fail "apt-get update of the deb-src lists failed"

src="$work/src"
mkdir -p "$src"
version=""
# The index can list versions that the mirror no longer serves: try each, newest first.
for pkg in python3.14 python3.13; do
  for v in $(apt-cache "${apt_opts[@]}" showsrc "$pkg" 2>>"$log" | awk '/^Version:/ {print $2}' | sort -urV); do
    rm -rf "${src:?}"/*
    if (cd "$src" && apt-get "${apt_opts[@]}" source --download-only -qq "$pkg=$v") >>"$log" 2>&1; then
      version=${pkg#python}
      break 2
    fi
    step "$pkg $v: listed but not served"
  done
done
[[ -n "$version" ]] || fail "the archive served no source of python3.14 or python3.13"
orig=$(ls "$src"/python"$version"_*.orig.tar.* | head -1)
step "source: $(basename "$orig")"
# The upstream tarball, without Debian's patches (they change install paths for Debian's layout).
tar -xf "$orig" -C "$src"
tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'Python-*' | head -1)
[[ -d "$tree" ]] || fail "unexpected layout of $(basename "$orig")"

cd "$tree"
step "configure --disable-gil --prefix=$prefix"
./configure --disable-gil --prefix="$prefix" --with-ensurepip=install --disable-test-modules \
  >>"$log" 2>&1 || fail "configure failed"
step "make -j2 (several minutes)"
make -j2 >>"$log" 2>&1 || fail "make failed"
step "make install"
make install >>"$log" 2>&1 || fail "make install failed"

py="$prefix/bin/python$version"t
[[ -x "$py" ]] || py="$prefix/bin/python$version"
"$py" -c 'import sys, ssl, sqlite3, ctypes, lzma, bz2, zlib; assert not sys._is_gil_enabled()' \
  >>"$log" 2>&1 || fail "the built interpreter lacks a module or has the GIL on"
ln -sf "$(basename "$py")" "$prefix/bin/python-free-threaded"
rm -rf "$src"
step "done: $("$py" -VV | head -1) in $((SECONDS - start)) s, $(du -sh "$prefix" | cut -f1) in $prefix"
