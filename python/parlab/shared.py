"""Shared data between threads: the measurements behind lesson 09.

The races, locks, false sharing and deadlocks of `parlab_core::shared` run on Rust threads
with the GIL released (Ctrl-C stops them); the Python-thread experiments stand in the
notebook itself, helped by `switch_interval`, `run_threads` and `SpanLog` from here::

    from parlab import shared
    shared.count("load-store", threads=2, increments=10_000_000)["lost"]   # > 0, usually
    shared.throughput(threads=(1, 2))                                     # one row per run

Every timing here keeps, beside the time, the CPU share its run got (process CPU seconds per
wall second, from `parlab.measure`): a verdict on a timing is decided by what that run obtained.
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from numbers import Real
from typing import Any

import pandas as pd

from parlab import _core, measure
from parlab.checks import check_choice, check_int, check_number

COUNTERS: tuple[str, ...] = _core.COUNTERS
"""The ways `count` can count (the core's `shared::Counter`): the racy one first, then the three fixes."""

MAX_THREADS: int = _core.SHARED_MAX_THREADS
"""The most threads of one run here, Rust's or Python's (the core's `shared::MAX_THREADS`)."""

#: The most runs `throughput` and `false_sharing` keep the best of.
MAX_REPEATS = 20

SPAN_COLUMNS = ["thread_id", "round", "activity", "lock", "start_us", "duration_us", "timed_out"]


def count(counter: str, threads: int = 2, increments: int = 1_000_000) -> dict[str, Any]:
    """`threads` Rust threads each increment one shared counter `increments` times.

    Returns counter, threads, increments, expected, total, lost and elapsed_us. Every
    argument is checked by the core, which names it (threads × increments is bounded too).
    """
    return _core.shared_count(counter, threads, increments)


def label(shares: Iterable[float]) -> str:
    """For a figure's title: '1.9 of 2 CPUs obtained during these runs', from the runs' CPU
    shares (the most any run got, at most the CPUs this process may use)."""
    shares = [check_number(f"shares[{i}]", s, 0.0, math.inf) for i, s in enumerate(_sequence("shares", shares))]
    allowed = measure.allowed_cpus()
    cpus = "1 CPU" if allowed == 1 else f"{allowed} CPUs"
    return f"{min(float(allowed), max(shares, default=0.0)):.1f} of {cpus} obtained during these runs"


def throughput(
    counters: Iterable[str] = ("mutex", "fetch-add", "per-thread"),
    threads: Iterable[int] = (1, 2, 4),
    increments: int = 2_000_000,
    repeats: int = 3,
) -> pd.DataFrame:
    """Increments per second of each counter on each thread count: the best of `repeats` runs
    (on a shared machine the fastest run is the least disturbed one), the runs of all counters
    and thread counts interleaved so that a burst of load hits them alike. `share` is the CPU
    share of that fastest run; `frame.attrs["label"]` says what the runs obtained, for a title."""
    repeats = check_int("repeats", repeats, 1, MAX_REPEATS)
    counters = [check_choice("counters", c, COUNTERS) for c in _sequence("counters", counters)]
    threads = [check_int("threads", n, 1, MAX_THREADS) for n in _sequence("threads", threads)]
    cases = [(n, counter) for n in threads for counter in counters]
    best: dict[tuple[int, str], tuple[dict[str, Any], float]] = {}
    for _ in range(repeats):
        for n, counter in cases:
            run, timed = measure.run_share(lambda n=n, counter=counter: count(counter, n, increments))
            if (n, counter) not in best or run["elapsed_us"] < best[n, counter][0]["elapsed_us"]:
                best[n, counter] = (run, timed.share)
    rows = [
        {**run, "per_second": run["expected"] / (run["elapsed_us"] * 1e-6), "share": share}
        for run, share in (best[case] for case in cases)
    ]
    frame = pd.DataFrame(rows)
    frame.attrs["label"] = label(frame["share"]) if len(frame) else ""
    return frame


def _span_frame(run: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(run["spans"], columns=SPAN_COLUMNS)
    frame.attrs.update({k: run[k] for k in ("threads", "rounds", "elapsed_us", "timeouts", "completed")})
    return frame


def lock_timeline(threads: int = 2, rounds: int = 30, work_us: float = 20.0, hold_us: float = 50.0) -> pd.DataFrame:
    """`threads` threads each do `rounds` rounds of `work_us` without the lock, then wait for
    one shared lock and hold it for `hold_us`. One row per span (work, wait, hold), times in
    µs; `frame.attrs` holds threads, elapsed_us, timeouts and completed (rounds that got the lock)."""
    return _span_frame(_core.shared_lock_timeline(threads, rounds, work_us, hold_us))


def two_locks(order: str, rounds: int = 3, hold_us: float = 1000.0, timeout_ms: float = 200.0) -> pd.DataFrame:
    """Two threads take locks A and B, in the `order` "opposite" (thread 1 takes B first) or
    "same". Each first waits until the other holds a lock too, so the opposite order
    deadlocks every round; every wait gives up after `timeout_ms` (`timed_out` in its row)."""
    return _span_frame(_core.shared_two_locks(order, rounds, hold_us, timeout_ms))


def false_sharing(threads: int = 2, increments: int = 20_000_000, repeats: int = 3) -> pd.DataFrame:
    """Each thread increments its *own* counter; the counters share one cache line
    ("same line") or are padded apart ("padded"). The best of `repeats` runs of each,
    alternated so that a burst of load on the machine hits both."""
    repeats = check_int("repeats", repeats, 1, MAX_REPEATS)
    best: dict[bool, dict[str, Any]] = {}
    for _ in range(repeats):
        for padded in (False, True):
            run = _core.shared_false_sharing(padded, threads, increments)
            if padded not in best or run["elapsed_us"] < best[padded]["elapsed_us"]:
                best[padded] = run
    rows = [
        {
            "layout": "padded" if padded else "same line",
            **run,
            "per_second": run["threads"] * run["increments"] / (run["elapsed_us"] * 1e-6),
        }
        for padded, run in best.items()
    ]
    return pd.DataFrame(rows).drop(columns="padded")


def false_sharing_measured(
    threads: int = 2, increments: int = 10_000_000, rounds: int = 5
) -> tuple[pd.DataFrame, measure.Comparison]:
    """False sharing and what the machine gave it, from one `measure.compare`: four variants
    interleaved, the fastest of `rounds` each, with every run's CPU share.

    "1 thread" and "apart" count in registers (`per-thread`: nothing shared) on one thread and
    on `threads`: whether the threads can run at once now. "same line" and "padded" are
    `false_sharing`'s two layouts on `threads` threads. Returns a frame like `false_sharing`'s
    (the fastest run of each layout, `share` its CPU share) and the comparison."""
    threads = check_int("threads", threads, 2, MAX_THREADS)
    variants = {
        "1 thread": lambda: count("per-thread", 1, increments),
        "apart": lambda: count("per-thread", threads, increments),
        "same line": lambda: _core.shared_false_sharing(False, threads, increments),
        "padded": lambda: _core.shared_false_sharing(True, threads, increments),
    }
    widths = {name: threads for name in ("apart", "same line", "padded")}
    comparison = measure.compare(variants, rounds=rounds, threads=widths)
    rows = []
    for layout in ("same line", "padded"):
        run = comparison.results[layout]
        seconds = comparison.best_s[layout]
        rows.append(
            {
                "layout": layout,
                "threads": run["threads"],
                "increments": run["increments"],
                "stride_bytes": run["stride_bytes"],
                "totals": run["totals"],
                "elapsed_us": seconds * 1e6,
                "per_second": run["threads"] * run["increments"] / seconds,
                "share": comparison.share[layout],
            }
        )
    return pd.DataFrame(rows), comparison


def cache_line_bytes() -> int | None:
    """The CPU's cache line size in bytes, where the operating system says (Linux)."""
    return _core.cache_line_bytes()


@contextlib.contextmanager
def switch_interval(seconds: float) -> Iterator[float]:
    """Makes CPython offer the GIL to another thread every `seconds` (default 0.005), and
    restores the previous interval afterwards, also on an error or Ctrl-C."""
    seconds = check_number("seconds", seconds, 1e-7, 1.0)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield previous
    finally:
        sys.setswitchinterval(previous)


def run_threads(target: Callable[..., Any], threads: int, *args: Any) -> list[Any]:
    """Runs `target(i, *args)` on `threads` Python threads (i = 0, 1, …) at once and
    returns their results in order. An exception in a thread is raised here after all
    have finished. Keep the work bounded: a Python thread cannot be stopped from outside."""
    if not callable(target):
        raise TypeError(f"target: must be callable, got {type(target).__name__}")
    threads = check_int("threads", threads, 1, MAX_THREADS)
    results: list[Any] = [None] * threads
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = target(i, *args)
        except BaseException as err:  # handed to the caller below
            errors.append(err)

    workers = [threading.Thread(target=run, args=(i,), name=f"parlab-{i}") for i in range(threads)]
    for w in workers:
        w.start()
    try:
        for w in workers:
            w.join()
    finally:
        # On Ctrl-C the join above is interrupted: wait for the (bounded) work to end, so
        # that no thread outlives the cell.
        for w in workers:
            w.join()
    if errors:
        raise errors[0]
    return results


class SpanLog:
    """Spans recorded by Python threads, on one clock, as rows like `lock_timeline`'s.

    log = SpanLog(); t = log.now(); ...; log.add(thread_id, "wait", "A", t)
    """

    def __init__(self) -> None:
        self._start = time.perf_counter()
        self._rows: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.perf_counter()

    def add(
        self, thread_id: int, activity: str, lock: str, since: float, timed_out: bool = False, round: int = 0
    ) -> None:
        """Records that `thread_id` did `activity` ("work", "wait", "hold") on `lock` from `since`
        (a `now()` of this log) until now."""
        end = time.perf_counter()
        thread_id = check_int("thread_id", thread_id, 0, 1 << 31)
        round = check_int("round", round, 0, 1 << 62)
        if activity not in ("work", "wait", "hold"):
            raise ValueError(f"activity: must be 'work', 'wait' or 'hold', got {activity!r}")
        if not isinstance(lock, str):
            raise TypeError(f"lock: must be a string, got {type(lock).__name__}")
        if not isinstance(timed_out, bool):
            raise TypeError(f"timed_out: must be True or False, got {type(timed_out).__name__}")
        if isinstance(since, bool) or not isinstance(since, Real):
            raise TypeError(f"since: must be a time from now(), got {type(since).__name__}")
        if not self._start <= since <= end:  # NaN too
            when = "after now: a negative duration" if since > end else "before this log started"
            raise ValueError(f"since: must be a time from this log's now(), got {since} ({when})")
        row = (thread_id, round, activity, lock, (since - self._start) * 1e6, (end - since) * 1e6, timed_out)
        with self._lock:
            self._rows.append(row)

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(sorted(self._rows, key=lambda r: r[4]), columns=SPAN_COLUMNS)
        threads = int(frame["thread_id"].max()) + 1 if len(frame) else 0
        end = float((frame["start_us"] + frame["duration_us"]).max()) if len(frame) else 0.0
        frame.attrs.update(
            {"threads": threads, "elapsed_us": end, "timeouts": int(frame["timed_out"].sum()), "completed": None}
        )
        return frame


def _sequence(name: str, values: object) -> list[Any]:
    """A list of the values of an iterable that is not a string (a single name is a mistake)."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise TypeError(f"{name}: must be a sequence, got {type(values).__name__}")
    return list(values)


def holds_overlap(frame: pd.DataFrame, lock: str) -> bool:
    """Whether two spans holding `lock` overlap in time (a lock that works: never)."""
    if not isinstance(frame, pd.DataFrame) or not set(SPAN_COLUMNS) <= set(frame.columns):
        raise TypeError(f"frame: must be a frame of spans (columns {SPAN_COLUMNS}), got {type(frame).__name__}")
    holds = frame[(frame["activity"] == "hold") & (frame["lock"] == lock)].sort_values("start_us")
    ends = (holds["start_us"] + holds["duration_us"]).to_numpy()
    return bool((holds["start_us"].to_numpy()[1:] < ends[:-1]).any())


__all__ = [
    "COUNTERS",
    "MAX_THREADS",
    "SpanLog",
    "cache_line_bytes",
    "count",
    "false_sharing",
    "false_sharing_measured",
    "holds_overlap",
    "label",
    "lock_timeline",
    "run_threads",
    "switch_interval",
    "throughput",
    "two_locks",
]
