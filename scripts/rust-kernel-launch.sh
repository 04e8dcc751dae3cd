#!/usr/bin/env bash
# Starts the evcxr Jupyter kernel in a persistent build directory (a "slot") that no other
# running kernel holds, so that parlab_core, compiled by an earlier session (or by
# `make setup`'s warm-up), is reused: cargo rebuilds it only when its source changed.
# By default evcxr builds in a new temporary directory and compiles the local core from
# scratch in every session (its crate cache skips local crates, rightly: it keys them
# by command line, not by source).
#
# kernel.json runs `launch.sh /path/to/evcxr_jupyter ARGS...`; PARLAB_EVCXR_SLOTS names
# the directory holding the slots. Unset, or every slot busy: evcxr's default.
set -euo pipefail
evcxr=$1
shift

# A failing assert! in a cell prints its message, not a backtrace of evcxr's internals
# (a student's feedback, and nbgrader's, shows that stderr); set it to 1 to debug.
export RUST_BACKTRACE="${PARLAB_RUST_BACKTRACE:-0}"

if [[ -n "${PARLAB_EVCXR_SLOTS:-}" ]]; then
  for i in 0 1 2 3 4 5 6 7; do
    slot="$PARLAB_EVCXR_SLOTS/slot-$i"
    mkdir -p "$slot"
    # The lock lives as long as the kernel (fd 9 is inherited by exec).
    exec 9>"$slot/.lock"
    if flock -n 9; then
      export EVCXR_TMPDIR="$slot"
      exec "$evcxr" "$@"
    fi
    exec 9>&-
  done
fi
exec "$evcxr" "$@"
