#!/usr/bin/env bash
# Installs the evcxr Jupyter kernel (pinned version, with cargo) and registers it as the
# `rust` kernel inside the virtual environment, never in the user's home.
# Usage: scripts/install-rust-kernel.sh VERSION VENV
set -euo pipefail
version=$1
venv=$(cd "$2" && pwd)

if ! cargo install --list | grep -qx "evcxr_jupyter v$version:"; then
  echo "installing evcxr_jupyter $version with cargo (a one-time build of several minutes)"
  cargo install --locked --quiet --version "$version" evcxr_jupyter
fi

# evcxr_jupyter --install writes to $JUPYTER_PATH/kernels/rust when JUPYTER_PATH is set.
JUPYTER_PATH="$venv/share/jupyter" evcxr_jupyter --install >/dev/null

# evcxr reads its start-up commands from $EVCXR_CONFIG_DIR/init.evcxr: keep a cache of
# compiled crates (in $XDG_CACHE_HOME/evcxr), so that only the first notebook ever run
# compiles plotters, rayon and tokio; later first cells take seconds.
mkdir -p "$venv/share/evcxr" "$venv/cache"
printf ':cache 2048\n' >"$venv/share/evcxr/init.evcxr"

"$venv/bin/python" - "$venv" <<'PY'
import json, sys
from pathlib import Path

venv = Path(sys.argv[1])
spec_path = venv / "share/jupyter/kernels/rust/kernel.json"
spec = json.loads(spec_path.read_text())
spec["display_name"] = "Rust (parlab)"
spec["env"] = {
    "EVCXR_CONFIG_DIR": str(venv / "share/evcxr"),
    "XDG_CACHE_HOME": str(venv / "cache"),
}
spec_path.write_text(json.dumps(spec, indent=2) + "\n")
PY
