"""`python -m parlab.bench`: the original demo's workload (800×600, 50×50 tiles,
max_iter 1000) in one table: pure Python (on a crop of rows, scaled to the whole image),
numpy vectorised, numba's @njit and prange when numba is installed (`make bench`
installs it), and parlab: every strategy on the scalar kernel, then the SIMD kernels, at
1 and 2 threads. Every implementation's counts are checked against parlab's scalar ones.
`measure()` returns the same table as a DataFrame (lesson 08 shows it).

Timings on a shared machine are noisy: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

import parlab
from parlab.kernels import numpy_counts, python_counts

if TYPE_CHECKING:
    import pandas as pd

WORKLOAD = dict(width=800, height=600, tile_w=50, tile_h=50, max_iter=1000)
#: Pure Python renders every CROP_STEP-th row, and its time is scaled up by CROP_STEP.
CROP_STEP = 20


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm up: thread pools, page faults, JIT
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def numba_kernels() -> tuple[Callable[..., None], Callable[..., None], Callable[[int], None]] | None:
    """The same pixel definition compiled by numba, serial and with prange over rows."""
    try:
        import numba
    except ImportError:
        return None

    def rows(out, width, height, max_iter, re_min, re_max, im_min, im_max):  # pragma: no cover - jitted
        for y in numba.prange(height):
            ci = (y / height) * (im_max - im_min) + im_min
            for x in range(width):
                cr = (x / width) * (re_max - re_min) + re_min
                zr = 0.0
                zi = 0.0
                count = max_iter
                for i in range(max_iter):
                    zr2 = zr * zr
                    zi2 = zi * zi
                    if zr2 + zi2 > 4.0:
                        count = i
                        break
                    zi = (2.0 * zr) * zi + ci
                    zr = (zr2 - zi2) + cr
                out[y, x] = count

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
    times faster than parlab's scalar kernel on one thread). Every implementation's counts
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

        check(label, parlab.render(**WORKLOAD, threads=k, **options).iterations)  # type: ignore[arg-type]
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
    table.attrs["g_iterations"] = giga
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per row (default 15)")
    parser.add_argument("--quick", action="store_true", help="skip pure Python and numpy (the slow rows)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats: must be at least 1")

    table = measure(repeats=args.repeats, python=not args.quick)
    print(f"800×600, 50×50 tiles, max_iter 1000: {table.attrs['g_iterations']:.3f} G iterations; "
          f"medians of {args.repeats} runs")  # fmt: skip
    numba_2 = table.loc[(table["implementation"] == "numba prange") & (table["threads"] == 2), "median_ms"]
    header = f"{'implementation':<36}{'threads':>8}{'median ms':>11}{'G it/s/core':>13}{'vs scalar×1':>13}"
    if len(numba_2):
        header += f"{'vs numba prange×2':>19}"
    print(header)
    for row in table.itertuples():
        line = (
            f"{row.implementation:<36}{row.threads:>8}{row.median_ms:>11.1f}"
            f"{row.g_iterations_per_s_per_core:>13.2f}{row.vs_scalar_1:>12.2f}×"
        )
        if len(numba_2):
            line += f"{numba_2.iloc[0] / row.median_ms:>18.2f}×"
        print(line)
    print("(+ shortcut rows: G it/s as if every iteration of the definition had run)")


if __name__ == "__main__":
    main()
