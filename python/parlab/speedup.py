"""Speedup over thread counts: strong scaling with Amdahl's law, weak scaling with Gustafson's.

result = parlab.speedup.sweep(lambda t: parlab.render(threads=t), threads=(1, 2, 4))
result.table            # threads, median_s, speedup, efficiency, karp_flatt, amdahl, share, ceiling
result.serial_fraction  # s in S(k) = 1 / (s + (1 − s)/k), or None: result.fit_note says why
result.situation(s)     # "one-cpu", "free" or "busy": from the CPU share the runs themselves got
parlab.plots.scaling(result, title=result.label)

A one-parameter law fitted to a single point matches it exactly, noise and all, and tests
nothing: the laws are fitted only on at least two thread counts above one CPU that this
machine can really run at once. On 2 CPUs there is only one (k = 2): the notebooks then show
each point's own estimate (Karp–Flatt) and compare with a serial part known in advance.

Every timed run also records its CPU share (process CPU seconds over wall seconds, from
`parlab.measure.run_share`): what the machine really gave that point. A speedup can only be
judged against it: when the one-thread baseline got half a CPU (others were running) and four
threads got a whole one, a "speedup" of 2 on one CPU is the share, not parallelism. So each
point carries `ceiling`, the speedup that the CPU its runs obtained permits (the ratio of its
share to its baseline's), and `situation` says whether the runs got what the law allows.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from parlab import measure
from parlab.checks import check_int

#: The CPU share (of what the law allows) that counts as "free" for a sweep's point: stricter
#: than `measure.FREE_FRACTION`, since the lessons then compare the speedups with the law.
FREE_SHARE = 0.9


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
    #: The CPUs this process could use (affinity, quota) while the sweep ran (None: unknown).
    allowed: int | None = None

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

    @property
    def karp_flatt_note(self) -> str:
        """Which points of the table have no Karp–Flatt estimate (NaN), and why, or ""."""
        if "karp_flatt" not in self.table:
            return ""
        cpus = self.fit_up_to or int(self.table["threads"].max())
        beyond, slower, faster = [], [], []
        for k, measured, e in zip(self.table["threads"], self.table["speedup"], self.table["karp_flatt"], strict=True):
            if k <= 1 or not math.isnan(e):
                continue
            (beyond if k > cpus else slower if measured < 1 else faster).append(f"{k} ({measured:.2f}×)")
        notes = []
        if beyond:
            notes.append(f"{', '.join(beyond)} threads: more threads than the {cpus} CPU(s), they took turns")
        if slower:
            notes.append(
                f"{', '.join(slower)} threads: slower than one thread, which would mean a serial part above 100 %: "
                "the runs were disturbed (or the threads only cost), so no serial fraction can be read"
            )
        if faster:
            notes.append(f"{', '.join(faster)} threads: faster than k CPUs could be, a disturbed baseline")
        return "no Karp–Flatt estimate for " + "; ".join(notes) if notes else ""

    def amdahl(self, threads: float) -> float:
        """The speedup Amdahl's law predicts at `threads` with the fitted serial fraction (NaN without a fit)."""
        return float("nan") if self.serial_fraction is None else amdahl(threads, self.serial_fraction)

    @property
    def cpus_obtained(self) -> float:
        """The most CPUs any point's runs obtained (CPU seconds per wall second), at most `allowed`."""
        if "share" not in self.table:
            return float("nan")
        top = float(self.table["share"].max())
        return min(top, float(self.allowed)) if self.allowed else top

    @property
    def label(self) -> str:
        """For a figure's title: '1.6 of 2 CPUs obtained during these runs'."""
        allowed = self.allowed or 0
        cpus = "1 CPU" if allowed == 1 else f"{allowed} CPUs"
        return f"{self.cpus_obtained:.1f} of {cpus} obtained during these runs"

    def shares_note(self, threads: int) -> str:
        """What one point measured and the CPU its runs got against its baseline's, and so why
        it is above or below 1×: '4 threads: 0.87× with 0.81 CPU, its baseline 0.94 (less CPU)'."""
        row = self.table.set_index("threads").loc[threads]
        base = float(row["one_thread_share"]) if "one_thread_share" in row else float(self.table["share"].iloc[0])
        measured, share = float(row["speedup"]), float(row["share"])
        if share < 0.9 * base:
            why = "its runs got less CPU than their baseline's"
        elif share > 1.1 * base:
            why = "its runs got more CPU than their baseline's"
        elif measured < 1:
            why = "the same CPU, so starting and switching the threads cost more than they gave"
        else:
            why = "about the same CPU as their baseline's"
        return f"{threads} threads: {measured:.2f}× with {share:.2f} CPU, the baseline {base:.2f} ({why})"

    def expected_share(self, threads: int, serial_fraction: float = 0.0) -> float:
        """The CPU share a run on `threads` threads gets on free CPUs when the serial fraction
        is s: one CPU during the serial part, min(k, allowed) during the rest, i.e. the law's
        own speedup (Amdahl's for a fixed problem, Gustafson's for one grown with k)."""
        cpus = min(threads, self.allowed or threads)
        law = amdahl if self.law == "amdahl" else gustafson
        return law(cpus, serial_fraction)

    def situation(self, serial_fraction: float = 0.0) -> str:
        """'one-cpu' whenever only one CPU may be used (it wins over 'busy'); 'free' when every
        point's runs up to the CPUs allowed, and their one-thread baselines, got at least 90 %
        of the CPU share the law with this serial fraction allows (`expected_share`); else
        'busy': other programs took CPU during some of these runs."""
        if self.allowed is not None and self.allowed <= 1:
            return "one-cpu"
        limit = self.allowed or int(self.table["threads"].max())
        for row in self.table.itertuples():
            if row.threads > limit:
                continue
            baselines = [getattr(row, "one_thread_share", None), self.table["share"].iloc[0]]
            if any(b is not None and b < FREE_SHARE for b in baselines):
                return "busy"
            if row.share < FREE_SHARE * self.expected_share(row.threads, serial_fraction):
                return "busy"
        return "free"

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


