"""The tile renderer: `render` and the `RenderRun` it returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np

from parlab import _core
from parlab._core import DEFAULT_VIEWPORT, TaskRecord

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, repr=False)
class RenderRun:
    """The result of `render`: the image, the timeline and how the run ended."""

    #: Escape counts, shape (height, width), dtype uint32; 0 where a tile was not rendered.
    iterations: np.ndarray
    #: One record per rendered tile, ordered by start time.
    records: list[TaskRecord]
    completed_tiles: int
    total_tiles: int
    #: True when the time limit kept at least one tile from starting.
    time_limited: bool
    #: From the start of the run until every worker had stopped, in microseconds.
    elapsed_us: float
    strategy: str
    threads: int
    #: The kernel that ran: "scalar", "portable", "avx2", "avx512" or "neon" (never "auto").
    kernel: str
    #: Whether cardioid and bulb points were given max_iter without iterating.
    interior_shortcut: bool

    def tile(self, record: TaskRecord) -> np.ndarray:
        """The escape counts of one record's tile (a view into `iterations`)."""
        return self.iterations[
            record.tile_y : record.tile_y + record.tile_h, record.tile_x : record.tile_x + record.tile_w
        ]

    def to_frame(self) -> pd.DataFrame:
        """The records as a DataFrame, one row per tile, with `end_us` added."""
        import pandas as pd

        columns = [
            "task_id", "thread_id", "tile_x", "tile_y", "tile_w", "tile_h",
            "start_us", "duration_us", "pixels", "iterations",
        ]  # fmt: skip
        frame = pd.DataFrame([r.to_dict() for r in self.records], columns=columns)
        frame["end_us"] = frame["start_us"] + frame["duration_us"]
        return frame

    def per_thread(self) -> pd.DataFrame:
        """One row per thread: tiles rendered, busy and idle time (ms) and iterations."""
        import pandas as pd

        frame = self.to_frame()
        grouped = frame.groupby("thread_id").agg(
            tiles=("task_id", "size"),
            busy_ms=("duration_us", "sum"),
            iterations=("iterations", "sum"),
        )
        grouped = grouped.reindex(pd.RangeIndex(self.threads, name="thread_id"), fill_value=0)
        grouped["busy_ms"] = grouped["busy_ms"] / 1e3
        grouped["idle_ms"] = self.elapsed_us / 1e3 - grouped["busy_ms"]
        return grouped

    def __repr__(self) -> str:
        height, width = self.iterations.shape
        limited = ", time-limited" if self.time_limited else ""
        shortcut = " + interior shortcut" if self.interior_shortcut else ""
        return (
            f"RenderRun({self.strategy} on {self.threads} thread(s), {self.kernel} kernel{shortcut}: {width}×{height}, "
            f"{self.completed_tiles}/{self.total_tiles} tiles in {self.elapsed_us / 1e3:.1f} ms{limited})"
        )


def render(
    width: int = 800,
    height: int = 600,
    tile_w: int = 50,
    tile_h: int = 50,
    max_iter: int = 1000,
    strategy: str = "dynamic",
    threads: int | None = None,
    time_limit_ms: float | None = None,
    viewport: Sequence[float] = DEFAULT_VIEWPORT,
    on_tile: Callable[..., Any] | None = None,
    tile_pixels: bool = False,
    kernel: str = "auto",
    interior_shortcut: bool = False,
) -> RenderRun:
    """Render the Mandelbrot set in tiles, recording what every thread did.

    strategy: one of `parlab.STRATEGIES` ("sequential", "static", "interleaved",
        "dynamic", "rayon").
    threads: worker threads; None means this machine's effective parallelism
        (the CPUs this process may use, within its CPU quota). "sequential" uses 1.
    time_limit_ms: no thread starts a tile after this; the rest of the image stays 0.
    viewport: (re_min, re_max, im_min, im_max) of the complex plane.
    on_tile: called on this thread as each tile finishes, while the workers keep going,
        as ``on_tile(record)`` or, with ``tile_pixels=True``, ``on_tile(record, pixels)``
        where pixels is the tile's (tile_h, tile_w) uint32 array. If it raises, the
        render stops and the exception propagates.
    kernel: how each tile's pixels are computed, with identical counts: "auto" (the
        fastest this CPU supports), "scalar" (one pixel at a time, the reference),
        "simd" (the best vector path), or one path of `parlab.available_kernels()`
        ("portable", "avx2", "avx512", "neon"). `run.kernel` says which one ran.
    interior_shortcut: give points of the main cardioid and the period-2 bulb max_iter
        without iterating (they never escape, so the counts stay identical).

    Interrupting (Ctrl-C, or "interrupt kernel" in Jupyter) stops every worker and
    raises KeyboardInterrupt. Bad parameters raise TypeError or ValueError naming them.
    """
    raw = _core.render(
        width, height, tile_w, tile_h, max_iter, strategy, threads, time_limit_ms,
        viewport, on_tile, tile_pixels, kernel, interior_shortcut,
    )  # fmt: skip
    return RenderRun(**raw)


def calibrated_size(
    sequential_ms: float,
    max_iter: int = 1000,
    viewport: Sequence[float] = DEFAULT_VIEWPORT,
    aspect: float = 4 / 3,
    kernel: str = "auto",
) -> tuple[int, int]:
    """An image size (width, height) whose sequential render takes about `sequential_ms`
    on this machine, for the same view and max_iter: a lesson can then say "the sequential
    run needs twice the time limit" on a slow laptop and a fast server alike. Pass the
    `kernel` the lesson renders with.

    Render time is proportional to the pixel count for a fixed view, so one timed probe at
    a small size is enough. The result stays between 200×150 and 4000×3000.
    """
    if isinstance(sequential_ms, bool) or not isinstance(sequential_ms, Real):
        raise TypeError(f"sequential_ms: must be a number, got {type(sequential_ms).__name__}")
    target = float(sequential_ms)
    if not 1 <= target <= 60_000:
        raise ValueError(f"sequential_ms: must be between 1 and 60000, got {target}")
    probe_w = 240
    probe_h = max(1, round(probe_w / aspect))
    best_us = min(
        render(probe_w, probe_h, 40, 40, max_iter, "sequential", viewport=viewport, kernel=kernel).elapsed_us
        for _ in range(3)
    )
    scale = (target * 1e3 / max(best_us, 1.0)) ** 0.5
    width = int(min(max(probe_w * scale, 200), 4000))
    return width, max(1, round(width / aspect))
