"""Speedup over thread counts: strong scaling with Amdahl's law, weak scaling with Gustafson's.

result = parlab.speedup.sweep(lambda t: parlab.render(threads=t), threads=(1, 2, 4))
result.table            # threads, median_s, speedup, efficiency, karp_flatt, amdahl
result.serial_fraction  # s in S(k) = 1 / (s + (1 − s)/k), or None: result.fit_note says why
parlab.plots.scaling(result)

A one-parameter law fitted to a single point matches it exactly, noise and all, and tests
nothing: the laws are fitted only on at least two thread counts above one CPU that this
machine can really run at once. On 2 CPUs there is only one (k = 2): the notebooks then show
each point's own estimate (Karp–Flatt) and compare with a serial part known in advance.
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
    #: One row per thread count: threads, median_s, speedup, efficiency, karp_flatt, the
    #: fitted law's prediction ("amdahl" or "gustafson"), times_s.
    table: pd.DataFrame
    #: The fitted serial fraction s (0 = perfectly parallel), or None when this machine could
    #: not give enough thread counts to fit it (see `fit_note`).
    serial_fraction: float | None
    repeats: int
    #: The thread counts the fit used: those above 1 and within `fit_up_to` CPUs.
    fitted_threads: tuple[int, ...] = ()
    #: "amdahl" (strong scaling: a fixed problem) or "gustafson" (weak scaling: it grows with k).
    law: str = "amdahl"
    #: The CPUs the fit was allowed to use.
    fit_up_to: int | None = None

    @property
    def fitted(self) -> bool:
        return self.serial_fraction is not None

    @property
    def fit_note(self) -> str:
        """Which measurements the fit used, or why there is no fit, in plain words."""
        name = "Amdahl's" if self.law == "amdahl" else "Gustafson's"
        if self.fitted:
            counts = ", ".join(map(str, self.fitted_threads))
            return f"{name} law fitted on {counts} threads: serial fraction {self.serial_fraction:.1%}"
        cpus = "1 CPU" if self.fit_up_to == 1 else f"{self.fit_up_to} CPUs"
        have = len(self.fitted_threads)
        found = f"{have} ({', '.join(map(str, self.fitted_threads))} threads)" if have else "none"
        return (
            f"cannot fit {name} law on this machine: it needs at least {MIN_FIT_COUNTS} thread counts above 1 "
            f"within the {cpus} available, and has {found}. With a single count, its one parameter would match "
            "that point exactly, noise included, and test nothing."
        )

    def amdahl(self, threads: float) -> float:
        """The speedup Amdahl's law predicts at `threads` with the fitted serial fraction (NaN without a fit)."""
        return float("nan") if self.serial_fraction is None else amdahl(threads, self.serial_fraction)

    @property
    def max_speedup(self) -> float:
        """Amdahl's ceiling, 1/s: what infinitely many threads would reach (NaN without a fit)."""
        if self.serial_fraction is None:
            return float("nan")
        return float("inf") if self.serial_fraction == 0 else 1 / self.serial_fraction


#: A one-parameter law is fitted only on at least this many thread counts above one CPU.
MIN_FIT_COUNTS = 2


def amdahl(threads: float, serial_fraction: float) -> float:
    """Strong scaling: the speedup of a fixed problem whose serial fraction is s, S(k) = 1 / (s + (1 − s)/k)."""
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / threads)


def gustafson(threads: float, serial_fraction: float) -> float:
    """Weak scaling: the scaled speedup S(k) = s + (1 − s)·k when the parallel part grows with
    k and the serial part does not (s: the serial share of the time on k threads)."""
    return serial_fraction + (1.0 - serial_fraction) * threads


def karp_flatt(threads: float, speedup: float) -> float:
    """The serial fraction that one measured speedup implies, e = (1/S − 1/k) / (1 − 1/k)
    (Karp and Flatt, 1990): one point's own estimate, noise included. NaN at k = 1."""
    if threads <= 1 or speedup <= 0:
        return float("nan")
    return (1 / speedup - 1 / threads) / (1 - 1 / threads)


def fit_serial_fraction(threads: Sequence[float], speedups: Sequence[float]) -> float:
    """Least squares on 1/S(k) − 1/k = s·(1 − 1/k), the linear form of Amdahl's law,
    clipped to [0, 1]."""
    pairs = [(1 - 1 / k, 1 / s - 1 / k) for k, s in zip(threads, speedups, strict=True) if k > 1 and s > 0]
    denominator = sum(x * x for x, _ in pairs)
    if denominator == 0:
        return 0.0
    return min(1.0, max(0.0, sum(x * y for x, y in pairs) / denominator))


def fit_gustafson(threads: Sequence[float], speedups: Sequence[float]) -> float:
    """Least squares on k − S(k) = s·(k − 1), the linear form of Gustafson's law, clipped to [0, 1]."""
    pairs = [(k - 1, k - s) for k, s in zip(threads, speedups, strict=True) if k > 1]
    denominator = sum(x * x for x, _ in pairs)
    if denominator == 0:
        return 0.0
    return min(1.0, max(0.0, sum(x * y for x, y in pairs) / denominator))


def thread_counts() -> tuple[int, ...]:
    """Powers of two up to twice the effective parallelism (at least 1, 2, 4): far enough
    to show the curve bend where the hardware runs out."""
    from parlab import default_threads as effective

    limit = max(4, 2 * effective())
    counts, k = [], 1
    while k <= min(limit, 64):
        counts.append(k)
        k *= 2
    return tuple(counts)


