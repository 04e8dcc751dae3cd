"""A real SIGINT (what Jupyter's "interrupt kernel" sends) stops a long render and leaves no
thread behind. How quickly (the lesson's 100 ms) is a timing: `make bench` checks it."""

import signal
import subprocess
import sys
import textwrap
import time

import pytest

import parlab

CHILD = textwrap.dedent(
    """
    import os, sys
    import parlab
    strategy, kernel = sys.argv[1], sys.argv[2]
    threads = 1 if strategy == "sequential" else 2
    # Every OS thread of this process (numpy's BLAS pool included), before the render.
    before = len(os.listdir("/proc/self/task"))
    print("ready", flush=True)
    try:
        # Minutes of work: only an interrupt ends it.
        parlab.render(width=4000, height=4000, tile_w=100, tile_h=100, max_iter=200000,
                      viewport=(-0.8, -0.7, 0.05, 0.15), strategy=strategy, threads=threads,
                      on_tile=None, kernel=kernel)
    except KeyboardInterrupt:
        print("interrupted", len(os.listdir("/proc/self/task")) - before, flush=True)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads in /proc")
@pytest.mark.parametrize("kernel", ["scalar", "auto"])
@pytest.mark.parametrize("strategy", parlab.STRATEGIES)
def test_sigint_stops_a_render_and_its_threads(strategy, kernel):
    child = subprocess.Popen([sys.executable, "-c", CHILD, strategy, kernel], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # well inside the render
        assert child.poll() is None, "the render ended on its own"
        sent = time.perf_counter()
        child.send_signal(signal.SIGINT)
        line = child.stdout.readline().split()
        took = time.perf_counter() - sent
        assert child.wait(timeout=10) == 0
    finally:
        child.kill()
    assert line[0] == "interrupted"
    print(f"{strategy}, {kernel}: stopped {took * 1000:.1f} ms after SIGINT")
    assert line[1] == "0", f"{strategy}: {line[1]} more threads alive after the interrupt than before"
