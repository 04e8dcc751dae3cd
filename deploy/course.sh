#!/usr/bin/env bash
# An instructor's course directory (PREFIX/bin/parlab-course), run as the instructor:
#
#   parlab-course [DIR [FOLDER ...]]
#
# DIR (default ~/parlab-course) becomes nbgrader's course directory: ~/.jupyter/nbgrader_config.py
# names it (so Formgrader and every nbgrader command find it) and loads the course's grading
# settings (PREFIX/course/nbgrader_config.py, the repository's). Then the student versions of
# the notebooks with exercises in FOLDERs (default: every lesson, PREFIX/course/notebooks/*)
# are generated into DIR/release/ (scripts/assignments.py: `nbgrader generate_assignment`).
# Release one with `nbgrader release_assignment python-02-cpu-bound-fib` (or Formgrader).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=$(cd "$here/.." && pwd)
dir=$(realpath -m "${1:-$HOME/parlab-course}")
shift || true
folders=("$@")
[[ ${#folders[@]} -gt 0 ]] || folders=("$prefix"/course/notebooks/python "$prefix"/course/notebooks/rust)

config="$HOME/.jupyter/nbgrader_config.py"
marker="# written by parlab-course"
if [[ -e "$config" ]] && ! grep -qF "$marker" "$config"; then
  echo "parlab-course: $config exists and is not parlab's: add these lines to it yourself:" >&2
  printf '  load_subconfig("%s")\n  c.CourseDirectory.root = "%s"\n' "$prefix/course/nbgrader_config.py" "$dir" >&2
  exit 1
fi
mkdir -p "$dir" "$(dirname "$config")"
cat >"$config" <<CONFIG
$marker: the course directory and its grading settings
c = get_config()  # noqa: F821
load_subconfig("$prefix/course/nbgrader_config.py")  # noqa: F821
c.CourseDirectory.root = "$dir"
# Named, not derived from root: a server started before this file existed (Formgrader) has
# derived its gradebook's place from its old root, and a reloaded config corrects it only so.
c.CourseDirectory.db_url = "sqlite:///$dir/gradebook.db"
CONFIG
export PATH="$prefix/venv/bin:$PATH"
"$prefix/venv/bin/python" "$prefix/course/scripts/assignments.py" --root "$dir" "${folders[@]}"
echo "course directory: $dir (release an assignment: nbgrader release_assignment NAME, or Formgrader)"