def _median_times(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm-up: thread start-up, caches, lazy imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _check_counts(
    threads: Sequence[int] | None, repeats: int, fit_up_to: int | None
) -> tuple[tuple[int, ...], int, int]:
    counts = thread_counts() if threads is None else tuple(threads)
    if not counts:
        raise ValueError("threads: need at least one thread count")
    counts = tuple(check_int("threads", k, 1, 1024) for k in counts)
    repeats = check_int("repeats", repeats, 1, 1000)
    if fit_up_to is None:
        from parlab import default_threads

        fit_up_to = default_threads()
    return counts, repeats, check_int("fit_up_to", fit_up_to, 1, 1024)


def _fit_counts(table: pd.DataFrame, fit_up_to: int) -> tuple[int, ...]:
    return tuple(sorted({int(k) for k in table["threads"] if 1 < k <= fit_up_to}))


def sweep(
    fn: Callable[[int], object], threads: Sequence[int] | None = None, repeats: int = 5, fit_up_to: int | None = None
) -> SpeedupResult:
    """Strong scaling: times `fn(k)` `repeats` times for each thread count k (after one
    warm-up call per k) and reports medians, speedup against the first count, efficiency,
    the Karp–Flatt serial fraction of each count and Amdahl's fit.

    fit_up_to: the CPUs available (default: `parlab.default_threads()`). Amdahl's law is
    fitted only on thread counts above 1 and up to this, so that the hardware's ceiling is
    not mistaken for serial work, and only when there are at least two such counts;
    otherwise `serial_fraction` is None and `fit_note` says why.
    """
    if not callable(fn):
        raise TypeError(f"fn: must be callable with a thread count, got {type(fn).__name__}")
    counts, repeats, fit_up_to = _check_counts(threads, repeats, fit_up_to)
    rows = []
    for k in counts:
        times = _median_times(lambda k=k: fn(k), repeats)
        rows.append({"threads": k, "median_s": statistics.median(times), "times_s": times})
    table = pd.DataFrame(rows)
    base = table["median_s"].iloc[0] * table["threads"].iloc[0]
    table["speedup"] = base / table["median_s"]
    table["efficiency"] = table["speedup"] / table["threads"]
    table["karp_flatt"] = [karp_flatt(k, s) for k, s in zip(table["threads"], table["speedup"], strict=True)]
    fitted = _fit_counts(table, fit_up_to)
    serial = None
    if len(fitted) >= MIN_FIT_COUNTS:
        used = table[table["threads"].isin(fitted) | (table["threads"] == 1)]
        serial = fit_serial_fraction(used["threads"], used["speedup"])
    table["amdahl"] = [float("nan") if serial is None else amdahl(k, serial) for k in table["threads"]]
    table = table[["threads", "median_s", "speedup", "efficiency", "karp_flatt", "amdahl", "times_s"]]
    return SpeedupResult(
        table=table, serial_fraction=serial, repeats=repeats, fitted_threads=fitted, fit_up_to=fit_up_to
    )


def weak_sweep(
    fn: Callable[[int, int], object],
    threads: Sequence[int] | None = None,
    repeats: int = 3,
    fit_up_to: int | None = None,
) -> SpeedupResult:
    """Weak scaling: `fn(size, k)` runs a problem `size` times the base size on k threads.
    For each thread count k, times the k-times bigger problem on 1 thread and on k threads;
    the scaled speedup is their ratio, and Gustafson's law S(k) = s + (1 − s)·k is fitted
    under the same rule as `sweep` (at least two counts above 1 within fit_up_to CPUs).

    The table has: threads, median_s (k threads), one_thread_s (1 thread, same problem),
    speedup (scaled), efficiency, gustafson, times_s.
    """
    if not callable(fn):
        raise TypeError(f"fn: must be callable with a size and a thread count, got {type(fn).__name__}")
    counts, repeats, fit_up_to = _check_counts(threads, repeats, fit_up_to)
    rows = []
    for k in counts:
        alone = statistics.median(_median_times(lambda k=k: fn(k, 1), repeats))
        times = _median_times(lambda k=k: fn(k, k), repeats)
        rows.append({"threads": k, "median_s": statistics.median(times), "one_thread_s": alone, "times_s": times})
    table = pd.DataFrame(rows)
    table["speedup"] = table["one_thread_s"] / table["median_s"]
    table["efficiency"] = table["speedup"] / table["threads"]
    fitted = _fit_counts(table, fit_up_to)
    serial = None
    if len(fitted) >= MIN_FIT_COUNTS:
        used = table[table["threads"].isin(fitted)]
        serial = fit_gustafson(used["threads"], used["speedup"])
    table["gustafson"] = [float("nan") if serial is None else gustafson(k, serial) for k in table["threads"]]
    table = table[["threads", "median_s", "one_thread_s", "speedup", "efficiency", "gustafson", "times_s"]]
    return SpeedupResult(
        table=table,
        serial_fraction=serial,
        repeats=repeats,
        fitted_threads=fitted,
        law="gustafson",
        fit_up_to=fit_up_to,
    )


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
    like `taskset`), to show what a machine or a container quota of k CPUs does to the curve;
    the fit is then limited to those k CPUs.
    """
    counts = thread_counts() if threads is None else tuple(threads)
    if cpus is None:
        return _sweep_renders(counts, repeats, fit_up_to, render_args)
    import os
    from concurrent.futures import ProcessPoolExecutor

    cpus = check_int("cpus", cpus, 1, 1024)
    fit_up_to = cpus if fit_up_to is None else min(fit_up_to, cpus)
    if not hasattr(os, "sched_setaffinity"):
        raise RuntimeError("cpus: restricting a process to some CPUs needs Linux")
    with ProcessPoolExecutor(max_workers=1, initializer=_pin_to, initargs=(cpus,)) as pool:
        return pool.submit(_sweep_renders, counts, repeats, fit_up_to, render_args).result()
