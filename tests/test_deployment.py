"""Deployment files agree with the make set-up: environment.yml (Binder, conda) lists the
same Python packages as requirements/base.in, and binder/postBuild is a strict bash script
that builds the extension and registers the Rust kernel."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: conda packages with no pip counterpart in requirements/base.in
CONDA_ONLY = {"python", "pip", "rust", "rust-src", "evcxr", "c-compiler"}


def names(lines):
    out = set()
    for line in lines:
        line = line.split("#", 1)[0].strip().lstrip("- ").strip()
        if line:
            out.add(re.split(r"[<>=!~ \[]", line, maxsplit=1)[0].lower())
    return out


def conda_dependencies():
    text = (ROOT / "environment.yml").read_text()
    block = text.split("dependencies:", 1)[1]
    return names(line for line in block.splitlines() if line.strip().startswith("- "))


def test_environment_yml_matches_the_pip_requirements():
    pip = names((ROOT / "requirements" / "base.in").read_text().splitlines())
    conda = conda_dependencies()
    assert conda - CONDA_ONLY == pip, {
        "only in environment.yml": conda - CONDA_ONLY - pip,
        "only in base.in": pip - conda,
    }


def test_environment_yml_uses_conda_forge_and_python_311():
    text = (ROOT / "environment.yml").read_text()
    assert "conda-forge" in text.split("dependencies:")[0]
    assert "python=3.11" in text


def test_postbuild_is_strict_and_does_its_three_jobs():
    script = (ROOT / "binder" / "postBuild").read_text()
    assert script.startswith("#!/bin/bash") and "set -e" in script
    assert "pip install" in script and "./python" in script
    # The kernel is registered as `make setup` does it, then warmed with the notebooks' first cells.
    assert "kernelspec" in script and "scripts/install-rust-kernel.sh any" in script
    assert '"$evcxr" --install' in (ROOT / "scripts" / "install-rust-kernel.sh").read_text()
    assert "scripts/rust_kernel.py warm" in script
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"


def test_readme_has_a_binder_badge_and_an_instructors_section():
    readme = (ROOT / "README.md").read_text()
    assert "mybinder.org/badge" in readme and "mybinder.org/v2/gh/" in readme
    assert "## Course JupyterHub" in readme
