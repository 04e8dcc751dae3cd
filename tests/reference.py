"""An independent implementation of parlab's pixel definition, in numpy.

Each numpy ufunc is one IEEE double operation (never fused), so this must agree with the
Rust core bit for bit.
"""

from __future__ import annotations

import numpy as np


def escape_counts(width, height, max_iter, viewport=(-2.5, 1.0, -1.0, 1.0)):
    re_min, re_max, im_min, im_max = viewport
    cr = (np.arange(width, dtype=np.float64) / width) * (re_max - re_min) + re_min
    ci = (np.arange(height, dtype=np.float64) / height) * (im_max - im_min) + im_min
    cr, ci = np.meshgrid(cr, ci)
    zr = np.zeros_like(cr)
    zi = np.zeros_like(cr)
    counts = np.full(cr.shape, max_iter, dtype=np.uint32)
    active = np.ones(cr.shape, dtype=bool)
    for i in range(max_iter):
        zr2 = zr * zr
        zi2 = zi * zi
        escaped = active & (zr2 + zi2 > 4.0)
        counts[escaped] = i
        active &= ~escaped
        if not active.any():
            break
        zi = np.where(active, (2.0 * zr) * zi + ci, zi)
        zr = np.where(active, (zr2 - zi2) + cr, zr)
    return counts
