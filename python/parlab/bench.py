"""`python -m parlab.bench`: the original demo's workload (800×600, 50×50 tiles,
max_iter 1000) under every strategy at 1 and 2 threads, beside numba's @njit and
prange on the same loop when numba is installed (`make bench` installs it).

Timings on a shared machine are noisy: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import parlab

WORKLOAD = dict(width=800, height=600, tile_w=50, tile_h=50, max_iter=1000)


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
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats: must be at least 1")

    w, h, it = WORKLOAD["width"], WORKLOAD["height"], WORKLOAD["max_iter"]
    reference = parlab.render(**WORKLOAD, strategy="sequential").iterations
    giga = float(reference.astype(np.uint64).sum()) / 1e9
    rows: list[tuple[str, int, float]] = []
    for strategy in parlab.STRATEGIES:
        for threads in (1, 2):
            if strategy == "sequential" and threads == 2:
                continue
            ms = median_ms(lambda s=strategy, t=threads: parlab.render(**WORKLOAD, strategy=s, threads=t), args.repeats)
            rows.append((f"parlab {strategy}", threads, ms))

    kernels = numba_kernels()
    if kernels is not None:
        serial, parallel, set_threads = kernels
        out = np.zeros((h, w), dtype=np.uint32)
        viewport = parlab.DEFAULT_VIEWPORT
        serial(out, w, h, it, *viewport)
        if not np.array_equal(out, reference):
            print("warning: numba's counts differ from parlab's (contracted multiply-adds?)")
        rows.append(("numba @njit", 1, median_ms(lambda: serial(out, w, h, it, *viewport), args.repeats)))
        for threads in (1, 2):
            set_threads(threads)
            rows.append(("numba prange", threads, median_ms(lambda: parallel(out, w, h, it, *viewport), args.repeats)))

    print(f"800×600, 50×50 tiles, max_iter 1000: {giga:.3f} G iterations; median of {args.repeats} runs")
    baseline = rows[0][2]
    numba_2 = next((ms for name, t, ms in rows if name == "numba prange" and t == 2), None)
    header = f"{'implementation':<22}{'threads':>8}{'median ms':>11}{'speedup':>9}{'effic.':>8}{'G it/s/core':>13}"
    if numba_2:
        header += f"{'vs numba prange×2':>19}"
    print(header)
    for name, threads, ms in rows:
        speedup = baseline / ms
        per_core = giga / (ms / 1e3) / threads
        line = f"{name:<22}{threads:>8}{ms:>11.1f}{speedup:>9.2f}{speedup / threads:>8.0%}{per_core:>13.2f}"
        if numba_2:
            line += f"{numba_2 / ms:>18.2f}×"
        print(line)


if __name__ == "__main__":
    main()
