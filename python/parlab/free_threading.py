"""The same Python code with the GIL and without it (lesson python/11).

Pure Python: it imports without parlab's native module, which a free-threaded 3.13 cannot
load (PyO3 supports free-threading from 3.14). The lesson runs `run_all()` twice: in its own
kernel (the free-threaded build) and, through `run_elsewhere(gil_python())`, in a
subprocess of the course's normal interpreter, so one notebook holds both builds' numbers:

    here = free_threading.run_all()                              # this interpreter
    there = free_threading.run_elsewhere(free_threading.gil_python())
    here["tiles"].speedup("1 thread", "2 threads"), here["tiles"].share["2 threads"]
    here["lost"]                                                 # {"+=": …, "check-then-act": …}

Every comparison is a `parlab.measure.Comparison` of traced runs (fastest of `rounds`,
interleaved): its CPU time counts the calls' own CPU time, in threads or child processes,
so a share above 1 means calls computed at the same time.
"""

from __future__ import annotations

import json
import multiprocessing
import platform
import queue
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from parlab import measure
from parlab.trace import trace

__all__ = [
    "build",
    "check_then_act",
    "fib",
    "gil_enabled",
    "gil_python",
    "lost_updates",
    "queue_render",
    "run_all",
    "run_elsewhere",
    "run_threads",
    "tile",
    "tiles",
]

#: The lesson's sizes: each variant takes a fraction of a second on one thread.
DEFAULTS = {"fib_n": 23, "fib_calls": 8, "width": 128, "height": 96, "max_iter": 120, "tile_size": 16, "rounds": 3}
WORKERS = 2


def gil_enabled() -> bool:
    """Whether the GIL is on now (`sys._is_gil_enabled()`, 3.13+; always on before)."""
    probe = getattr(sys, "_is_gil_enabled", None)
    return True if probe is None else bool(probe())


def build() -> dict[str, Any]:
    """This interpreter: version, whether it is a free-threaded build, whether the GIL is on,
    and whether parlab's native module loaded."""
    import parlab

    return {
        "python": platform.python_version() + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""),
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": gil_enabled(),
        "native": getattr(parlab, "native_error", None) is None,
        "executable": sys.executable,
    }


def fib(x: int) -> int:
    """Lesson 02's deliberately slow Fibonacci (fib(0) = fib(1) = 1)."""
    if x == 0 or x == 1:
        return 1
    return fib(x - 1) + fib(x - 2)


def tile(x0: int, y0: int, w: int, h: int, width: int, height: int, max_iter: int) -> list[int]:
    """Lesson 05's pure-Python tile: the escape counts of its pixels, row by row."""
    re_min, re_max, im_min, im_max = -2.5, 1.0, -1.25, 1.25
    out = []
    for row in range(h):
        ci = ((y0 + row) / height) * (im_max - im_min) + im_min
        for col in range(w):
            cr = ((x0 + col) / width) * (re_max - re_min) + re_min
            zr = zi = 0.0
            count = max_iter
            for i in range(max_iter):
                zr2, zi2 = zr * zr, zi * zi
                if zr2 + zi2 > 4.0:
                    count = i
                    break
                zi = (2.0 * zr) * zi + ci
                zr = (zr2 - zi2) + cr
            out.append(count)
    return out


