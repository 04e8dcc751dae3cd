"""Builds the course's nbgrader assignments: one per notebook that holds exercises.

    python scripts/assignments.py [--root DIR] [FOLDER ...]

finds the notebooks with nbgrader cells in the folders (default notebooks/python and
notebooks/rust), links each into DIR/build/source/<assignment>/ (DIR defaults to the
repository, the course directory of nbgrader_config.py), and runs `nbgrader
generate_assignment` into DIR/release/. The assignment of notebooks/python/02-cpu-bound-fib.ipynb
is `python-02-cpu-bound-fib`. Links, not copies: the notebooks stay the only source.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = [ROOT / "notebooks" / "python", ROOT / "notebooks" / "rust"]
SOURCE = Path("build") / "source"
#: nbgrader's steps that run notebooks per student, one folder deeper than notebooks/
STUDENT_STEPS = ("submitted", "autograded")


def nbgrader_cells(path):
    """The cells of a notebook that carry nbgrader metadata."""
    cells = json.loads(Path(path).read_text())["cells"]
    return [cell for cell in cells if "nbgrader" in cell.get("metadata", {})]


def language(path):
    """The language of a notebook's kernel, which chooses nbgrader's code stub."""
    return json.loads(Path(path).read_text())["metadata"]["kernelspec"]["language"]


def exercise_notebooks(folders=FOLDERS):
    """The notebooks in the folders with at least one nbgrader cell, sorted by path."""
    return sorted(path for folder in folders for path in Path(folder).glob("*.ipynb") if nbgrader_cells(path))


def assignment_id(path):
    """The assignment of a notebook: its folder (the kernel) and its name."""
    path = Path(path)
    return f"{path.parent.name}-{path.stem}"


def link_sources(notebooks, root):
    """Replaces root/build/source with one folder per assignment, linking its notebook."""
    source = Path(root) / SOURCE
    shutil.rmtree(source, ignore_errors=True)
    for notebook in notebooks:
        folder = source / assignment_id(notebook)
        folder.mkdir(parents=True)
        (folder / notebook.name).symlink_to(os.path.relpath(notebook.resolve(), folder))


def link_crate(root):
    """Makes `../../rust_core`, by which the Rust notebooks load the crate, resolve in every step.

    release/<assignment>/ sits as deep as notebooks/rust/, so it needs the crate in the course
    root; submitted/<student>/<assignment>/ and the like sit one deeper, so each step folder
    gets a link too (nbgrader takes it for no student: it holds no assignment).
    """
    root = Path(root)
    for folder in (root, *(root / step for step in STUDENT_STEPS)):
        link = folder / "rust_core"
        if not link.exists():
            folder.mkdir(parents=True, exist_ok=True)
            link.symlink_to(ROOT / "rust_core", target_is_directory=True)


def nbgrader(*args, root):
    """Runs an nbgrader command from the repository (so it reads nbgrader_config.py) on root."""
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={Path(root).resolve()}"]
    # nbgrader runs the `alembic` command of its environment to set up the gradebook
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    subprocess.run(command, cwd=ROOT, check=True, env={**os.environ, "PATH": path})


def generate(notebooks, root=ROOT):
    """Links the sources, then writes the student versions of every assignment into root/release."""
    shutil.rmtree(Path(root) / "release", ignore_errors=True)
    link_sources(notebooks, root)
    if any(language(notebook) == "rust" for notebook in notebooks):
        link_crate(root)
    if notebooks:  # one process for all: "*" is a glob over build/source/
        nbgrader("generate_assignment", "*", "--force", "--log-level=WARN", root=root)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=FOLDERS, help="folders of notebooks")
    parser.add_argument("--root", type=Path, default=ROOT, help="the nbgrader course directory")
    args = parser.parse_args(argv)
    notebooks = exercise_notebooks(args.folders)
    generate(notebooks, args.root)
    for notebook in notebooks:
        print(f"release/{assignment_id(notebook)}/{notebook.name}")
    if not notebooks:
        print("no notebook has nbgrader cells yet: nothing to release")


if __name__ == "__main__":
    main()