@dataclass(frozen=True)
class _Timed:
    """The timed runs of one point: their wall times, and the CPU share of the median ones."""

    times_s: list[float]
    share: float

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)


def _timed(fn: Callable[[], object], repeats: int) -> _Timed:
    fn()  # warm-up: thread start-up, caches, lazy imports
    runs = [measure.run_share(fn)[1] for _ in range(repeats)]
    # The median run (the two middle ones for an even count): its CPU over its wall time.
    middle = sorted(runs, key=lambda run: run.wall_s)[(repeats - 1) // 2 : repeats // 2 + 1]
    wall = sum(run.wall_s for run in middle)
    share = sum(run.cpu_s for run in middle) / wall if wall > 0 else 0.0
    return _Timed([run.wall_s for run in runs], share)


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


def _ceiling(share: float, baseline_share: float) -> float:
    """The speedup that these CPU shares permit: the same CPU work at `share` CPU seconds per
    second instead of `baseline_share` (NaN when the baseline's share could not be read)."""
    return share / baseline_share if baseline_share > 0 else float("nan")


def _allowed() -> int | None:
    try:
        return measure.allowed_cpus()
    except Exception:  # no hardware reading: the situation is then decided by the shares alone
        return None


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
    allowed = _allowed()
    rows = []
    for k in counts:
        timed = _timed(lambda k=k: fn(k), repeats)
        rows.append({"threads": k, "median_s": timed.median_s, "share": timed.share, "times_s": timed.times_s})
    table = pd.DataFrame(rows)
    base = table["median_s"].iloc[0] * table["threads"].iloc[0]
    table["speedup"] = base / table["median_s"]
    table["efficiency"] = table["speedup"] / table["threads"]
    table["ceiling"] = [_ceiling(share, table["share"].iloc[0]) for share in table["share"]]
    table["karp_flatt"] = [
        _karp_flatt_shown(k, s, fit_up_to) for k, s in zip(table["threads"], table["speedup"], strict=True)
    ]
    fitted = _fit_counts(table, fit_up_to)
    serial = None
    if len(fitted) >= MIN_FIT_COUNTS:
        used = table[table["threads"].isin(fitted) | (table["threads"] == 1)]
        serial = fit_serial_fraction(used["threads"], used["speedup"])
    table["amdahl"] = [float("nan") if serial is None else amdahl(k, serial) for k in table["threads"]]
    columns = ["threads", "median_s", "speedup", "efficiency", "karp_flatt", "amdahl", "share", "ceiling", "times_s"]
    return SpeedupResult(
        table=table[columns],
        serial_fraction=serial,
        repeats=repeats,
        fitted_threads=fitted,
        fit_up_to=fit_up_to,
        allowed=allowed,
    )


def _karp_flatt_shown(threads: int, measured: float, cpus: int) -> float:
    """Karp–Flatt for the sweep's table, NaN where it cannot be a serial fraction: beyond the
    CPUs (the threads took turns: the hardware's ceiling, not serial work), or outside 0–100 %
    (a speedup below 1 or above k: the run was disturbed, see `karp_flatt_note`)."""
    if threads > cpus:
        return float("nan")
    e = karp_flatt(threads, measured)
    return e if 0.0 <= e <= 1.0 else float("nan")


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
    speedup (scaled), efficiency, gustafson, share and one_thread_share (the CPU share of the
    k-thread and the one-thread runs), ceiling (their ratio: the speedup that CPU permits),
    times_s. At k = 1 both runs are the same run: its scaled speedup is 1 by definition.
    """
    if not callable(fn):
        raise TypeError(f"fn: must be callable with a size and a thread count, got {type(fn).__name__}")
    counts, repeats, fit_up_to = _check_counts(threads, repeats, fit_up_to)
    allowed = _allowed()
    rows = []
    for k in counts:
        timed = _timed(lambda k=k: fn(k, k), repeats)
        alone = timed if k == 1 else _timed(lambda k=k: fn(k, 1), repeats)
        rows.append(
            {
                "threads": k,
                "median_s": timed.median_s,
                "one_thread_s": alone.median_s,
                "share": timed.share,
                "one_thread_share": alone.share,
                "times_s": timed.times_s,
            }
        )
    table = pd.DataFrame(rows)
    table["speedup"] = table["one_thread_s"] / table["median_s"]
    table["efficiency"] = table["speedup"] / table["threads"]
    table["ceiling"] = [_ceiling(a, b) for a, b in zip(table["share"], table["one_thread_share"], strict=True)]
    fitted = _fit_counts(table, fit_up_to)
    serial = None
    if len(fitted) >= MIN_FIT_COUNTS:
        used = table[table["threads"].isin(fitted)]
        serial = fit_gustafson(used["threads"], used["speedup"])
    table["gustafson"] = [float("nan") if serial is None else gustafson(k, serial) for k in table["threads"]]
    columns = ["threads", "median_s", "one_thread_s", "speedup", "efficiency", "gustafson"]
    columns += ["share", "one_thread_share", "ceiling", "times_s"]
    return SpeedupResult(
        table=table[columns],
        serial_fraction=serial,
        repeats=repeats,
        fitted_threads=fitted,
        law="gustafson",
        fit_up_to=fit_up_to,
        allowed=allowed,
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
