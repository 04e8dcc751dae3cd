#!/usr/bin/env bash
# The hub's spawner command (PREFIX/bin/parlab-singleuser, c.Spawner.cmd), run as the user's
# own account: gives the user the lessons, then starts their JupyterLab (jupyterhub-singleuser).
#
#   ~/parlab/notebooks/{python,rust}/   the lessons, copied once (a student's edits stay theirs;
#                                       a lesson added to the course appears at the next start)
#   ~/parlab/notebooks/<assignment>/    where the Assignments tab fetches an assignment
#   ~/parlab/rust_core                  a link to the core's source (PREFIX/course/rust_core),
#                                       which the Rust notebooks load as ../../rust_core
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=$(cd "$here/.." && pwd)
course="$prefix/course"
mine="$HOME/parlab"

mkdir -p "$mine/notebooks"
if [[ -L "$mine/rust_core" || ! -e "$mine/rust_core" ]]; then
  ln -sfn "$course/rust_core" "$mine/rust_core"
fi
for lesson in "$course"/notebooks/*/*.ipynb; do
  folder=$(basename "$(dirname "$lesson")")
  copy="$mine/notebooks/$folder/$(basename "$lesson")"
  [[ -e "$copy" ]] || install -D -m 644 "$lesson" "$copy"
done
export PATH="$prefix/venv/bin:$PATH"
# Start in the server's root folder (the hub's notebook_dir): nbgrader's Assignments tab
# fetches into, and submits from, the server's working directory.
root=${JUPYTERHUB_ROOT_DIR:-$mine/notebooks}
cd "${root/#\~/$HOME}"
exec "$prefix/venv/bin/jupyterhub-singleuser" "$@"
