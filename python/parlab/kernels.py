"""The Mandelbrot escape count written the way most people would first write it: a pure
Python loop, and numpy operating on the whole image at once. Both follow parlab's pixel
definition exactly (each numpy ufunc is one IEEE operation, never fused), so they give the
Rust core's counts bit for bit, at very different speeds: lesson 08 races them.
"""

from __future__ import annotations

import numpy as np

from parlab._core import DEFAULT_VIEWPORT


def axis_point(i: int, n: int, lo: float, hi: float) -> float:
    """The coordinate of pixel `i` of `n` on an axis from `lo` to `hi` (the core's pixel_to_point)."""
    return (i / n) * (hi - lo) + lo


def escape_count(cr: float, ci: float, max_iter: int) -> int:
    """The pixel definition: the first i with |z|² > 4, else max_iter. No fused multiply-add:
    each operation is rounded, as in the Rust core (`bench.py` compiles this same function
    with numba)."""
    zr = zi = 0.0
    for i in range(max_iter):
        zr2 = zr * zr
        zi2 = zi * zi
        if zr2 + zi2 > 4.0:
            return i
        zi = (2.0 * zr) * zi + ci
        zr = (zr2 - zi2) + cr
    return max_iter


def python_counts(width: int, height: int, max_iter: int, viewport=DEFAULT_VIEWPORT, row_step: int = 1) -> np.ndarray:
    """Pure Python, one pixel at a time. It is slow: `row_step=k` renders only every k-th
    row (a fair sample of the image: k times less work), returned as a smaller array."""
    re_min, re_max, im_min, im_max = viewport
    ys = range(0, height, row_step)
    out = np.zeros((len(ys), width), dtype=np.uint32)
    for row, y in enumerate(ys):
        ci = axis_point(y, height, im_min, im_max)
        for x in range(width):
            out[row, x] = escape_count(axis_point(x, width, re_min, re_max), ci, max_iter)
    return out


def numpy_counts(width: int, height: int, max_iter: int, viewport=DEFAULT_VIEWPORT) -> np.ndarray:
    """numpy, every pixel at once: each step updates only the pixels still inside."""
    re_min, re_max, im_min, im_max = viewport
    cr = (np.arange(width, dtype=np.float64) / width) * (re_max - re_min) + re_min
    ci = (np.arange(height, dtype=np.float64) / height) * (im_max - im_min) + im_min
    cr, ci = (a.ravel() for a in np.meshgrid(cr, ci))
    counts = np.full(cr.shape, max_iter, dtype=np.uint32)
    index = np.arange(cr.size)  # the pixels still iterating, compacted as they escape
    zr = np.zeros_like(cr)
    zi = np.zeros_like(cr)
    for i in range(max_iter):
        zr2 = zr * zr
        zi2 = zi * zi
        escaped = zr2 + zi2 > 4.0
        if escaped.any():
            counts[index[escaped]] = i
            keep = ~escaped
            index, zr, zi, zr2, zi2, cr, ci = (a[keep] for a in (index, zr, zi, zr2, zi2, cr, ci))
            if index.size == 0:
                break
        zi = (2.0 * zr) * zi + ci
        zr = (zr2 - zi2) + cr
    return counts.reshape(height, width)
