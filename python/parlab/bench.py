"""`python -m parlab.bench`: the original demo's workload (800×600, 50×50 tiles,
max_iter 1000) in one table: pure Python (on a crop of rows, scaled to the whole image),
numpy vectorised, numba's @njit and prange when numba is installed (`make bench`
installs it), and parlab: every strategy on the scalar kernel, then the SIMD kernels, at
1 and 2 threads. Every implementation's counts are checked against parlab's scalar ones.
`measure()` returns the same table as a DataFrame (lesson 08 shows it).

The table names the CPU (from /proc/cpuinfo), the SIMD path and the load it ran under, and
gives each kernel's *ceiling*: its G iterations/s/core on an interior-only view (every
pixel runs to max_iter, no escapes), so every row reads as a fraction of what its own
instruction stream allows. Each parlab row also gives its *lane utilisation*
(`RenderRun.lane_utilization()`: useful over issued SIMD lane-steps, counted, so the same on
any machine; 1.0 for the scalar kernel), which tells how much of a row's distance to its
ceiling is idle lanes. `--markdown` prints the table for the README.

Timings on a shared machine are noisy: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

import parlab
from parlab.kernels import axis_point, escape_count, numpy_counts, python_counts

if TYPE_CHECKING:
    import pandas as pd

WORKLOAD = dict(width=800, height=600, tile_w=50, tile_h=50, max_iter=1000)
#: Pure Python renders every CROP_STEP-th row, and its time is scaled up by CROP_STEP.
CROP_STEP = 20
#: The ceiling's view: inside the main cardioid (|c| ≤ 0.2 < 1/4), so no pixel escapes.
CEILING = dict(width=400, height=300, tile_w=50, tile_h=50, max_iter=1000, viewport=(-0.15, 0.1, -0.12, 0.12))


def cpu_description(cpuinfo: str | None = None) -> str:
    """The CPU as /proc/cpuinfo names it: vendor, family/model, AVX2/AVX-512 and, when it
    can be told, whether AVX-512 runs full width. AMD family 25 (0x19) is Zen 3 and Zen 4;
    Zen 4 (the family-25 parts with AVX-512) executes 512-bit operations as two 256-bit
    halves; family 26 (0x1a) is Zen 5, full width on desktop and server parts, half on the
    mobile ones, which the model number alone does not tell apart here."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                cpuinfo = f.read()
        except OSError:
            import platform

            return f"{platform.processor() or platform.machine()} (no /proc/cpuinfo)"
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            if fields:
                break  # the first processor is enough
            continue
        fields.setdefault(key.strip(), value.strip())
    vendor, name = fields.get("vendor_id", "?"), fields.get("model name", "?")
    family, model = int(fields.get("cpu family", "0")), int(fields.get("model", "0"))
    flags = set(fields.get("flags", "").split())
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    width = ""
    if vendor == "AuthenticAMD" and family == 25:
        core = "Zen 4" if "avx512f" in flags else "Zen 3"
        width = ", AVX-512 as two 256-bit halves" if "avx512f" in flags else ""
    elif vendor == "AuthenticAMD" and family == 26:
        core, width = "Zen 5", ", AVX-512 full width (desktop/server) or halves (mobile)"
    else:
        core = ""
    core = f" {core}" if core else ""
    return f"{name} ({vendor}{core}, family {family} model {model} = {model:#x}; {simd}{width})"


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm up: thread pools, page faults, JIT
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def numba_kernels() -> tuple[Callable[..., None], Callable[..., None], Callable[[int], None]] | None:
    """`parlab.kernels`' own pixel definition compiled by numba, serial and with prange
    over rows. Only the row loop is written here: numba parallelises `prange` only inside
    a jitted function, which calls jitted copies of the same Python functions."""
    try:
        import numba
    except ImportError:
        return None
    count, point = numba.njit(escape_count), numba.njit(axis_point)

    def rows(out, width, height, max_iter, re_min, re_max, im_min, im_max):  # pragma: no cover - jitted
        for y in numba.prange(height):
            ci = point(y, height, im_min, im_max)
            for x in range(width):
                out[y, x] = count(point(x, width, re_min, re_max), ci, max_iter)

    serial = numba.njit(rows)
    parallel = numba.njit(parallel=True)(rows)
    return serial, parallel, numba.set_num_threads


