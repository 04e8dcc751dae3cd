#!/usr/bin/env bash
# The free-threaded kernel of python/11: a venv of the free-threaded interpreter with the pinned
# packages (wheels preferred: without --prefer-binary pip may build numpy from source for many
# minutes), parlab from python/ (its native module too where PyO3 supports the build: 3.14t),
# and a Jupyter kernel "python3-free-threaded" registered in the course's venv.
# Usage: scripts/free-threaded-kernel.sh PYTHON FT_VENV COURSE_VENV
set -euo pipefail
python=$1 venv=$2 course=$(cd "$3" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)

test -x "$venv/bin/python" || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --prefer-binary -r "$root/requirements/free-threaded.txt"
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
echo "$root/python" >"$site/parlab-source.pth"

version=$("$venv/bin/python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
if "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 14))'; then
  # PyO3 supports the free-threaded build from 3.14: build parlab._core for it, beside the abi3 one.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --prefer-binary maturin
  VIRTUAL_ENV=$(cd "$venv" && pwd) "$venv/bin/maturin" develop --release --quiet -m "$root/python/Cargo.toml"
else
  echo "  free-threaded $version: parlab's native module cannot load (PyO3 supports free-threading from 3.14); its pure-Python parts can"
fi

# What python/11 imports must leave the GIL off (an extension without free-threading support turns it on).
"$venv/bin/python" -W error::RuntimeWarning -c '
import sys
import matplotlib.pyplot, pandas, ipykernel
import parlab
from parlab import evidence, free_threading, measure, trace
assert not sys._is_gil_enabled(), "an import switched the GIL back on"
'
"$venv/bin/python" -m ipykernel install --prefix "$course" --name python3-free-threaded \
  --display-name "Python $version (free-threaded)" >/dev/null 2>&1
echo "  registered the kernel \"Python $version (free-threaded)\" in $course"
