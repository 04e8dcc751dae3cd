"""Ctrl-C stops the experiments with nothing left running (issue 16 §8), and the
multiplexer's memory grows linearly with its steps.

Each experiment runs in a subprocess that gets a real SIGINT while it works. Right after
KeyboardInterrupt reaches its caller, the subprocess reports what is still alive: other
threads, child processes, open sockets (a port still bound). The seconds between the
signal and the exception are printed, not asserted (timings belong to `make bench`).
"""

import json
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc

import pytest

from parlab.experiments import multiplexer

CHILD = textwrap.dedent(
    """
    import json, multiprocessing, os, signal, sys, threading, time
    from parlab.experiments import download, fib, pixels

    interrupted = []

    def on_sigint(number, frame):
        interrupted.append(time.monotonic())
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    print("ready", flush=True)
    try:
        {call}
        outcome = "finished"
    except KeyboardInterrupt:
        outcome = "interrupted"
    stopped_s = time.monotonic() - interrupted[0] if interrupted else None
    fds = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds.append(os.readlink(f"/proc/self/fd/{{fd}}"))
        except OSError:  # the directory listing's own descriptor, closed meanwhile
            pass
    print(json.dumps({{
        "outcome": outcome,
        "stopped_s": stopped_s,
        "threads": [t.name for t in threading.enumerate() if t is not threading.main_thread()],
        "children": [p.pid for p in multiprocessing.active_children()],
        "sockets": [fd for fd in fds if fd.startswith("socket:")],
    }}), flush=True)
    """
)

CASES = {
    # 256 threads, each waiting then computing for seconds: about a minute in all.
    "pixels threads": "pixels.run(preset='16x16', modes=('threads',), scale=20)",
    "pixels pool": "pixels.run(preset='16x16', modes=('pool',), scale=20)",
    "pixels coroutines": "pixels.run(preset='16x16', modes=('coroutines',), scale=20)",
    # 200 downloads of 5 s each, all at once, from the experiment's own page server.
    "download threads": "download.run(pages=200, latency_ms=5000, modes=('threads',))",
    "download asyncio": "download.run(pages=200, latency_ms=5000, modes=('asyncio',))",
    "download sync": "download.run(pages=20, latency_ms=5000, modes=('sync',))",
    "download processes": "download.run(pages=20, latency_ms=5000, modes=('processes',), limit=2)",
    # 60 calls of a pure-Python fib(30), ~0.3 s each, on the event loop's helper thread (issue 25
    # §9: it went on computing for 11 s after the KeyboardInterrupt) or on a pool's threads.
    "fib asyncio": "fib.run(n=30, calls=60, modes=('asyncio',))",
    "fib threads": "fib.run(n=30, calls=60, modes=('threads',), workers=2)",
    # Rust calls of up to a second each: a stop flag inside the recursion ends one call part-way; the
    # pool's threads see it through fib_nogil's stop event, rayon's through Ctrl-C itself. The
    # GIL-holding `rust` mode ends its call in progress, then leaves nothing behind either.
    "fib rust-threads": "fib.run(n=40, calls=60, modes=('rust-threads',), workers=2)",
    "fib rayon": "fib.run(n=40, calls=60, modes=('rayon',), workers=2)",
    "fib rust": "fib.run(n=38, calls=120, modes=('rust',), workers=2)",
}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
@pytest.mark.parametrize("case", CASES)
def test_ctrl_c_stops_an_experiment_with_nothing_left_running(case):
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(call=CASES[case])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
        time.sleep(3)  # well into the run (imports done, workers busy)
        process.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, err = process.communicate(timeout=60)  # generous: judged by what is left, not by the time
        exited_s = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    report = json.loads(out.strip().splitlines()[-1])
    # The handler runs once the main thread holds the GIL again, so the exception's delay is
    # counted from the handler; the process's exit, from the signal's sending.
    print(
        f"{case}: KeyboardInterrupt {report['stopped_s'] * 1e3:.0f} ms after the handler ran, "
        f"exit {exited_s * 1e3:.0f} ms after SIGINT"
    )
    assert report["outcome"] == "interrupted", err
    assert report["threads"] == [], "threads still running after KeyboardInterrupt"
    assert report["children"] == [], "child processes still running after KeyboardInterrupt"
    assert report["sockets"] == [], "sockets (a port) still open after KeyboardInterrupt"


@multiplexer.task
async def chain(depth):
    """Awaits a chain `depth` tasks deep: the single-threaded queue grows to depth + 1 tasks
    and the run takes about depth² / 2 steps."""
    return 0 if depth == 0 else 1 + await chain(depth - 1)


def bytes_per_step(depth, workers=None):
    tracemalloc.start()
    try:
        trace = multiplexer.run(chain(depth), workers=workers, max_steps=multiplexer.MAX_STEPS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert trace.attrs["result"] == depth
    return peak / len(trace), len(trace), int(trace["queue_length"].max())


@pytest.mark.parametrize("workers", [None, 2])
def test_the_multiplexers_memory_is_linear_in_its_steps(workers):
    small, small_steps, small_queue = bytes_per_step(60, workers)
    large, large_steps, large_queue = bytes_per_step(240, workers)
    print(f"workers={workers}: {small_steps} steps: {small:.0f} B/step; {large_steps} steps: {large:.0f} B/step")
    assert large_queue >= 4 * small_queue - 4  # the queue really grew with the run
    # Copying the whole queue on every step made the memory per step grow with the queue (×4 here).
    assert large < 1.5 * small


def test_the_multiplexer_shows_the_head_of_a_long_queue():
    trace = multiplexer.run(chain(50))
    longest = trace.loc[trace["queue_length"].idxmax()]
    assert longest["queue_length"] == 51
    assert len(longest["queue"]) == multiplexer.QUEUE_SHOWN + 1 and longest["queue"][-1] == "…"
    assert longest["queue"][:2] == ["chain", "chain"]


@multiplexer.task
async def grow(depth):
    """Never finishes: each task awaits a new one, so the queue grows by a task every step."""
    return await grow(depth + 1)


def peak_bytes_of_a_runaway(steps):
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match="max_steps"):
            multiplexer.run(grow(0), max_steps=steps)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_runaway_programs_memory_is_linear_in_max_steps():
    # Issue 16 measured 1.7 GB at 20,000 steps here (the whole queue copied on every step).
    small, large = peak_bytes_of_a_runaway(2_000), peak_bytes_of_a_runaway(8_000)
    print(f"runaway: {small / 1e6:.1f} MB at 2,000 steps, {large / 1e6:.1f} MB at 8,000")
    assert large < 4 * 1.5 * small  # quadratic would be ×16


def test_a_finished_trace_takes_a_few_hundred_bytes_per_step():
    # Issue 25 §12: one dict per row took ~1,070 B a step at the peak (1.55 GB at 10⁶ steps,
    # ~14 GB at the old limit of 10⁷); the columns take ~200 B. Counted by tracemalloc.
    tracemalloc.start()
    try:
        trace = multiplexer.run(chain(300), max_steps=multiplexer.MAX_STEPS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"{len(trace)} steps: peak {peak / len(trace):.0f} B/step")
    assert len(trace) > 40_000 and peak / len(trace) < 500


@pytest.mark.parametrize("steps", [multiplexer.MAX_STEPS + 1, 10**7, 2**63])
def test_more_steps_than_a_lesson_can_hold_are_refused_up_front(steps):
    main = chain(3)
    with pytest.raises(ValueError, match=rf"^max_steps: must be between 1 and {multiplexer.MAX_STEPS}"):
        multiplexer.run(main, max_steps=steps)