def measure(
    repeats: int = 15,
    python: bool = True,
    numba: bool = True,
    threads: tuple[int, ...] = (1, 2),
    strategies: tuple[str, ...] = parlab.STRATEGIES,
    kernels: tuple[str, ...] | None = None,
    shortcut: bool = True,
) -> pd.DataFrame:
    """The benchmark table as a DataFrame, one row per implementation and thread count:
    implementation, threads, median_ms, g_iterations_per_s_per_core, vs_scalar_1 (how many
    times faster than parlab's scalar kernel on one thread), lane_utilization (parlab's
    rows: useful over issued SIMD lane-steps of the run, counted; NaN for the others). Every implementation's counts
    are checked against parlab's scalar ones first.

    python: pure Python (one run on every CROP_STEP-th row, scaled) and numpy rows.
    numba: numba's rows, when numba is installed. threads: the thread counts of the
    multi-threaded rows. strategies: parlab's scalar strategies ("sequential" runs once, on
    one thread). kernels: parlab's other kernels (default: every one this CPU has beyond
    scalar), each with the dynamic strategy. shortcut: the best kernel with the interior
    shortcut.
    """
    import pandas as pd

    w, h, it = WORKLOAD["width"], WORKLOAD["height"], WORKLOAD["max_iter"]
    viewport = parlab.DEFAULT_VIEWPORT
    reference = parlab.render(**WORKLOAD, strategy="sequential", kernel="scalar").iterations
    giga = float(reference.astype(np.uint64).sum()) / 1e9
    rows: list[tuple[str, int, float]] = []
    lanes: dict[tuple[str, int], float] = {}

    def check(name: str, counts: object) -> None:
        expected = reference[:: CROP_STEP if name.startswith("pure") else 1]
        if not np.array_equal(np.asarray(counts), expected):
            raise AssertionError(f"{name} counts differ from parlab's scalar kernel")

    if python:
        start = time.perf_counter()
        check("pure Python", python_counts(w, h, it, viewport, row_step=CROP_STEP))
        ms = (
            (time.perf_counter() - start) * 1e3 * CROP_STEP
        )  # one run: it is slow, and interpreted code needs no warm-up
        rows.append((f"pure Python (1/{CROP_STEP} of rows, ×{CROP_STEP})", 1, ms))
        check("numpy", numpy_counts(w, h, it, viewport))
        rows.append(("numpy vectorised", 1, median_ms(lambda: numpy_counts(w, h, it, viewport), min(repeats, 3))))

    compiled = numba_kernels() if numba else None
    if compiled is not None:
        serial, parallel, set_threads = compiled
        out = np.zeros((h, w), dtype=np.uint32)
        serial(out, w, h, it, *viewport)
        check("numba", out)
        rows.append(("numba @njit", 1, median_ms(lambda: serial(out, w, h, it, *viewport), repeats)))
        for k in threads:
            set_threads(k)
            rows.append(("numba prange", k, median_ms(lambda: parallel(out, w, h, it, *viewport), repeats)))

    def parlab_row(label: str, k: int, **options: object) -> None:
        def run() -> None:
            parlab.render(**WORKLOAD, threads=k, **options)  # type: ignore[arg-type]

        checked = parlab.render(**WORKLOAD, threads=k, **options)  # type: ignore[arg-type]
        check(label, checked.iterations)
        lanes[(label, k)] = checked.lane_utilization()
        rows.append((label, k, median_ms(run, repeats)))

    if "sequential" not in strategies:
        strategies = ("sequential", *strategies)  # the reference row of vs_scalar_1
    for strategy in strategies:
        for k in (1,) if strategy == "sequential" else threads:
            parlab_row(f"parlab scalar {strategy}", k, strategy=strategy, kernel="scalar")
    for kernel in parlab.available_kernels()[1:] if kernels is None else kernels:
        for k in threads:
            parlab_row(f"parlab {kernel} dynamic", k, kernel=kernel)
    if shortcut:
        best = parlab.available_kernels()[-1]
        for k in threads:
            parlab_row(f"parlab {best} + shortcut", k, kernel=best, interior_shortcut=True)

    table = pd.DataFrame(rows, columns=["implementation", "threads", "median_ms"])
    table["g_iterations_per_s_per_core"] = giga / (table["median_ms"] / 1e3) / table["threads"]
    scalar_1 = table.loc[table["implementation"] == "parlab scalar sequential", "median_ms"].iloc[0]
    table["vs_scalar_1"] = scalar_1 / table["median_ms"]
    table["lane_utilization"] = [lanes.get((name, k), float("nan")) for name, k, _ in rows]
    table.attrs["g_iterations"] = giga
    return table


