#!/usr/bin/env bash
# The hub's Rust kernel (PREFIX/share/evcxr/kernel.sh, named by the kernel's kernel.json), for
# any account: the toolchain (PREFIX/rust) and the crates (PREFIX/cargo, vendored, read-only,
# offline) are shared; what cargo builds goes to the user's own build slots in
# ~/.cache/parlab/evcxr-slots, so that parlab_core compiles once per user, not once per session
# (launch.sh: scripts/rust-kernel-launch.sh, which picks a slot no running kernel holds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=$(cd "$here/../.." && pwd)
export PATH="$prefix/rust/bin:$PATH"
export CARGO_HOME="$prefix/cargo"
export EVCXR_CONFIG_DIR="$here"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/parlab"
mkdir -p "$cache/evcxr-slots"
export PARLAB_EVCXR_SLOTS="$cache/evcxr-slots"
exec "$here/launch.sh" "$prefix/bin/evcxr_jupyter" "$@"
