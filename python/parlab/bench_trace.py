"""How much does `parlab.trace` add to each call? `python -m parlab.bench_trace`

Times many calls of a function that does nothing, plain and traced, and prints the
difference per call (the median of several rounds, plain and traced interleaved so that
both meet the same load), in CPU time (what the tracing itself costs this process) and in
wall time (which also counts time other programs took the CPU away). The target is under
5 µs per call, so that tracing a task of a millisecond or more changes it by well under 1 %.

The cost includes the task graph's bookkeeping (`Trace.task_graph`): each call makes one
small list and makes itself the running call (a context variable) for the calls it makes.

Most of the cost is reading the thread's CPU clock twice (`time.thread_time_ns`, a system
call on Linux: no vDSO for CPU clocks); the second line of output measures that alone.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time

from parlab.trace import trace


def nothing(x: int) -> int:
    return x


async def nothing_async(x: int) -> int:
    return x


def cpu_clock_pair(x: int) -> int:
    """Just the two CPU-clock readings a traced call makes."""
    time.thread_time_ns()
    time.thread_time_ns()
    return x


def _per_call(function, calls: int, clock) -> float:
    start = clock()
    for i in range(calls):
        function(i)
    return (clock() - start) / calls


def _per_await(function, calls: int, clock) -> float:
    async def loop() -> float:
        start = clock()
        for i in range(calls):
            await function(i)
        return clock() - start

    return asyncio.run(loop()) / calls


def _median_extra(measure, plain, traced, calls: int, rounds: int, clock) -> float:
    """The median over `rounds` of (traced − plain) per call, in µs, each round timing both."""
    return statistics.median(
        (measure(traced, calls, clock) - measure(plain, calls, clock)) * 1e6 for _ in range(rounds)
    )


def measure(calls: int = 100_000, rounds: int = 7) -> dict[str, dict[str, float]]:
    """Overhead per call in µs (medians of `rounds`): {"cpu": {...}, "wall": {...}}, each with
    "sync" (a traced plain function), "async" (a traced `async def`) and "cpu_clock" (two
    CPU-clock reads)."""
    out: dict[str, dict[str, float]] = {}
    with trace("bench") as t:
        traced, traced_async = t.task(nothing), t.task(nothing_async)
        for name, clock in (("cpu", time.process_time), ("wall", time.perf_counter)):
            out[name] = {
                "sync": _median_extra(_per_call, nothing, traced, calls, rounds, clock),
                "async": _median_extra(_per_await, nothing_async, traced_async, calls, rounds, clock),
                "cpu_clock": _median_extra(_per_call, nothing, cpu_clock_pair, calls, rounds, clock),
            }
    if len(t.rows) != 4 * calls * rounds:  # every call was recorded
        raise RuntimeError(f"the trace recorded {len(t.rows)} calls, not {4 * calls * rounds}")
    return out


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    result = measure(args.calls, args.rounds)
    print(f"parlab.trace overhead per call ({platform.python_implementation()} {platform.python_version()}, "
          f"{_cpu_name()}), median of {args.rounds} × {args.calls:,} calls:")  # fmt: skip
    print("                          CPU time   wall time")
    for key, label in (
        ("sync", "traced plain function"),
        ("cpu_clock", "  of which 2 CPU clocks"),
        ("async", "traced async def"),
    ):
        print(f"  {label:<24}{result['cpu'][key]:6.2f} µs  {result['wall'][key]:6.2f} µs")
    verdict = "under" if max(result["cpu"]["sync"], result["cpu"]["async"]) < 5 else "OVER"
    print(f"  CPU cost {verdict} the 5 µs target")


if __name__ == "__main__":
    main()