def ceilings(repeats: int, numba: bool = True) -> dict[str, float]:
    """Each kernel's G iterations/s on one core on the interior-only view (nothing escapes):
    numba's @njit (when installed) and every parlab kernel this CPU has."""
    giga = CEILING["width"] * CEILING["height"] * CEILING["max_iter"] / 1e9
    found: dict[str, float] = {}
    compiled = numba_kernels() if numba else None
    if compiled is not None:
        serial = compiled[0]
        cw, ch = CEILING["width"], CEILING["height"]
        inside = np.zeros((ch, cw), dtype=np.uint32)
        ms = median_ms(lambda: serial(inside, cw, ch, CEILING["max_iter"], *CEILING["viewport"]), repeats)
        found["numba"] = giga / (ms / 1e3)
    for kernel in parlab.available_kernels():

        def run(kernel: str = kernel) -> None:
            parlab.render(**CEILING, threads=1, strategy="sequential", kernel=kernel)  # type: ignore[arg-type]

        found[kernel] = giga / (median_ms(run, repeats) / 1e3)
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per row (default 15)")
    parser.add_argument("--quick", action="store_true", help="skip pure Python and numpy (the slow rows)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats: must be at least 1")

    load_before = os.getloadavg()
    table = measure(repeats=args.repeats, python=not args.quick)
    tops = ceilings(max(3, args.repeats // 3))
    rows = [
        (r.implementation, int(r.threads), float(r.median_ms), float(r.lane_utilization)) for r in table.itertuples()
    ]
    load = (load_before, os.getloadavg())
    print_table(rows, tops, table.attrs["g_iterations"], args.repeats, load, markdown=args.markdown)


def ceiling_of(name: str, ceilings: dict[str, float]) -> float | None:
    """The ceiling that applies to a row: its kernel's (numba's for numba rows); none for
    the shortcut rows (they skip iterations) and the interpreters."""
    if "shortcut" in name or not name.startswith(("numba", "parlab")):
        return None
    kernel = "numba" if name.startswith("numba") else name.split()[1]
    return ceilings.get(kernel)


def print_table(
    rows: list[tuple[str, int, float, float]],
    ceilings: dict[str, float],
    giga: float,
    repeats: int,
    load: tuple[tuple[float, float, float], tuple[float, float, float]],
    markdown: bool,
) -> None:
    cpu = cpu_description()
    best = parlab.available_kernels()[-1]
    print(f"CPU: {cpu}; {os.cpu_count()} logical CPUs; best SIMD path used: {best}")
    print(f"load average (1 min) {load[0][0]:.1f} before, {load[1][0]:.1f} after")
    print(f"800×600, 50×50 tiles, max_iter 1000: {giga:.3f} G iterations; medians of {repeats} runs")
    ceiling_text = ", ".join(f"{k} {g:.2f}" for k, g in ceilings.items())
    print(f"ceilings (interior-only view, 1 core, G it/s): {ceiling_text}")
    scalar_1 = next(ms for name, _, ms, _ in rows if name == "parlab scalar sequential")
    numba_2 = next((ms for name, t, ms, _ in rows if name == "numba prange" and t == 2), None)
    if markdown:
        print()
        columns = (
            "implementation | threads | median ms | G it/s/core | vs numba prange ×2 | of its ceiling | lanes busy"
        )
        print(f"| {columns} |")
        print("|---|---:|---:|---:|---:|---:|---:|")
    else:
        header = f"{'implementation':<36}{'threads':>8}{'median ms':>11}{'G it/s/core':>13}{'vs scalar×1':>13}"
        print(header + f"{'vs numba prange×2':>19}{'of ceiling':>12}{'lanes busy':>12}")
    for name, threads, ms, lanes in rows:
        per_core = giga / (ms / 1e3) / threads
        vs_numba = f"{numba_2 / ms:.2f}×" if numba_2 else "–"
        top = ceiling_of(name, ceilings)
        of_ceiling = f"{per_core / top:.0%}" if top else "–"
        busy = "–" if lanes != lanes else f"{lanes:.1%}"  # NaN: not a parlab row
        star = "*" if "shortcut" in name else ""
        if markdown:
            print(f"| {name} | {threads} | {ms:.1f} | {per_core:.2f}{star} | {vs_numba} | {of_ceiling} | {busy} |")
        else:
            line = f"{name:<36}{threads:>8}{ms:>11.1f}{per_core:>13.2f}{scalar_1 / ms:>12.2f}×"
            print(line + f"{vs_numba:>19}{of_ceiling:>12}{busy:>12}")
    for kernel, g in ceilings.items():
        label = f"ceiling: {kernel}, interior-only view"
        if markdown:
            print(f"| {label} | 1 | – | {g:.2f} | – | 100% | – |")
        else:
            print(f"{label:<36}{1:>8}{'–':>11}{g:>13.2f}")
    print()
    star = "\\*" if markdown else "*"
    print(f"{star} shortcut rows: G it/s as if every iteration of the definition had run.")
    print("lanes busy: useful over issued SIMD lane-steps (counted); a lane idles once its pixel is done.")


if __name__ == "__main__":
    main()