def tiles(width: int, height: int, size: int) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of every tile, row by row."""
    return [
        (x, y, min(size, width - x), min(size, height - y))
        for y in range(0, height, size)
        for x in range(0, width, size)
    ]


def queue_render(tile_fn: Callable[..., Any], todo: list[tuple[int, int, int, int]], threads: int) -> list[Any]:
    """Lesson 05's scheduler: `threads` workers take the next tile from a queue until it is
    empty. The results, in the order of `todo`."""
    work: queue.Queue[int] = queue.Queue()
    for i in range(len(todo)):
        work.put(i)
    results: list[Any] = [None] * len(todo)

    def worker() -> None:
        while True:
            try:
                i = work.get_nowait()
            except queue.Empty:
                return
            results[i] = tile_fn(*todo[i])

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return results


class _Counter:
    value = 0


def lost_updates(threads: int = 4, increments: int = 100_000) -> dict[str, int]:
    """`counter.value += 1` from `threads` threads, started together: how many updates were
    lost, unguarded, with a lock, and with per-thread results summed at the end."""
    start = threading.Barrier(threads)
    lock = threading.Lock()
    counter, locked, partial = _Counter(), _Counter(), [0] * threads

    def racy(_: int) -> None:
        start.wait()
        for _ in range(increments):
            counter.value += 1  # read, add, write: another thread can write in between

    def guarded(_: int) -> None:
        start.wait()
        for _ in range(increments):
            with lock:
                locked.value += 1

    def mine(i: int) -> None:
        start.wait()
        n = 0
        for _ in range(increments):
            n += 1
        partial[i] = n  # one slot per thread: nothing shared while counting

    for body in (racy, guarded, mine):
        run_threads(body, threads)
    expected = threads * increments
    return {"+=": expected - counter.value, "lock": expected - locked.value, "per-thread": expected - sum(partial)}


def check_then_act(threads: int = 4, seats: int = 20_000) -> int:
    """`threads` threads book the same `seats` with `if seat not in booked: booked[seat] = me`:
    how many seats more than one thread believes it booked."""
    booked: dict[int, int] = {}
    wins = [0] * threads
    start = threading.Barrier(threads)

    def book_all(me: int) -> None:
        start.wait()
        for seat in range(seats):
            if seat not in booked:  # check …
                booked[seat] = me  # … then act: another thread may have acted in between
                wins[me] += 1

    run_threads(book_all, threads)
    return sum(wins) - len(booked)


def run_threads(body: Callable[[int], Any], threads: int) -> list[Any]:
    """Runs `body(i)` on `threads` threads at once (i = 0, 1, …): their results, in order.
    (`parlab.shared.run_threads` needs the native module.) An exception is raised here."""
    results: list[Any] = [None] * threads
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = body(i)
        except BaseException as error:  # handed to the caller below
            errors.append(error)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    if errors:
        raise errors[0]
    return results


def _fastest_traced(variants: Mapping[str, Callable[[Any], Any]], threads: Mapping[str, int], rounds: int):
    """Each variant runs `rounds` times (interleaved, after one warm-up) inside its own trace;
    the Comparison of each variant's fastest traced run (`measure.from_traces`)."""

    def traced(name: str, body: Callable[[Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with trace(name) as t:
                body(t)
            return t

        return run

    _, fastest = measure.compare_fastest(
        {name: traced(name, body) for name, body in variants.items()}, rounds=rounds, threads=threads
    )
    return measure.from_traces(*fastest.values(), threads=threads)


def run_all(**sizes: int) -> dict[str, Any]:
    """This interpreter's numbers: fib on 1 thread / 2 threads / 2 processes, the queue of
    pure-Python tiles on 1 and 2 threads (both `Comparison`s of traced runs), and the updates
    lost by the races (`lost_updates`, `check_then_act`)."""
    p = {**DEFAULTS, **sizes}
    n, calls, rounds = p["fib_n"], p["fib_calls"], p["rounds"]
    expected = [fib(n)] * calls
    fork = multiprocessing.get_context("fork")

    def fib_sequential(t: Any) -> None:
        assert [t.task(fib)(n) for _ in range(calls)] == expected

    def fib_threads(t: Any) -> None:
        with ThreadPoolExecutor(WORKERS) as pool:
            assert list(pool.map(t.task(fib), [n] * calls)) == expected

    def fib_processes(t: Any) -> None:
        with ProcessPoolExecutor(WORKERS, mp_context=fork) as pool:
            assert list(pool.map(t.task(fib), [n] * calls)) == expected

    # With the GIL, threads running Python code can use one CPU at most: that decides what
    # their CPU share means ("free" or "busy").
    threads = 1 if gil_enabled() else WORKERS
    fibs = _fastest_traced(
        {"1 thread": fib_sequential, "2 threads": fib_threads, "2 processes": fib_processes},
        threads={"2 threads": threads, "2 processes": WORKERS},
        rounds=rounds,
    )

    size = (p["width"], p["height"], p["max_iter"])
    todo = tiles(p["width"], p["height"], p["tile_size"])
    image = [tile(*one, *size) for one in todo]

    def render(k: int) -> Callable[[Any], None]:
        def body(t: Any) -> None:
            traced = t.task(tile)
            assert queue_render(lambda *xywh: traced(*xywh, *size), todo, k) == image, "the same pixels"

        return body

    tiled = _fastest_traced({"1 thread": render(1), "2 threads": render(WORKERS)}, {"2 threads": threads}, rounds)
    lost = lost_updates()
    return {
        "build": build(),
        "fib": fibs,
        "tiles": tiled,
        "lost": {"+=": lost["+="], "lock": lost["lock"], "per-thread": lost["per-thread"]},
        "double bookings": check_then_act(),
        "sizes": p,
    }


# -- the other interpreter ----------------------------------------------------------------


def gil_python() -> str | None:
    """The course's normal interpreter (the project's .venv, else `python3` on PATH), if it
    has the GIL: the other half of the comparison."""
    import shutil

    root = Path(__file__).resolve().parents[2]
    for candidate in (root / ".venv" / "bin" / "python", shutil.which("python3")):
        if candidate and Path(candidate).exists() and Path(candidate).resolve() != Path(sys.executable).resolve():
            return str(candidate)
    return None


def _to_json(result: dict[str, Any]) -> str:
    def comparison(c: measure.Comparison) -> dict[str, Any]:
        return {
            "runs": [[r.variant, r.round, r.wall_s, r.cpu_s] for r in c.runs],
            "threads": dict(c.threads),
            "allowed": c.allowed,
        }

    return json.dumps({k: comparison(v) if isinstance(v, measure.Comparison) else v for k, v in result.items()})


def _from_json(text: str) -> dict[str, Any]:
    result = json.loads(text)
    for key, value in result.items():
        if isinstance(value, dict) and "runs" in value:
            runs = tuple(measure.Run(v, int(r), float(w), float(c)) for v, r, w, c in value["runs"])
            result[key] = measure.Comparison(runs, value["threads"], int(value["allowed"]))
    return result


def run_elsewhere(python: str, timeout_s: float = 300, **sizes: int) -> dict[str, Any]:
    """`run_all(**sizes)` in a subprocess of another interpreter (which must import parlab)."""
    done = subprocess.run(
        [python, "-m", "parlab.free_threading", json.dumps(sizes)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{python} -m parlab.free_threading failed:\n{done.stderr[-2000:]}")
    return _from_json(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(_to_json(run_all(**json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}"))))
