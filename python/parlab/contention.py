"""What this process can really get *now*: `parlab.contention()`.

`parlab.hardware()` says what the machine allows (affinity, CPU quota). On a shared machine
(a course server, a CI runner, a laptop compiling in the background) other programs use some
of those CPUs, and a speedup curve measured now will stop below the allowed ceiling. This
probe, a few hundred milliseconds long, measures how many CPUs this process obtains:

    probe = parlab.contention()
    probe.available_parallelism_now   # e.g. 1.2: CPU seconds obtained per wall second
    probe.summary                     # "2 CPUs allowed, about 1.2 free right now: ..."

How: (1) a short quiet window reads /proc/stat for the CPUs this process may run on (how
busy other programs keep them while this process sleeps, and the hypervisor's steal time)
and /proc/loadavg; (2) a calibration runs as many spinning Rust threads as the hardware
allows (a render whose tiles all cost the same, under a time limit) and divides the CPU time
the process received by the wall time (`parlab.measure.run_share`, the one definition of
"CPU share during a run"): with k threads on k free CPUs that ratio is k; where others
compete, less. /proc/stat read around the spin says what the other programs took meanwhile,
so that the card's numbers add up: this process + other programs + idle = the CPUs allowed.

Other programs may keep every CPU busy while this process sleeps and still leave it a good
share once it computes: the operating system divides the CPUs between all who want them.
That is why the card shows both moments, each labelled.
"""

from __future__ import annotations

import html
import math
import os
import time
from dataclasses import asdict, dataclass

from parlab.measure import Run, run_share

#: A view inside the main cardioid: every pixel iterates max_iter times, so every tile costs
#: the same and the threads spin without memory traffic.
_INTERIOR = (-0.3, -0.1, -0.1, 0.1)
#: Small tiles keep the tail after the time limit short (about a millisecond per tile).
_TILE = 16
_MAX_ITER = 2000


@dataclass(frozen=True)
class Contention:
    """The result of `contention()`; shows as a card in Jupyter."""

    #: CPUs this process may use (affinity and CPU quota): `hardware().effective_parallelism`.
    allowed: int
    #: The cgroup CPU quota in CPUs, None when unlimited.
    cpu_quota: float | None
    #: CPU seconds the calibration's threads obtained per wall second (about `threads_probed`
    #: on free CPUs, less where other programs compete).
    available_parallelism_now: float
    #: The same, rounded to a whole number of CPUs (at least 1).
    available_now: int
    #: How many spinning threads the calibration ran (= allowed).
    threads_probed: int
    #: Share of the allowed CPUs' time that other programs used in the quiet window, 0–1
    #: (None without /proc/stat).
    others_busy: float | None
    #: Share of the allowed CPUs' time the hypervisor gave to other machines (steal), 0–1.
    steal: float | None
    #: /proc/loadavg: the 1, 5 and 15 minute load averages (runnable threads, machine-wide).
    load_average: tuple[float, float, float] | None
    #: How long the probe took, in milliseconds.
    probe_ms: float
    summary: str
    #: CPUs that other programs (and the hypervisor's other machines) used *during the
    #: calibration*, from /proc/stat, at most `allowed - available_parallelism_now` (None
    #: without /proc/stat).
    others_during_spin: float | None = None

    @property
    def busy(self) -> bool:
        """True when other programs leave this process clearly less than it is allowed."""
        return self.available_parallelism_now < 0.8 * self.allowed

    def to_dict(self) -> dict:
        return {**asdict(self), "busy": self.busy}

    def __repr__(self) -> str:
        return f"Contention(allowed={self.allowed}, available_now={self.available_parallelism_now:.2f}): {self.summary}"

    def _repr_html_(self) -> str:
        def percent(share: float | None) -> str:
            return "—" if share is None else f"{share:.0%}"

        def cpus(value: float | None) -> str:
            return "—" if value is None else f"{value:.2f} CPUs"

        load = "—" if self.load_average is None else " / ".join(f"{x:.2f}" for x in self.load_average)
        got = self.available_parallelism_now
        idle = None if self.others_during_spin is None else max(0.0, self.allowed - got - self.others_during_spin)
        sleeping = None if self.others_busy is None else self.others_busy * self.allowed
        rows = [
            ("CPUs allowed (affinity, quota)", f"{self.allowed}"),
            ("CPU quota (cgroup)", "unlimited" if self.cpu_quota is None else f"{self.cpu_quota:g} CPUs"),
            ("available right now (measured)", f"{got:.2f} CPUs ≈ {self.available_now}"),
            ("calibration", f"{self.threads_probed} spinning thread(s), CPU time ÷ wall time"),
            ("during it: other programs", cpus(self.others_during_spin)),
            ("during it: idle", cpus(idle)),
            (
                "before it, this process asleep: other programs",
                "—" if sleeping is None else f"{sleeping:.2f} of {self.allowed} CPUs ({percent(self.others_busy)})",
            ),
            ("steal time (hypervisor)", percent(self.steal)),
            ("load average 1 / 5 / 15 min", load),
            ("probe took", f"{self.probe_ms:.0f} ms"),
        ]
        cell = 'style="text-align:left;padding-right:1.5em"'
        body = "".join(f"<tr><td {cell}>{html.escape(k)}</td><td {cell}>{html.escape(v)}</td></tr>" for k, v in rows)
        return (
            '<table class="parlab-contention" style="border-collapse:collapse">'
            '<tr><th colspan="2" style="text-align:left">What this process can get now</th></tr>'
            f"{body}</table><p>{html.escape(self.summary)}</p>"
        )


