"""Seed 002's model of loading an image: every pixel is first **loaded** (waiting, like a
download) and then **rendered** (busy computing, holding the GIL), with durations drawn from
seeded ranges. Modes: "sync", "threads" (one thread per pixel), "pool" (at most `workers`
threads), "coroutines" (one coroutine per pixel on one thread), "coroutines-limited" (at most
`workers` at once). Workloads: "io" (load only), "cpu" (render only), "mixed".

    frame = parlab.experiments.pixels.run(size=4, workload="mixed")
    frame = parlab.experiments.pixels.run(preset="16x16")   # 256 pixels, 32 workers
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from parlab.checks import check_choice, check_int, check_modes, check_number
from parlab.experiments.frames import concat, now, tidy
from parlab.experiments.pools import Countdown, results, run_async, thread_pool

MODES = ("sync", "threads", "pool", "coroutines", "coroutines-limited")
#: (load, render) duration ranges in milliseconds for each workload.
WORKLOADS = {
    "io": ((40.0, 120.0), (0.0, 0.0)),
    "cpu": ((0.0, 0.0), (10.0, 30.0)),
    "mixed": ((40.0, 120.0), (10.0, 30.0)),
}
#: The seed's two pictures: a 4×4 image with 8 workers, a 16×16 image with 32.
PRESETS = {"4x4": {"size": 4, "workers": 8}, "16x16": {"size": 16, "workers": 32}}


def durations(size: int, workload: str, seed: int, scale: float) -> np.ndarray:
    """(pixels, 2) array of load and render seconds, the same for every mode of a run."""
    (load_lo, load_hi), (render_lo, render_hi) = WORKLOADS[workload]
    rng = np.random.default_rng(seed)
    load = rng.uniform(load_lo, load_hi, size * size)
    render = rng.uniform(render_lo, render_hi, size * size)
    return np.column_stack([load, render]) * scale / 1e3


_loops_per_second: float | None = None


def loops_per_second() -> float:
    """How fast this machine spins an empty Python loop (measured once, best of 3)."""
    global _loops_per_second
    if _loops_per_second is None:
        loops = 200_000
        best = min(_timed_spin(loops) for _ in range(3))
        _loops_per_second = loops / max(best, 1e-9)
    return _loops_per_second


def _timed_spin(loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        pass
    return time.perf_counter() - start


class Stopped(Exception):
    """Raised in a worker once its run's stop flag is set (on Ctrl-C): the worker ends."""


#: Loops between two looks at the stop flag: a few hundred µs of work.
_STOP_CHECK_LOOPS = 10_000


def busy(seconds: float, stop: threading.Event | None = None) -> None:
    """Computes in pure Python, holding the GIL, for a fixed amount of *work* that takes
    `seconds` on an idle core. (Spinning until a deadline would be wrong: a thread waiting
    for the GIL would see its deadline pass without working.) Raises Stopped soon after
    `stop` is set."""
    chunks, rest = divmod(int(seconds * loops_per_second()), _STOP_CHECK_LOOPS)
    for _ in range(chunks):
        if stop is not None and stop.is_set():
            raise Stopped
        for _ in range(_STOP_CHECK_LOOPS):
            pass
    for _ in range(rest):
        pass


def _step(pixel: int, step: str, seconds: float, who: object, stop: threading.Event) -> dict:
    start = now()
    if step == "load":
        if stop.wait(seconds):  # a sleep that Ctrl-C can cut short
            raise Stopped
    else:
        busy(seconds, stop)
    return {"start": start, "end": now(), "who": who, "pixel": pixel, "step": step}


def _pixel(pixel: int, load_s: float, render_s: float, stop: threading.Event, who: object = None) -> list[dict]:
    who = threading.get_ident() if who is None else who
    return [_step(pixel, "load", load_s, who, stop), _step(pixel, "render", render_s, who, stop)]


def _sync(times: np.ndarray, workers: int, stop: threading.Event) -> list[dict]:
    return [row for pixel, (load, render) in enumerate(times) for row in _pixel(pixel, load, render, stop)]


