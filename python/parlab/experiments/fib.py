"""CPU-bound: the same slow Fibonacci, many times, under every way Python offers to do
several things at once (seed 002's fib(30) × 50: sync 28 s, asyncio 65 s, threads 33 s,
processes 18 s).

    frame = parlab.experiments.fib.run(n=27, calls=20)
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Sequence

import pandas as pd

from parlab import _core
from parlab.checks import check_int, check_modes, check_workers
from parlab.experiments.frames import concat, now, tidy
from parlab.experiments.pools import default_workers, process_pool, results, run_async, thread_pool

MODES = ("sync", "asyncio", "threads", "processes", "rust", "rust-threads", "rayon")

#: Pure Python fib(35) already takes seconds: more is a hang, not a lesson.
MAX_PYTHON_N = 35
#: The core's own limit (parlab_core::workloads::MAX_FIB_N).
MAX_RUST_N = _core.MAX_FIB_N


def fib(x: int) -> int:
    """The original article's deliberately slow Fibonacci (fib(0) = fib(1) = 1)."""
    if x == 0 or x == 1:
        return 1
    return fib(x - 1) + fib(x - 2)


#: Below this n a call of `fib` runs to its end (fib(21): ~5 ms of CPython); from it up,
#: `stoppable_fib` looks at its stop flag first: once in ~20,000 calls, nothing measurable.
CHECK_FROM_N = 22


class Stopped(Exception):
    """Raised inside a helper thread's `stoppable_fib` once its stop flag is set."""


def stoppable_fib(x: int, stop: threading.Event) -> int:
    """`fib(x)`, the same recursion, that raises `Stopped` within ~5 ms of `stop` being set.

    A Python thread cannot be stopped from outside: Ctrl-C only reaches the main thread, so
    a pool's thread or the event loop's thread computing fib(35) would go on for seconds
    after the KeyboardInterrupt. This one stops itself."""
    if x < CHECK_FROM_N:
        return fib(x)
    if stop.is_set():
        raise Stopped
    return stoppable_fib(x - 1, stop) + stoppable_fib(x - 2, stop)


def timed_fib(n: int) -> dict:
    """One call, with who ran it and when. Top-level so that child processes can run it."""
    start = now()
    value = fib(n)
    return {"start": start, "end": now(), "who": (os.getpid(), threading.get_ident()), "value": value}


def _timed(function, n: int) -> dict:
    start = now()
    value = function(n)
    return {"start": start, "end": now(), "who": threading.get_ident(), "value": value}


def _sync(n: int, calls: int, workers: int) -> list[dict]:
    return [timed_fib(n) for _ in range(calls)]  # Ctrl-C reaches this (the main) thread


def _asyncio(n: int, calls: int, workers: int) -> list[dict]:
    stop = threading.Event()

    async def one() -> dict:
        # Never awaits anything: coroutines only add overhead here. The loop runs in a
        # helper thread, where Ctrl-C never arrives: the stop flag ends the call (and the
        # calls not yet started, which the loop would otherwise still run one by one).
        if stop.is_set():
            raise Stopped
        return _timed(functools.partial(stoppable_fib, stop=stop), n)

    async def everything() -> list[dict]:
        import asyncio

        return list(await asyncio.gather(*(one() for _ in range(calls))))

    return run_async(everything, abort=stop.set)


def _pool(function, n: int, calls: int, workers: int, abort: Callable[[], None] | None = None) -> list[dict]:
    with thread_pool(workers, abort=abort) as pool:
        return results([pool.submit(_timed, function, n) for _ in range(calls)])


def _threads(n: int, calls: int, workers: int) -> list[dict]:
    stop = threading.Event()
    return _pool(functools.partial(stoppable_fib, stop=stop), n, calls, workers, abort=stop.set)


def _processes(n: int, calls: int, workers: int) -> list[dict]:
    with process_pool(workers) as pool:
        return results([pool.submit(timed_fib, n) for _ in range(calls)])


def _rust(n: int, calls: int, workers: int) -> list[dict]:
    return _pool(_core.fib, n, calls, workers)  # keeps the GIL: the threads take turns


def _rust_threads(n: int, calls: int, workers: int) -> list[dict]:
    # releases the GIL: truly parallel; on Ctrl-C the stop event ends the calls in progress
    stop = threading.Event()
    return _pool(functools.partial(_core.fib_nogil, stop=stop), n, calls, workers, abort=stop.set)


def _rayon(n: int, calls: int, workers: int) -> list[dict]:
    start = now()
    records = _core.fib_rayon(n, calls, workers)
    return [
        {"start": start + s / 1e6, "end": start + (s + d) / 1e6, "who": worker, "value": value}
        for _, worker, s, d, value in records
    ]


RUNNERS = {
    "sync": _sync,
    "asyncio": _asyncio,
    "threads": _threads,
    "processes": _processes,
    "rust": _rust,
    "rust-threads": _rust_threads,
    "rayon": _rayon,
}


def run(n: int = 30, calls: int = 50, modes: Sequence[str] = MODES, workers: int | None = None) -> pd.DataFrame:
    """Computes fib(n) `calls` times in each mode; one row per call.

    Modes: "sync" (a loop), "asyncio" (coroutines that never wait), "threads" and
    "processes" (concurrent.futures pools), "rust" (the core's fib from a thread pool,
    holding the GIL), "rust-threads" (the same, GIL released), "rayon" (the calls spread by
    rayon inside one Rust call). workers: pool size, by default the effective parallelism.

    Columns: mode, task, worker, start_s, end_s, n, value.
    """
    modes = check_modes(modes, MODES)
    rust_only = all(m in ("rust", "rust-threads", "rayon") for m in modes)
    n = check_int("n", n, 0, MAX_RUST_N if rust_only else MAX_PYTHON_N)
    calls = check_int("calls", calls, 1, 100_000)
    workers = check_workers(workers, default_workers())
    frames = []
    for mode in modes:
        t0 = now()
        rows = RUNNERS[mode](n, calls, workers)
        for task, row in enumerate(sorted(rows, key=lambda r: r["start"])):
            row["task"] = task
            row["n"] = n
        frames.append(tidy(mode, rows, t0, worker_key="who"))
    return concat(frames)
