"""The tidy frame every experiment returns and every plot reads: one row per task, with
the columns mode, task, worker, start_s and end_s, and the clock its times come from."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

#: The columns every experiment's frame starts with.
COLUMNS = ["mode", "task", "worker", "start_s", "end_s"]

now = time.perf_counter  # monotonic, and on Linux/macOS the same clock in every process


def tidy(mode: str, rows: list[dict[str, Any]], t0: float, worker_key: str = "worker") -> pd.DataFrame:
    """Rows with absolute `start`/`end` clock readings and a raw worker key (thread ident,
    pid) → the standard frame: times in seconds since `t0`, workers numbered 0..k−1 in the
    order they first started work."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame = frame.sort_values("start", kind="stable")
    order = {key: i for i, key in enumerate(dict.fromkeys(frame[worker_key]))}
    frame["worker"] = frame[worker_key].map(order)
    frame["start_s"] = frame.pop("start") - t0
    frame["end_s"] = frame.pop("end") - t0
    frame.insert(0, "mode", mode)
    if worker_key != "worker":
        frame = frame.drop(columns=[worker_key])
    rest = [c for c in frame.columns if c not in COLUMNS]
    return frame[COLUMNS + rest].reset_index(drop=True)


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Total wall time and worker count per mode, in the order the modes ran."""
    grouped = frame.groupby("mode", sort=False)
    out = pd.DataFrame(
        {
            "total_s": grouped["end_s"].max(),  # times count from the start of each mode
            "tasks": grouped["task"].nunique(),
            "workers": grouped["worker"].nunique(),
        }
    )
    return out


def peak_concurrency(frame: pd.DataFrame) -> int:
    """The most tasks (rows) in progress at the same moment: what a limit caps."""
    events = sorted([(s, 1) for s in frame["start_s"]] + [(e, -1) for e in frame["end_s"]])
    running = peak = 0
    for _, change in events:  # at equal times an end (-1) sorts before a start (+1)
        running += change
        peak = max(peak, running)
    return peak
