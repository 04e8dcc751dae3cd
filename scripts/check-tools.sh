#!/usr/bin/env bash
# What `make` needs before it can create .venv: Python 3.11+, cargo and a C linker, and for
# the browser tests Debian's chromium (driven by playwright; skipped where it is missing).
# Installs the Debian packages that are missing when it can (as root, as in CI).
set -euo pipefail

need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
if ! "${PYTHON:-python3}" -c 'import ensurepip, venv' 2>/dev/null; then need_apt+=(python3-venv); fi
want_apt=()  # optional: installed when we can, otherwise the tests that need them skip
[[ -x /usr/bin/chromium ]] || want_apt+=(chromium)
if ((${#want_apt[@]})) && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  need_apt+=("${want_apt[@]}")
elif ((${#want_apt[@]})); then
  echo "note: without ${want_apt[*]} (e.g. sudo apt-get install ${want_apt[*]}) the browser tests skip" >&2
fi

if ((${#need_apt[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing ${need_apt[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "parlab needs these system packages: ${need_apt[*]} (e.g. sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi

"${PYTHON:-python3}" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"parlab needs Python 3.11 or newer; {sys.executable} is {sys.version.split()[0]}")
PY
if ! command -v cargo >/dev/null && [[ ! -x $HOME/.cargo/bin/cargo ]]; then
  echo "parlab needs Rust (cargo): install it from https://rustup.rs and run make again" >&2
  exit 1
fi
