"""Warms the Rust kernel for the notebooks of notebooks/rust/, and times them.

    python scripts/rust_kernel.py warm            # run each distinct first cell once
    python scripts/rust_kernel.py bench           # time every Rust notebook, as set up
    python scripts/rust_kernel.py bench --state cold     # ... with empty caches
    python scripts/rust_kernel.py bench --state no-slot  # ... in a fresh build directory
    python scripts/rust_kernel.py bench --first-only     # only the first cells

A Rust notebook's first cell (`:dep parlab_core = { path = ..., features = [...] }`)
compiles the core and its dependencies. `warm` runs each distinct first cell once through
the `rust` kernel, exactly as a notebook does, so that evcxr's crate cache holds the
dependencies and the kernel's build slot (see rust-kernel-launch.sh) holds the core,
compiled with the same flags and features: afterwards a first cell only links.

`bench` runs each notebook with nbclient and prints, per notebook, the time to the end of
its first cell (kernel start included: what a student waits for) and of the whole
notebook, with the machine's load. `--state cold` uses a copy of the kernel with empty
caches (what the very first session saw); `--state no-slot` keeps the crate cache but
builds in a new temporary directory, as evcxr does by default (the set-up before slots).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks" / "rust"
KERNEL = "rust"


def first_cells(notebooks: list[Path]) -> dict[str, list[Path]]:
    """The distinct first code cells of `notebooks`, each with the notebooks that use it."""
    cells: dict[str, list[Path]] = {}
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        code = next(c.source for c in nb.cells if c.cell_type == "code")
        cells.setdefault(code, []).append(path)
    return cells


def run(nb: nbformat.NotebookNode, cwd: Path, kernel: str = KERNEL) -> tuple[float, float]:
    """Runs `nb` in `cwd`; returns (seconds to the end of the first code cell, to the end)."""
    client = NotebookClient(nb, kernel_name=kernel, timeout=900, resources={"metadata": {"path": str(cwd)}})
    start = time.perf_counter()
    first: list[float] = []

    def on_executed(cell: nbformat.NotebookNode, **_: object) -> None:
        if cell.cell_type == "code" and not first:
            first.append(time.perf_counter() - start)

    client.on_cell_executed = on_executed
    client.execute()
    return first[0], time.perf_counter() - start


def warm() -> None:
    for code, users in first_cells(sorted(NOTEBOOKS.glob("*.ipynb"))).items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
        took, _ = run(nb, users[0].parent)
        names = ", ".join(p.stem for p in users)
        print(f"warmed in {took:.1f} s: {code.strip()}  ({names})")


def kernel_copy(state: str, into: Path) -> None:
    """A copy of the `rust` kernel under `into`/kernels/ with the caches `state` asks for."""
    spec = KernelSpecManager().get_kernel_spec(KERNEL)
    target = into / "kernels" / KERNEL
    shutil.copytree(spec.resource_dir, target)
    data = json.loads((target / "kernel.json").read_text())
    env = dict(data.get("env", {}))
    if state == "cold":
        env["XDG_CACHE_HOME"] = str(into / "cache")
        env["PARLAB_EVCXR_SLOTS"] = str(into / "slots")
    else:  # no-slot: the crate cache, but a fresh temporary build directory
        env.pop("PARLAB_EVCXR_SLOTS", None)
    data["env"] = env
    (target / "kernel.json").write_text(json.dumps(data, indent=2))


def bench(state: str, notebooks: list[Path], first_only: bool = False) -> None:
    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    print(f"Rust notebooks, kernel state: {state}; {os.cpu_count()} CPUs, {cpu}")
    print(f"{'notebook':<32} {'first cell':>11} {'notebook':>9}  load (1 min) before → after")
    with tempfile.TemporaryDirectory(prefix="parlab-rust-bench-") as tmp:
        if state != "warm":
            kernel_copy(state, Path(tmp))
            # Kernels under JUPYTER_PATH win over the environment's own.
            os.environ["JUPYTER_PATH"] = os.pathsep.join([tmp, os.environ.get("JUPYTER_PATH", "")])
        for path in notebooks:
            if state == "cold":  # every notebook starts from empty caches
                for sub in ("cache", "slots"):
                    shutil.rmtree(Path(tmp) / sub, ignore_errors=True)
            load_before = os.getloadavg()[0]
            nb = nbformat.read(path, as_version=4)
            if first_only:  # a quick comparison of set-ups: the notebook up to its first code cell
                nb.cells = nb.cells[: next(i for i, c in enumerate(nb.cells) if c.cell_type == "code") + 1]
            first, whole = run(nb, path.parent)
            load_after = os.getloadavg()[0]
            print(f"{path.stem:<32} {first:>9.1f} s {whole:>7.1f} s  {load_before:.1f} → {load_after:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("warm", help="run each distinct first cell once")
    timing = sub.add_parser("bench", help="time every Rust notebook")
    timing.add_argument("--state", choices=["warm", "cold", "no-slot"], default="warm")
    timing.add_argument("--first-only", action="store_true", help="run only each notebook's first code cell")
    timing.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args()
    if args.command == "warm":
        warm()
    else:
        bench(args.state, args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb")), args.first_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