def _cpu_times(cpus: set[int]) -> tuple[int, int, int] | None:
    """(total, idle + iowait, steal) ticks summed over `cpus`, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            lines = f.readlines()
    except OSError:
        return None
    total = idle = steal = 0
    for line in lines:
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu" or int(name[3:]) not in cpus:
            continue
        ticks = [int(x) for x in fields[:8]]  # user nice system idle iowait irq softirq steal
        ticks += [0] * (8 - len(ticks))
        total += sum(ticks)
        idle += ticks[3] + ticks[4]
        steal += ticks[7]
    return (total, idle, steal) if total else None


def _load_average() -> tuple[float, float, float] | None:
    try:
        with open("/proc/loadavg") as f:
            one, five, fifteen = (float(x) for x in f.read().split()[:3])
    except (OSError, ValueError):
        return None
    return one, five, fifteen


def _affinity() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return set(range(os.cpu_count() or 1))


def _spin(threads: int, spin_ms: float) -> Run:
    """The run of `threads` Rust threads spinning for ~spin_ms: its wall time, CPU time and
    share (CPU seconds per wall second), measured by `parlab.measure.run_share`."""
    import parlab

    # Big enough that no machine finishes it within the limit (a tile takes about a
    # millisecond; allow four per thread per millisecond), small enough to allocate quickly.
    size = _TILE * math.ceil(math.sqrt(4 * threads * spin_ms))
    _, run = run_share(
        lambda: parlab.render(
            width=size, height=size, tile_w=_TILE, tile_h=_TILE, max_iter=_MAX_ITER, strategy="dynamic",
            threads=threads, time_limit_ms=spin_ms, viewport=_INTERIOR, kernel="scalar",
        )
    )  # fmt: skip
    return run


def _others_during(before: tuple[int, int, int] | None, after: tuple[int, int, int] | None, run: Run) -> float | None:
    """CPUs that others used during `run`: the CPUs' busy time (steal included) between the
    two /proc/stat readings, minus this process's own CPU time, per wall second (at least 0)."""
    if before is None or after is None or after[0] <= before[0] or run.wall_s <= 0:
        return None
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    busy_s = ((after[0] - before[0]) - (after[1] - before[1])) / ticks
    return max(0.0, (busy_s - run.cpu_s) / run.wall_s)


def contention(spin_ms: float = 150, quiet_ms: float = 100, cpus: int | None = None) -> Contention:
    """Measure how much parallelism this process can get right now (about quiet_ms + spin_ms).

    spin_ms: how long the calibration's threads spin (10–2000 ms).
    quiet_ms: how long to watch /proc/stat before spinning (0–2000 ms; 0 skips it).
    cpus: probe as a process allowed on only the first `cpus` of its CPUs would (Linux: the
        CPU affinity is narrowed for the probe and restored after), e.g. to know how free the
        CPU is that `speedup.render_sweep(cpus=1)` runs on.
    """
    from parlab.checks import check_int, check_number

    spin_ms = check_number("spin_ms", spin_ms, 10, 2000)
    quiet_ms = check_number("quiet_ms", quiet_ms, 0, 2000)
    if cpus is None:
        return _probe(spin_ms, quiet_ms)
    cpus = check_int("cpus", cpus, 1, 1024)
    if not hasattr(os, "sched_setaffinity"):
        raise RuntimeError("cpus: restricting a process to some CPUs needs Linux")
    allowed = os.sched_getaffinity(0)
    # The calling thread's mask: the probe's threads inherit it, and hardware() reads it.
    os.sched_setaffinity(0, sorted(allowed)[:cpus])
    try:
        return _probe(spin_ms, quiet_ms)
    finally:
        os.sched_setaffinity(0, allowed)


def _probe(spin_ms: float, quiet_ms: float) -> Contention:
    import parlab

    start = time.perf_counter()
    info = parlab.hardware()
    allowed = info.effective_parallelism
    cpus = _affinity()

    others_busy = steal = None
    before = _cpu_times(cpus)
    if quiet_ms > 0 and before is not None:
        time.sleep(quiet_ms / 1e3)  # this process does nothing: whatever runs is someone else
        after = _cpu_times(cpus)
        if after is not None and after[0] > before[0]:
            total = after[0] - before[0]
            others_busy = max(0.0, (total - (after[1] - before[1])) / total)
            steal = (after[2] - before[2]) / total

    before = _cpu_times(cpus)
    run = _spin(allowed, spin_ms)
    now = run.share
    others = _others_during(before, _cpu_times(cpus), run)
    if others is not None:
        others = round(min(others, max(0.0, allowed - now)), 3)
    return Contention(
        allowed=allowed,
        cpu_quota=info.cpu_quota,
        available_parallelism_now=round(now, 3),
        available_now=max(1, round(now)),
        threads_probed=allowed,
        others_busy=others_busy,
        steal=steal,
        load_average=_load_average(),
        probe_ms=(time.perf_counter() - start) * 1e3,
        summary=_summary(allowed, now, steal),
        others_during_spin=others,
    )


def _summary(allowed: int, now: float, steal: float | None) -> str:
    cpus = "1 CPU" if allowed == 1 else f"{allowed} CPUs"
    text = f"{cpus} allowed, about {now:.1f} free right now"
    if allowed == 1:  # one CPU explains a flat curve, whatever else is running
        text += ": threads can take turns on it but not run in parallel, so expect no speedup"
        if now < 0.8:
            text += " (and other programs are using part of it, so timings are noisy)"
        return text + "."
    if now >= 0.8 * allowed:
        return text + f": nothing much else is competing, expect CPU-bound work to speed up by up to about {now:.1f}×."
    reason = "other programs are using the rest"
    if steal is not None and steal > 0.05:
        reason += f" (the hypervisor took {steal:.0%} of the time for other machines)"
    return text + f": {reason}, so expect at most about {max(now, 1.0):.1f}× and noisy timings."
