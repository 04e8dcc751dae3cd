"""Plots of parlab runs, with matplotlib. Each function draws on `ax` (or a new figure)
and returns the figure, so notebooks can show, save or test it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from parlab.tiles import RenderRun


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.get_figure(), ax  # type: ignore[return-value]


def mandelbrot(iterations: np.ndarray | RenderRun, ax: Axes | None = None, title: str | None = None) -> Figure:
    """The escape counts as an image; pixels of tiles never rendered (count 0) are grey."""
    counts = getattr(iterations, "iterations", iterations)
    fig, ax = _axes(ax, (8, 6))
    masked = np.ma.masked_equal(np.asarray(counts), 0)
    cmap = plt.get_cmap("magma").copy()
    cmap.set_bad("#9a9a9a")
    top = max(int(masked.max()) if masked.count() else 1, 2)
    ax.imshow(masked, cmap=cmap, norm=colors.LogNorm(vmin=1, vmax=top), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def timeline(
    run: RenderRun | pd.DataFrame,
    ax: Axes | None = None,
    color_by: str = "iterations",
    title: str | None = None,
) -> Figure:
    """Per-thread timeline: one row per thread, one bar per tile from its start to its end.

    color_by: "iterations" (the tile's work: dark = cheap, bright = expensive) or "thread".
    """
    frame = run.to_frame() if hasattr(run, "to_frame") else run
    threads = int(getattr(run, "threads", 0)) or (int(frame["thread_id"].max()) + 1 if len(frame) else 1)
    fig, ax = _axes(ax, (10, 1.2 + 0.45 * threads))
    if color_by == "iterations":
        work = frame["iterations"] / frame["pixels"].clip(lower=1)
        norm = colors.Normalize(vmin=0, vmax=max(float(work.max()) if len(work) else 1.0, 1.0))
        fill = plt.get_cmap("viridis")(norm(work))
    elif color_by == "thread":
        fill = [plt.get_cmap("tab10")(t % 10) for t in frame["thread_id"]]
    else:
        raise ValueError(f"color_by: must be 'iterations' or 'thread', got {color_by!r}")
    ax.barh(
        frame["thread_id"],
        frame["duration_us"] / 1e3,
        left=frame["start_us"] / 1e3,
        height=0.8,
        color=fill,
        edgecolor="white",
        linewidth=0.3,
    )
    ax.set_yticks(range(threads), [f"thread {t}" for t in range(threads)])
    ax.set_ylim(threads - 0.5, -0.5)
    ax.set_xlabel("time since the run started (ms)")
    elapsed = getattr(run, "elapsed_us", None)
    if elapsed:
        ax.axvline(elapsed / 1e3, color="black", linewidth=1, linestyle="--")
        ax.set_xlim(0, elapsed / 1e3 * 1.02)
    if color_by == "iterations":
        bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax, pad=0.01)
        bar.set_label("mean iterations / pixel")
    if title is None and hasattr(run, "strategy"):
        title = f"{run.strategy} on {threads} thread(s): {len(frame)} tiles in {elapsed / 1e3:.1f} ms"
    if title:
        ax.set_title(title)
    return fig


def compare_timelines(runs: dict[str, RenderRun] | list[RenderRun], color_by: str = "thread") -> Figure:
    """Several runs' timelines stacked on one time axis, so their lengths compare directly."""
    runs = list(runs.values()) if isinstance(runs, dict) else list(runs)
    if not runs:
        raise ValueError("runs: need at least one run")
    rows = [max(r.threads, 1) for r in runs]
    fig, axes = plt.subplots(
        len(runs), 1, figsize=(10, 0.9 * len(runs) + 0.42 * sum(rows)), sharex=True,
        gridspec_kw={"height_ratios": [n + 1.5 for n in rows]}, layout="constrained", squeeze=False,
    )  # fmt: skip
    longest = max(r.elapsed_us for r in runs) / 1e3
    for ax, run in zip(axes[:, 0], runs, strict=True):
        timeline(run, ax=ax, color_by=color_by)
        ax.set_xlabel("")
    axes[-1, 0].set_xlim(0, longest * 1.02)
    axes[-1, 0].set_xlabel("time since the run started (ms)")
    return fig
