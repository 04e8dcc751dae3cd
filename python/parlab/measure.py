"""Timing claims decided by what happened during the runs themselves: `parlab.measure.compare`.

A speedup measured now and a "CPUs free" probe taken a moment before disagree on a busy
machine: the other programs come and go. So a lesson's comparison measures, for every run it
times, the CPU time the process obtained over the wall time it took (its *CPU share*: about
k for k threads computing on k free CPUs, less when others compete), and decides its
sentence and its assertions from those shares:

    result = measure.compare({"1 thread": lambda: render(threads=1), "2 threads": lambda: render(threads=2)},
                             threads={"1 thread": 1, "2 threads": 2})
    result.best_s["2 threads"]         # fastest of `rounds` runs, the variants interleaved
    result.speedup("1 thread", "2 threads")
    result.share["2 threads"]          # CPU seconds per wall second during that fastest run
    result.situation                   # "one-cpu", "free" or "busy", from those shares
    result.label                       # "1.9 of 2 CPUs free during these runs": for titles

The variants run interleaved (A, B, A, B, …) so that a disturbance hits all of them alike,
and each keeps its fastest run, as a benchmark does. `situation` is "one-cpu" whenever this
process may use only one CPU (affinity or quota), whatever the shares: one CPU is the
explanation then, not a busy machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from parlab.checks import check_int

__all__ = [
    "Comparison",
    "Run",
    "allowed_cpus",
    "beyond_ceiling",
    "compare",
    "compare_fastest",
    "from_traces",
    "run_share",
]

#: A share at least this fraction of the CPUs a run could use counts as "free".
FREE_FRACTION = 0.8


def beyond_ceiling(speedup: float, ceiling: float) -> str:
    """What a lesson prints, instead of failing, when a measured speedup (or work ratio) is
    beyond what the CPU shares of its runs allow (`Comparison.parallel_ceiling`, with 15 % and
    0.05 for noise); '' when it is within. The same CPU work done at `ceiling` times more CPU
    seconds per second is at most `ceiling` times faster, so more means that one of the runs
    was disturbed by something CPU time does not count."""
    if speedup <= 1.15 * ceiling + 0.05:
        return ""
    return (
        f"{speedup:.2f}× is more than the {ceiling:.2f}× that the CPU shares of these runs allow: the same work "
        "done with that much more CPU per second cannot gain more, so something that CPU time does not count "
        "changed between the runs (the CPU's clock, another virtual machine on the same physical core). A ratio "
        "is only as good as both of its runs: run the cell again."
    )


def allowed_cpus() -> int:
    """The CPUs this process may use (affinity and CPU quota)."""
    try:
        from parlab._core import hardware
    except (ImportError, SystemError):  # no native module (free-threaded 3.13, python/11): affinity, cgroup v2 quota
        import math
        import os
        from pathlib import Path

        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        try:
            quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
            cpus = min(cpus, math.ceil(int(quota) / int(period))) if quota != "max" else cpus
        except (OSError, ValueError):
            pass
        return max(1, cpus)
    return hardware().effective_parallelism


@dataclass(frozen=True)
class Run:
    """One timed call: wall seconds, process CPU seconds, and their ratio."""

    variant: str
    round: int
    wall_s: float
    cpu_s: float

    @property
    def share(self) -> float:
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0


def run_share(fn: Callable[[], Any]) -> tuple[Any, Run]:
    """Calls fn once: (its result, the `Run` with wall time, process CPU time and share)."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return result, Run("", 0, wall, cpu)


