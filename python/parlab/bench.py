"""`python -m parlab.bench`: the original demo's workload (800×600, 50×50 tiles,
max_iter 1000) in one table: pure Python (on a crop of rows, scaled to the whole image),
numpy vectorised, numba's @njit and prange when numba is installed (`make bench`
installs it), and parlab: every strategy on the scalar kernel, then the SIMD kernels, at
1 and 2 threads. Every implementation's counts are checked against parlab's scalar ones.

Timings on a shared machine are noisy: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import parlab
from parlab.kernels import numpy_counts, python_counts

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per row (default 15)")
    parser.add_argument("--quick", action="store_true", help="skip pure Python and numpy (the slow rows)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats: must be at least 1")

    w, h, it = WORKLOAD["width"], WORKLOAD["height"], WORKLOAD["max_iter"]
    viewport = parlab.DEFAULT_VIEWPORT
    reference = parlab.render(**WORKLOAD, strategy="sequential", kernel="scalar").iterations
    giga = float(reference.astype(np.uint64).sum()) / 1e9
    rows: list[tuple[str, int, float]] = []

    def check(name: str, counts: object) -> None:
        expected = reference[:: CROP_STEP if name.startswith("pure") else 1]
        if not np.array_equal(np.asarray(counts), expected):
            print(f"warning: {name} counts differ from parlab's scalar kernel")

    if not args.quick:
        check("pure Python", python_counts(w, h, it, viewport, row_step=CROP_STEP))
        ms = median_ms(lambda: python_counts(w, h, it, viewport, row_step=CROP_STEP), 1) * CROP_STEP
        rows.append((f"pure Python (1/{CROP_STEP} of rows, ×{CROP_STEP})", 1, ms))
        check("numpy", numpy_counts(w, h, it, viewport))
        rows.append(("numpy vectorised", 1, median_ms(lambda: numpy_counts(w, h, it, viewport), 3)))

    kernels = numba_kernels()
    if kernels is not None:
        serial, parallel, set_threads = kernels
        out = np.zeros((h, w), dtype=np.uint32)
        serial(out, w, h, it, *viewport)
        check("numba", out)
        rows.append(("numba @njit", 1, median_ms(lambda: serial(out, w, h, it, *viewport), args.repeats)))
        for threads in (1, 2):
            set_threads(threads)
            rows.append(("numba prange", threads, median_ms(lambda: parallel(out, w, h, it, *viewport), args.repeats)))

    def parlab_row(label: str, threads: int, **options: object) -> None:
        def run() -> None:
            parlab.render(**WORKLOAD, threads=threads, **options)  # type: ignore[arg-type]

        check(label, parlab.render(**WORKLOAD, threads=threads, **options).iterations)  # type: ignore[arg-type]
        rows.append((label, threads, median_ms(run, args.repeats)))

    for strategy in parlab.STRATEGIES:
        for threads in (1,) if strategy == "sequential" else (1, 2):
            parlab_row(f"parlab scalar {strategy}", threads, strategy=strategy, kernel="scalar")
    for kernel in parlab.available_kernels()[1:]:
        for threads in (1, 2):
            parlab_row(f"parlab {kernel} dynamic", threads, kernel=kernel)
    best = parlab.available_kernels()[-1]
    for threads in (1, 2):
        parlab_row(f"parlab {best} + shortcut", threads, kernel=best, interior_shortcut=True)

    print(f"800×600, 50×50 tiles, max_iter 1000: {giga:.3f} G iterations; medians of {args.repeats} runs")
    scalar_1 = next(ms for name, _, ms in rows if name == "parlab scalar sequential")
    numba_2 = next((ms for name, t, ms in rows if name == "numba prange" and t == 2), None)
    header = f"{'implementation':<36}{'threads':>8}{'median ms':>11}{'G it/s/core':>13}{'vs scalar×1':>13}"
    if numba_2:
        header += f"{'vs numba prange×2':>19}"
    print(header)
    for name, threads, ms in rows:
        per_core = giga / (ms / 1e3) / threads
        line = f"{name:<36}{threads:>8}{ms:>11.1f}{per_core:>13.2f}{scalar_1 / ms:>12.2f}×"
        if numba_2:
            line += f"{numba_2 / ms:>18.2f}×"
        print(line)
    print("(+ shortcut rows: G it/s as if every iteration of the definition had run)")


if __name__ == "__main__":
    main()
