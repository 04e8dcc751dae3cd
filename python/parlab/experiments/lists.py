"""How long it takes to build a list of n items, and to search it for an item that is not
there (seed 003), for n from 10³ to 10⁷: both grow linearly, which a log-log fit shows as a
slope of about 1.

    frame = parlab.experiments.lists.run()
    parlab.experiments.lists.fit(frame)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from parlab.checks import check_int
from parlab.experiments.frames import now

SIZES = (10**3, 10**4, 10**5, 10**6, 10**7)
MODES = ("build", "search")


def build(n: int) -> list[int]:
    return [i for i in range(n)]


def search(items: list[int]) -> bool:
    return -1 in items  # never there: the whole list is read


def run(sizes: Sequence[int] = SIZES, repeats: int = 3) -> pd.DataFrame:
    """Times build(n) and search(list of n) `repeats` times for each n; one row per timing.

    Columns: mode ("build"/"search"), task, worker (always 0), start_s, end_s, n, repeat,
    seconds.
    """
    if isinstance(sizes, int) or not isinstance(sizes, Sequence) or not sizes:
        raise TypeError("sizes: must be a non-empty sequence of list lengths")
    sizes = [check_int("sizes", n, 1, 10**8) for n in sizes]
    repeats = check_int("repeats", repeats, 1, 100)
    rows, t0, task = [], now(), 0
    for n in sizes:
        for repeat in range(repeats):
            start = now()
            items = build(n)
            built = now()
            search(items)
            searched = now()
            del items
            for mode, a, b in (("build", start, built), ("search", built, searched)):
                rows.append({"mode": mode, "task": task, "worker": 0, "start_s": a - t0, "end_s": b - t0,
                             "n": n, "repeat": repeat, "seconds": b - a})  # fmt: skip
            task += 1
    return pd.DataFrame(rows)


def fit(frame: pd.DataFrame) -> pd.DataFrame:
    """A least-squares line through log10(seconds) against log10(n), per mode, using the
    fastest of the repeats (the least disturbed). slope ≈ 1 means time ∝ n."""
    best = frame.groupby(["mode", "n"], sort=False)["seconds"].min().reset_index()
    rows = []
    for mode, group in best.groupby("mode", sort=False):
        x, y = np.log10(group["n"].to_numpy(float)), np.log10(group["seconds"].to_numpy(float))
        if len(group) < 2:
            raise ValueError("frame: need at least two sizes to fit a line")
        slope, intercept = np.polyfit(x, y, 1)
        residual = y - (slope * x + intercept)
        spread = ((y - y.mean()) ** 2).sum()
        r2 = 1 - (residual**2).sum() / spread if spread > 0 else 1.0
        rows.append({"mode": mode, "slope": slope, "intercept": intercept, "r2": r2,
                     "ns_per_item": 1e9 * float((group["seconds"] / group["n"]).iloc[-1])})  # fmt: skip
    return pd.DataFrame(rows).set_index("mode")