@dataclass(frozen=True)
class Comparison:
    """What `compare` measured: every run, and per variant its fastest run."""

    runs: tuple[Run, ...]
    #: The CPU-bound threads each variant runs (1 when not given).
    threads: Mapping[str, int]
    #: CPUs this process may use (affinity, quota) when the runs were made.
    allowed: int
    results: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def variants(self) -> list[str]:
        return list(dict.fromkeys(run.variant for run in self.runs))

    def _best(self, variant: str) -> Run:
        runs = [run for run in self.runs if run.variant == variant]
        if not runs:
            raise KeyError(f"variant: no runs of {variant!r}; have {self.variants}")
        return min(runs, key=lambda run: run.wall_s)

    @property
    def best_s(self) -> dict[str, float]:
        """Fastest wall time per variant, in seconds."""
        return {v: self._best(v).wall_s for v in self.variants}

    @property
    def share(self) -> dict[str, float]:
        """CPU share (CPU seconds per wall second) during each variant's fastest run."""
        return {v: self._best(v).share for v in self.variants}

    def speedup(self, base: str, other: str) -> float:
        """How many times faster `other`'s fastest run was than `base`'s."""
        return self._best(base).wall_s / self._best(other).wall_s

    def could_use(self, variant: str) -> int:
        """The CPUs a variant's threads could use at most: min(threads, allowed)."""
        return max(1, min(self.threads.get(variant, 1), self.allowed))

    @property
    def widest(self) -> str:
        """The variant that could use the most CPUs (the first such)."""
        return max(self.variants, key=self.could_use)

    @property
    def cpus_free(self) -> float:
        """CPUs this process obtained during the widest variant's fastest run, at most allowed."""
        return min(float(self.allowed), self.share[self.widest])

    @property
    def situation(self) -> str:
        """'one-cpu' (only one CPU may be used), 'free' (the widest variant's run got at least
        80 % of the CPUs it could use) or 'busy' (others took the rest)."""
        if self.allowed <= 1:
            return "one-cpu"
        wanted = self.could_use(self.widest)
        if wanted <= 1:  # no variant could show parallelism; say only whether one CPU was free
            return "free" if self.cpus_free >= FREE_FRACTION else "busy"
        return "free" if self.cpus_free >= FREE_FRACTION * wanted else "busy"

    @property
    def free(self) -> bool:
        return self.situation == "free"

    @property
    def label(self) -> str:
        """For a figure's title: '1.9 of 2 CPUs free during these runs'."""
        cpus = "1 CPU" if self.allowed == 1 else f"{self.allowed} CPUs"
        return f"{self.cpus_free:.1f} of {cpus} free during these runs"

    def parallel_ceiling(self, base: str, other: str) -> float:
        """The speedup `other` could reach over `base` with the CPU its runs really got: the
        ratio of their shares (the same CPU work done at that many more CPU seconds per second)."""
        base_share = max(self.share[base], 1e-9)
        return self.share[other] / base_share

    def table(self):
        """One row per run: variant, round, wall_s, cpu_s, share, best (the variant's fastest)."""
        import pandas as pd

        best = {v: self._best(v) for v in self.variants}
        rows = [
            {
                "variant": r.variant,
                "round": r.round,
                "wall_s": r.wall_s,
                "cpu_s": r.cpu_s,
                "share": r.share,
                "best": best[r.variant] is r,
            }
            for r in self.runs
        ]
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """One line per variant: fastest time and the CPU share it got, then the situation."""
        lines = [
            f"{v}: fastest {self.best_s[v] * 1e3:.1f} ms of {sum(r.variant == v for r in self.runs)}, "
            f"{self.share[v]:.2f} CPUs during it"
            for v in self.variants
        ]
        return "\n".join([*lines, f"{self.label} ({self.situation})"])

    def __repr__(self) -> str:
        return f"Comparison({', '.join(f'{v}={self.best_s[v] * 1e3:.1f} ms' for v in self.variants)}; {self.label})"


