#!/usr/bin/env python3
"""Run a command while another process keeps one CPU fully busy, as on a shared course
server or CI runner:

    scripts/with_busy_cpu.py pytest --nbval-lax notebooks/python/05-mandelbrot-tiles.ipynb

The spinner is a separate Python process pinned to the first CPU this process may use. It is
killed when the command ends, fails, or this script is interrupted (Ctrl-C or SIGTERM). The
exit status is the command's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

SPIN = "while True: pass"


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # runs the finally below


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cpu = min(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None

    def pin() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    signal.signal(signal.SIGTERM, _stop)
    spinner = subprocess.Popen([sys.executable, "-c", SPIN], preexec_fn=pin)
    try:
        print(f"with_busy_cpu: process {spinner.pid} keeps CPU {cpu} busy", file=sys.stderr, flush=True)
        return subprocess.run(argv).returncode
    finally:
        spinner.kill()
        spinner.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
