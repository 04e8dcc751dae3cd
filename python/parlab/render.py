"""The tile renderer. `render`, `render_tile`, `RenderRun` and `TaskRecord` are the Rust
core's (`parlab._core`, re-exported here and by `parlab`); this module adds what needs
Python: an image size calibrated to this machine."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real

from parlab._core import DEFAULT_VIEWPORT, RenderRun, TaskRecord, render, render_tile, tile_count

__all__ = ["DEFAULT_VIEWPORT", "RenderRun", "TaskRecord", "calibrated_size", "render", "render_tile", "tile_count"]


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