def compare(
    variants: Mapping[str, Callable[[], Any]],
    rounds: int = 3,
    threads: Mapping[str, int] | None = None,
    warmup: bool = True,
) -> Comparison:
    """Times each variant `rounds` times, interleaved, with the CPU share of every run.

    variants: name → a function of no arguments (its last result is kept in `results`).
    threads: name → how many CPU-bound threads that variant runs (default 1 each): decides
        how many CPUs it could use, and so whether its share means "free" or "busy".
    warmup: call each variant once, untimed, first (caches, page faults, thread pools).
    """
    if not isinstance(variants, Mapping) or not variants:
        raise ValueError("variants: must be a non-empty mapping of name to function")
    for name, fn in variants.items():
        if not callable(fn):
            raise TypeError(f"variants: {name!r} must be a function of no arguments")
    rounds = check_int("rounds", rounds, 1, 1000)
    counts = {str(name): 1 for name in variants}
    for name, k in (threads or {}).items():
        if name not in variants:
            raise ValueError(f"threads: {name!r} is not one of the variants {list(variants)}")
        counts[str(name)] = check_int(f"threads[{name!r}]", k, 1, 1024)
    allowed = allowed_cpus()
    if warmup:
        for fn in variants.values():
            fn()
    runs: list[Run] = []
    results: dict[str, Any] = {}
    for i in range(rounds):
        for name, fn in variants.items():
            result, run = run_share(fn)
            runs.append(Run(str(name), i, run.wall_s, run.cpu_s))
            results[str(name)] = result
    return Comparison(tuple(runs), counts, allowed, results)


def compare_fastest(
    variants: Mapping[str, Callable[[], Any]],
    rounds: int = 3,
    threads: Mapping[str, int] | None = None,
) -> tuple[Comparison, dict[str, Any]]:
    """`compare`, and each variant's result from its *fastest* run (`Comparison.results`
    keeps the last): for a figure that must draw the runs whose times are printed.

        comparison, fastest = measure.compare_fastest({"static": lambda: render(...), ...})
        plots.compare_timelines(fastest)   # the runs behind comparison.best_s
    """
    kept: dict[str, list[Any]] = {str(name): [] for name in variants}

    def keeping(name: str, fn: Callable[[], Any]) -> Callable[[], Any]:
        def call() -> Any:
            result = fn()
            kept[name].append(result)
            return result

        return call

    wrapped = {str(name): keeping(str(name), fn) for name, fn in variants.items()}
    comparison = compare(wrapped, rounds=rounds, threads=threads, warmup=True)
    fastest = {name: kept[name][1 + comparison._best(name).round] for name in kept}  # [0] is the warm-up
    return comparison, fastest


def from_traces(*traces: Any, threads: Mapping[str, int] | None = None) -> Comparison:
    """A `Comparison` of traced runs (`parlab.trace`), one run per mode: its wall time from
    the first call's start to the last call's end, its CPU time the calls' own (`cpu_s`,
    per thread, in this process or in child processes, which `run_share` cannot see).

    For a figure that draws those very calls: `label` and `situation` describe the runs
    shown. threads: mode → the CPU-bound threads (or processes) it runs, as in `compare`.

        c = measure.from_traces(t_threads, t_procs, threads={"threads": 1, "processes": 2})
        c.share["processes"], c.situation, c.label
    """
    from parlab.trace import combine

    frame = combine(*traces)
    if frame.empty:
        raise ValueError("traces: no calls were traced")
    runs = []
    for mode, part in frame.groupby("mode", sort=False):
        wall = float(part["end_s"].max() - part["start_s"].min())
        runs.append(Run(str(mode), 0, wall, float(part["cpu_s"].sum())))
    counts = {run.variant: 1 for run in runs}
    for name, k in (threads or {}).items():
        if name not in counts:
            raise ValueError(f"threads: {name!r} is not one of the traced modes {list(counts)}")
        counts[str(name)] = check_int(f"threads[{name!r}]", k, 1, 1024)
    kept = {str(getattr(t, "mode", "")): t for t in traces if hasattr(t, "mode")}
    return Comparison(tuple(runs), counts, allowed_cpus(), kept)
