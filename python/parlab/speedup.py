"""Speedup over thread counts, with efficiency and an Amdahl's-law fit.

result = parlab.speedup.sweep(lambda t: parlab.render(threads=t), threads=(1, 2, 4))
result.table            # threads, median_s, speedup, efficiency, amdahl
result.serial_fraction  # s in S(k) = 1 / (s + (1 − s)/k)
parlab.plots.speedup(result)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from parlab.checks import check_int


@dataclass(frozen=True)
class SpeedupResult:
    #: One row per thread count: threads, median_s, speedup, efficiency, amdahl, times_s.
    table: pd.DataFrame
    #: The fitted serial fraction s of Amdahl's law (0 = perfectly parallel).
    serial_fraction: float
    repeats: int

    def amdahl(self, threads: float) -> float:
        """The speedup Amdahl's law predicts at `threads` with the fitted serial fraction."""
        return amdahl(threads, self.serial_fraction)

    @property
    def max_speedup(self) -> float:
        """Amdahl's ceiling, 1/s: what infinitely many threads would reach."""
        return float("inf") if self.serial_fraction == 0 else 1 / self.serial_fraction


def amdahl(threads: float, serial_fraction: float) -> float:
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / threads)


def fit_serial_fraction(threads: Sequence[float], speedups: Sequence[float]) -> float:
    """Least squares on 1/S(k) − 1/k = s·(1 − 1/k), the linear form of Amdahl's law,
    clipped to [0, 1]."""
    pairs = [(1 - 1 / k, 1 / s - 1 / k) for k, s in zip(threads, speedups, strict=True) if k > 1 and s > 0]
    denominator = sum(x * x for x, _ in pairs)
    if denominator == 0:
        return 0.0
    return min(1.0, max(0.0, sum(x * y for x, y in pairs) / denominator))


def default_threads() -> tuple[int, ...]:
    """Powers of two up to twice the effective parallelism (at least 1, 2, 4): far enough
    to show the curve bend where the hardware runs out."""
    from parlab import default_threads as effective

    limit = max(4, 2 * effective())
    counts, k = [], 1
    while k <= min(limit, 64):
        counts.append(k)
        k *= 2
    return tuple(counts)


def sweep(
    fn: Callable[[int], object], threads: Sequence[int] | None = None, repeats: int = 5, fit_up_to: int | None = None
) -> SpeedupResult:
    """Times `fn(k)` `repeats` times for each thread count k (after one warm-up call per k)
    and reports medians, speedup against the first count, efficiency and the Amdahl fit.

    fit_up_to: fit Amdahl's law only on thread counts up to this (e.g. the CPUs available),
    so that the hardware's ceiling is not mistaken for serial work.
    """
    if not callable(fn):
        raise TypeError(f"fn: must be callable with a thread count, got {type(fn).__name__}")
    counts = default_threads() if threads is None else tuple(threads)
    if not counts:
        raise ValueError("threads: need at least one thread count")
    counts = tuple(check_int("threads", k, 1, 1024) for k in counts)
    repeats = check_int("repeats", repeats, 1, 1000)
    rows = []
    for k in counts:
        fn(k)  # warm-up: thread start-up, caches, lazy imports
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(k)
            times.append(time.perf_counter() - start)
        rows.append({"threads": k, "median_s": statistics.median(times), "times_s": times})
    table = pd.DataFrame(rows)
    base = table["median_s"].iloc[0] * table["threads"].iloc[0]
    table["speedup"] = base / table["median_s"]
    table["efficiency"] = table["speedup"] / table["threads"]
    if fit_up_to is not None:
        fit_up_to = check_int("fit_up_to", fit_up_to, 1, 1024)
    fitted = table if fit_up_to is None else table[table["threads"] <= fit_up_to]
    serial = fit_serial_fraction(fitted["threads"], fitted["speedup"])
    table["amdahl"] = [amdahl(k, serial) for k in table["threads"]]
    table = table[["threads", "median_s", "speedup", "efficiency", "amdahl", "times_s"]]
    return SpeedupResult(table=table, serial_fraction=serial, repeats=repeats)


def _pin_to(cpus: int) -> None:
    import os

    allowed = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, allowed[:cpus])


def _sweep_renders(threads: tuple[int, ...], repeats: int, fit_up_to: int | None, render_args: dict) -> SpeedupResult:
    import parlab

    return sweep(lambda k: parlab.render(threads=k, **render_args), threads, repeats, fit_up_to)


def render_sweep(
    threads: Sequence[int] | None = None,
    repeats: int = 3,
    cpus: int | None = None,
    fit_up_to: int | None = None,
    **render_args,
) -> SpeedupResult:
    """`sweep` of `parlab.render(threads=k, **render_args)`.

    cpus=k runs the sweep in a child process allowed on only k CPUs (Linux's CPU affinity,
    like `taskset`), to show what a machine or a container quota of k CPUs does to the curve.
    """
    counts = default_threads() if threads is None else tuple(threads)
    if cpus is None:
        return _sweep_renders(counts, repeats, fit_up_to, render_args)
    import os
    from concurrent.futures import ProcessPoolExecutor

    cpus = check_int("cpus", cpus, 1, 1024)
    if not hasattr(os, "sched_setaffinity"):
        raise RuntimeError("cpus: restricting a process to some CPUs needs Linux")
    with ProcessPoolExecutor(max_workers=1, initializer=_pin_to, initargs=(cpus,)) as pool:
        return pool.submit(_sweep_renders, counts, repeats, fit_up_to, render_args).result()
