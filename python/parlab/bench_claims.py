"""`python -m parlab.bench_claims` (part of `make bench`): the course's timing claims,
measured on this machine and checked with margins.

They live here and not in pytest: a duration depends on the machine and on whatever else runs
on it, so a test suite that times things flakes on a shared CI runner. pytest checks what the
code does (results, overlaps, worker counts); this command checks how fast. Each claim prints
what it measured. A claim is skipped, with the reason, when `parlab.contention()` finds
fewer CPUs free right now than it needs (one, or two for the parallel ones): a machine that
busy cannot show a timing. Exit status 1 when a claim that could be shown failed.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass

import parlab
from parlab.experiments import download, fib, lists, pixels
from parlab.experiments.frames import summary


class Skip(Exception):
    """The machine cannot show this claim now (the message says why)."""


@dataclass(frozen=True)
class Claim:
    text: str
    #: CPUs that must be free now (per `parlab.contention()`) for the claim to be shown.
    cpus: int
    check: Callable[[], str]


CLAIMS: list[Claim] = []


def claim(text: str, cpus: int = 1) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Registers a check: it returns what it measured, raises AssertionError when the claim
    fails and Skip when the machine cannot show it."""

    def register(check: Callable[[], str]) -> Callable[[], str]:
        CLAIMS.append(Claim(text, cpus, check))
        return check

    return register


def _totals(frame) -> dict[str, float]:
    return {mode: round(float(s), 3) for mode, s in summary(frame)["total_s"].items()}


@claim("2 processes beat 2 GIL-bound threads on pure-Python fib by 1.3× (start-up included)", cpus=2)
def processes_beat_threads() -> str:
    t = _totals(fib.run(n=27, calls=24, modes=("threads", "processes"), workers=2))
    assert t["processes"] * 1.3 < t["threads"], t
    return f"seconds {t}"


@claim("Rust fib releasing the GIL on 2 threads, and rayon, beat Rust holding it by 1.3×", cpus=2)
def rust_threads_beat_the_gil() -> str:
    frame = fib.run(n=32, calls=16, modes=("rust", "rust-threads", "rayon"), workers=2)
    t = _totals(frame)
    assert t["rust-threads"] * 1.3 < t["rust"] and t["rayon"] * 1.3 < t["rust"], t
    rayon_workers = frame.loc[frame["mode"] == "rayon", "worker"].nunique()
    assert rayon_workers == 2, f"rayon ran on {rayon_workers} worker(s)"
    return f"seconds {t}"


@claim("20 downloads of 200 ms: asyncio and threads take under 3 latencies, sync over 18")
def downloads_overlap() -> str:
    t = _totals(download.run(pages=20, latency_ms=200, modes=("sync", "asyncio", "threads")))
    assert t["asyncio"] < 3 * 0.2 and t["threads"] < 3 * 0.2 and t["sync"] > 18 * 0.2, t
    return f"seconds {t}"


@claim("pixel model: waits overlap 4× under threads and coroutines; pure-Python renders do not")
def pixels_io_overlaps_cpu_does_not() -> str:
    io = _totals(pixels.run(size=4, workload="io", modes=("sync", "threads", "coroutines"), scale=0.5))
    assert io["threads"] * 4 < io["sync"] and io["coroutines"] * 4 < io["sync"], io
    cpu = _totals(pixels.run(size=4, workload="cpu", modes=("sync", "threads", "coroutines"), scale=0.5))
    assert cpu["threads"] > 0.6 * cpu["sync"] and cpu["coroutines"] > 0.6 * cpu["sync"], cpu
    return f"io {io}; cpu {cpu}"


@claim("building and searching lists grows linearly: log-log slopes within 0.7–1.3")
def lists_are_linear() -> str:
    slopes = lists.fit(lists.run(sizes=(10**4, 10**5, 10**6), repeats=3))["slope"].round(2).to_dict()
    assert all(0.7 <= s <= 1.3 for s in slopes.values()), slopes
    return f"slopes {slopes}"


_INTERRUPTED_RENDER = textwrap.dedent(
    """
    import parlab, sys
    print("ready", flush=True)
    try:
        parlab.render(width=4000, height=4000, tile_w=100, tile_h=100, max_iter=200000,
                      viewport=(-0.8, -0.7, 0.05, 0.15), strategy=sys.argv[1],
                      threads=1 if sys.argv[1] == "sequential" else 2, kernel="scalar")
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    """
)


@claim("SIGINT (Jupyter's interrupt) stops a long render within 300 ms, under every strategy")
def interrupt_is_quick() -> str:
    took = {}
    for strategy in parlab.STRATEGIES:
        child = subprocess.Popen(
            [sys.executable, "-c", _INTERRUPTED_RENDER, strategy], stdout=subprocess.PIPE, text=True
        )
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            time.sleep(0.5)
            sent = time.perf_counter()
            child.send_signal(signal.SIGINT)
            line = child.stdout.readline().strip()
            took[strategy] = round((time.perf_counter() - sent) * 1e3, 1)
            child.wait(timeout=10)
        finally:
            child.kill()
            child.wait()
        assert line == "interrupted", (strategy, line)
    assert max(took.values()) < 300, took
    return f"ms {took}"


@claim("parlab.contention() takes well under a second")
def contention_is_short() -> str:
    probes = [parlab.contention().probe_ms for _ in range(3)]
    assert max(probes) < 600, probes
    return f"ms {[round(p) for p in probes]}"


def run(names: list[str] | None = None, busy_too: bool = False) -> int:
    """Checks every claim (or those whose function name is in `names`); returns the failures.
    busy_too: check a claim even when too few CPUs are free for it."""
    failures = 0
    print(parlab.contention().summary)
    for item in CLAIMS:
        if names and item.check.__name__ not in names:
            continue
        status, detail = "ok", ""
        try:
            now = parlab.contention().available_parallelism_now
            if now < 0.8 * item.cpus and not busy_too:
                cpus = "1 free CPU" if item.cpus == 1 else f"{item.cpus} free CPUs"
                raise Skip(f"needs {cpus}, about {now:.1f} free now")
            detail = item.check()
        except Skip as why:
            status, detail = "skip", str(why)
        except AssertionError as error:
            status, detail = "FAIL", f"measured {error}"
            failures += 1
        print(f"{status:>4}  {item.text}\n      {detail}", flush=True)
    return failures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="check only these claims (their function names)")
    parser.add_argument("--busy-too", action="store_true", help="check claims even when too few CPUs are free")
    args = parser.parse_args(argv)
    sys.exit(1 if run(args.names, args.busy_too) else 0)


if __name__ == "__main__":
    main()
