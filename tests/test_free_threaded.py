"""The free-threaded kernel of python/11 really runs without the GIL, after importing what the
lesson imports (an extension without free-threading support would switch it back on)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KERNEL = ROOT / ".venv" / "share" / "jupyter" / "kernels" / "python3-free-threaded" / "kernel.json"
LESSON_IMPORTS = """
import sys, warnings
warnings.simplefilter("error", RuntimeWarning)  # "the GIL has been enabled" is a RuntimeWarning
import matplotlib.pyplot, pandas, numpy
import parlab
from parlab import evidence, free_threading, measure, trace
build = free_threading.build()
print(json.dumps({"gil": sys._is_gil_enabled(), "build": build, "native": parlab.native_error}))
"""


@pytest.fixture(scope="module")
def kernel_python() -> str:
    if not KERNEL.exists():
        pytest.skip("no free-threaded kernel registered (make could not build the interpreter here)")
    return json.loads(KERNEL.read_text())["argv"][0]


def test_the_kernel_keeps_the_gil_off_after_the_lessons_imports(kernel_python):
    done = subprocess.run(
        [kernel_python, "-c", "import json\n" + LESSON_IMPORTS],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["build"]["free_threaded"], seen
    assert seen["gil"] is False, f"the GIL is on after the lesson's imports: {seen}"
    # 3.13t cannot load parlab's native module (PyO3 supports free-threading from 3.14); 3.14t must.
    version = tuple(int(part) for part in seen["build"]["python"].rstrip("t").split(".")[:2])
    assert (seen["native"] is None) == (version >= (3, 14)), seen


def test_the_gil_can_be_switched_back_on(kernel_python):
    done = subprocess.run(
        [kernel_python, "-X", "gil=1", "-c", "import sys; print(sys._is_gil_enabled())"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "True"
