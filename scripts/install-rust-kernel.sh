#!/usr/bin/env bash
# Installs the evcxr Jupyter kernel (pinned version, with cargo) and registers it as the
# `rust` kernel inside PREFIX (a virtual environment, or on Binder the conda environment),
# never in the user's home.
# Usage: scripts/install-rust-kernel.sh VERSION PREFIX
#   VERSION "any": use the evcxr_jupyter already on PATH (conda-forge's, on Binder).
set -euo pipefail
version=$1
prefix=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)

if [[ "$version" != any ]] && ! cargo install --list | grep -qx "evcxr_jupyter v$version:"; then
  echo "installing evcxr_jupyter $version with cargo (a one-time build of several minutes)"
  cargo install --locked --quiet --version "$version" evcxr_jupyter
fi
evcxr=$(command -v evcxr_jupyter)

# evcxr_jupyter --install writes to $JUPYTER_PATH/kernels/rust when JUPYTER_PATH is set.
JUPYTER_PATH="$prefix/share/jupyter" "$evcxr" --install >/dev/null

# evcxr reads its start-up commands from $EVCXR_CONFIG_DIR/init.evcxr: keep a cache of
# compiled crates (in $XDG_CACHE_HOME/evcxr), so that plotters, rayon and tokio are
# compiled once, not in every session. parlab_core itself, a local crate, is kept in a
# persistent build directory instead (see rust-kernel-launch.sh).
mkdir -p "$prefix/share/evcxr" "$prefix/cache/evcxr-slots"
printf ':cache 2048\n' >"$prefix/share/evcxr/init.evcxr"
install -m 755 "$here/rust-kernel-launch.sh" "$prefix/share/evcxr/launch.sh"
# ... and runs $EVCXR_CONFIG_DIR/prelude.rs in every new kernel: a panic hook that reports a
# failed assert! as the cell's own result, in the cell that failed (see the file).
install -m 644 "$here/evcxr-prelude.rs" "$prefix/share/evcxr/prelude.rs"

python=$(command -v python3)
[[ -x "$prefix/bin/python" ]] && python="$prefix/bin/python"
"$python" - "$prefix" "$evcxr" <<'PY'
import json, sys
from pathlib import Path

prefix, evcxr = Path(sys.argv[1]), sys.argv[2]
spec_path = prefix / "share/jupyter/kernels/rust/kernel.json"
spec = json.loads(spec_path.read_text())
spec["argv"] = [str(prefix / "share/evcxr/launch.sh"), evcxr, *spec["argv"][1:]]
spec["display_name"] = "Rust (parlab)"
spec["env"] = {
    "EVCXR_CONFIG_DIR": str(prefix / "share/evcxr"),
    "XDG_CACHE_HOME": str(prefix / "cache"),
    "PARLAB_EVCXR_SLOTS": str(prefix / "cache/evcxr-slots"),
}
spec_path.write_text(json.dumps(spec, indent=2) + "\n")
PY