def _threads(times: np.ndarray, workers: int, stop: threading.Event) -> list[dict]:
    rows: list[list[dict]] = [[] for _ in times]
    running = Countdown(len(times))

    def work(pixel: int) -> None:
        # Thread idents are reused once a thread ends: name the worker by its pixel instead.
        try:
            rows[pixel] = _pixel(pixel, *times[pixel], stop, who=("thread", pixel))
        except Stopped:
            pass
        finally:
            running.done()

    threads = [threading.Thread(target=work, args=(p,), name=f"pixel-{p}") for p in range(len(times))]
    asked = 0  # threads whose start() was called
    try:
        for thread in threads:
            asked += 1
            thread.start()
        running.wait()
    except BaseException:
        stop.set()  # every thread ends within a stop check; none outlives the run
        for _ in range(len(threads) - asked):
            running.done()  # never started
        # The last one asked may have been cut short inside start(): running (it counts itself
        # done) or never begun (it does not). A thread that began has an ident at once.
        begun = [t for t in threads[:asked] if t.ident is not None or _begins(t)]
        for _ in range(asked - len(begun)):
            running.done()
        running.wait()
        for thread in begun:
            thread.join()  # returns at once: each has called done()
        raise
    for thread in threads:
        thread.join()
    return [row for pixel_rows in rows for row in pixel_rows]


def _begins(thread: threading.Thread, within_s: float = 1.0) -> bool:
    """Whether a thread whose start() was interrupted runs after all (it sets its ident first)."""
    deadline = time.monotonic() + within_s
    while thread.ident is None and time.monotonic() < deadline:
        time.sleep(0.001)
    return thread.ident is not None


def _pool(times: np.ndarray, workers: int, stop: threading.Event) -> list[dict]:
    with thread_pool(workers, abort=stop.set) as pool:
        done = results([pool.submit(_pixel, p, *times[p], stop) for p in range(len(times))])
    return [row for pixel_rows in done for row in pixel_rows]


def _coroutines(times: np.ndarray, limit: int | None, stop: threading.Event) -> list[dict]:
    async def pixel(p: int, gate: asyncio.Semaphore) -> list[dict]:
        load, render = times[p]
        async with gate:
            start = now()
            await asyncio.sleep(load)  # waiting lets the other coroutines run
            loaded = now()
            busy(render, stop)  # computing blocks the one thread every coroutine shares
            who = threading.get_ident()
            return [
                {"start": start, "end": loaded, "who": who, "pixel": p, "step": "load"},
                {"start": loaded, "end": now(), "who": who, "pixel": p, "step": "render"},
            ]

    async def everything() -> list[list[dict]]:
        gate = asyncio.Semaphore(limit or len(times))
        return list(await asyncio.gather(*(pixel(p, gate) for p in range(len(times)))))

    return [row for pixel_rows in run_async(everything, abort=stop.set) for row in pixel_rows]


RUNNERS = {
    "sync": _sync,
    "threads": _threads,
    "pool": _pool,
    "coroutines": lambda times, workers, stop: _coroutines(times, None, stop),
    "coroutines-limited": _coroutines,
}


def run(
    size: int | None = None,
    workload: str = "mixed",
    modes: Sequence[str] = MODES,
    workers: int | None = None,
    seed: int = 0,
    scale: float = 1.0,
    preset: str | None = None,
) -> pd.DataFrame:
    """Loads and renders a size×size image in each mode; one row per step of each pixel.

    size: pixels per side (default 4, or the preset's). workers: the limit of "pool" and
    "coroutines-limited" (default 8, or the preset's). scale multiplies every duration
    (0.25 makes a run four times shorter). seed fixes the durations, the same in every mode.

    Columns: mode, task (= pixel), worker, start_s, end_s, pixel, x, y, step ("load"/"render").
    """
    if preset is not None:
        preset = check_choice("preset", preset, list(PRESETS))
        size = PRESETS[preset]["size"] if size is None else size
        workers = PRESETS[preset]["workers"] if workers is None else workers
    size = check_int("size", 4 if size is None else size, 1, 64)
    workers = check_int("workers", 8 if workers is None else workers, 1, 1024)
    workload = check_choice("workload", workload, list(WORKLOADS))
    modes = check_modes(modes, MODES)
    seed = check_int("seed", seed, 0, 2**63 - 1)
    scale = check_number("scale", scale, 0.0, 100.0)
    times = durations(size, workload, seed, scale)
    loops_per_second()  # calibrate before the clock starts
    frames = []
    for mode in modes:
        t0 = now()
        rows = RUNNERS[mode](times, workers, threading.Event())
        for row in rows:
            row["task"] = row["pixel"]
            row["y"], row["x"] = divmod(row["pixel"], size)
        frames.append(tidy(mode, rows, t0, worker_key="who"))
    frame = concat(frames)
    frame.attrs.update(size=size, workload=workload, workers=workers, seed=seed, scale=scale)
    return frame
