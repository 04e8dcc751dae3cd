"""Plots of parlab runs, with matplotlib. Each function draws on `ax` (or a new figure)
and returns the figure, so notebooks can show, save or test it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import colors
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from parlab.trace import overlap_lanes as _lanes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from parlab import RenderRun
    from parlab.speedup import SpeedupResult


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.get_figure(), ax  # type: ignore[return-value]


def counts_colormap() -> colors.Colormap:
    """The colours of escape counts (log scale): grey for pixels never rendered."""
    return plt.get_cmap("magma").with_extremes(bad="#9a9a9a")


def mandelbrot(iterations: np.ndarray | RenderRun, ax: Axes | None = None, title: str | None = None) -> Figure:
    """The escape counts as an image; pixels of tiles never rendered (count 0) are grey."""
    counts = getattr(iterations, "iterations", iterations)
    fig, ax = _axes(ax, (8, 6))
    masked = np.ma.masked_equal(np.asarray(counts), 0)
    top = max(int(masked.max()) if masked.count() else 1, 2)
    ax.imshow(masked, cmap=counts_colormap(), norm=colors.LogNorm(vmin=1, vmax=top), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


#: Colours of a timeline's rows that are not computing (the `kind` column, e.g. Dask's).
KIND_COLORS = {"transfer": "#e377c2", "idle": "#c7c7c7", "overhead": "#8c564b"}
#: The narrowest a tile's bar is drawn, as a fraction of the time axis: tiles shorter than
#: a pixel would otherwise vanish, and their gaps read as idle time.
MIN_BAR_FRACTION = 0.002
_TILE_COLUMNS = {"thread_id", "start_us", "duration_us"}


def timeline(
    run: RenderRun | pd.DataFrame,
    ax: Axes | None = None,
    color_by: str = "iterations",
    title: str | None = None,
    label: str | None = None,
) -> Figure:
    """Per-thread timeline: one row per thread, one bar per tile from its start to its end.

    run: a RenderRun, a frame with the tile columns (thread_id, start_us, duration_us), or
        any object whose `to_frame()` gives one. Rows with a `kind` other than "compute"
        (e.g. "transfer", "idle") are drawn in their own colours, with a legend.
    color_by: "iterations" (the tile's mean iterations per pixel: dark = cheap, bright =
        expensive, with a colour bar) or "thread".
    title: the panel's title (default: the run in words, for a RenderRun).
    label: a line under the title saying under what conditions the times were taken,
        e.g. `measure.compare(...).label` ("1.4 of 2 CPUs free during these runs").

    With a `cpu_us` column (a RenderRun records the CPU time each tile's thread got), a
    tile's CPU share is spread through its bar: hatched all along (waiting for a CPU) under
    its colour at an opacity of cpu_us / duration_us. Three threads taking turns on one CPU
    then look faded, not parallel. Every tile stays visible: a bar is at least
    `MIN_BAR_FRACTION` of the axis wide.
    """
    own = ax is None
    fig, ax, handles, names = _tile_panel(run, ax, color_by, title, label)
    if handles and own:  # above the panel, where it cannot cover a bar or the title
        fig.legend(handles, names, loc="outside upper center", ncol=min(len(names), 4), fontsize=8, frameon=False)
    elif handles:
        ax.legend(handles, names, loc="lower right", bbox_to_anchor=(1, 1), ncol=min(len(names), 4), fontsize=8,
                  frameon=False)  # fmt: skip
    return fig


def _tile_panel(
    run: RenderRun | pd.DataFrame, ax: Axes | None, color_by: str, title: str | None, label: str | None
) -> tuple[Figure, Axes, list[Any], list[str]]:
    """`timeline`'s drawing, without its legend: the figure, the axes, the legend's
    handles and names (so that `compare_timelines` draws one legend for all panels)."""
    frame = run.to_frame() if hasattr(run, "to_frame") else run
    if not isinstance(frame, pd.DataFrame) or not set(frame.columns) >= _TILE_COLUMNS:
        raise ValueError(f"run: need a RenderRun or a frame with the columns {sorted(_TILE_COLUMNS)}")
    if color_by not in ("iterations", "thread"):
        raise ValueError(f"color_by: must be 'iterations' or 'thread', got {color_by!r}")
    threads = int(getattr(run, "threads", 0)) or (int(frame["thread_id"].max()) + 1 if len(frame) else 1)
    fig, ax = _axes(ax, (10, 1.2 + 0.45 * threads))
    kinds = frame["kind"].fillna("compute") if "kind" in frame.columns else pd.Series("compute", index=frame.index)
    compute = kinds == "compute"
    start_ms = frame["start_us"].to_numpy(float) / 1e3
    width_ms = frame["duration_us"].to_numpy(float) / 1e3
    elapsed = getattr(run, "elapsed_us", None)
    span = max(float(elapsed or 0) / 1e3, float((start_ms + width_ms).max()) if len(frame) else 0.0, 1e-3)
    shown = np.maximum(width_ms, span * MIN_BAR_FRACTION)
    by_iterations = color_by == "iterations" and {"iterations", "pixels"} <= set(frame.columns)
    fill = np.array([plt.get_cmap("tab10")(int(t) % 10) for t in frame["thread_id"]]).reshape(-1, 4)
    if by_iterations:
        work = (frame["iterations"] / frame["pixels"].clip(lower=1))[compute]
        norm = colors.Normalize(vmin=0, vmax=max(float(work.max()) if len(work) else 1.0, 1.0))
        fill[compute.to_numpy()] = plt.get_cmap("viridis")(norm(work.to_numpy(float)))
    others = [k for k in dict.fromkeys(kinds) if k != "compute"]
    for i, kind in enumerate(others):
        fill[(kinds == kind).to_numpy()] = colors.to_rgba(KIND_COLORS.get(kind, plt.get_cmap("Set2")(i % 8)))
    share = np.full(len(frame), np.nan)
    if "cpu_us" in frame.columns:
        share[compute.to_numpy()] = cpu_shares(frame["cpu_us"], frame["duration_us"])[compute.to_numpy()]
    # White edges separate tiles, but would swallow bars only a few pixels wide.
    wide = shown > span * MIN_BAR_FRACTION * 4
    for mask, edge in ((wide, 0.3), (~wide, 0.0)):
        _bars_with_cpu(ax, frame["thread_id"][mask], shown[mask], start_ms[mask], 0.8, fill[mask], share[mask],
                       WAIT_STYLES[0], edgecolor="white", linewidth=edge)  # fmt: skip
    ax.set_yticks(range(threads), [f"thread {t}" for t in range(threads)])
    ax.set_ylim(threads - 0.5, -0.5)
    ax.set_xlabel("time since the run started (ms)")
    ax.set_xlim(0, span * 1.02)
    if elapsed:
        ax.axvline(elapsed / 1e3, color="black", linewidth=1, linestyle="--")
    if by_iterations:
        bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax, pad=0.01)
        bar.set_label("iterations per pixel\n(tile mean)")
    handles: list[Any] = []
    names: list[str] = []
    if others:
        handles = [plt.Rectangle((0, 0), 1, 1, color=fill[(kinds == k).to_numpy()][0]) for k in others]
        if by_iterations:
            handles.insert(0, plt.Rectangle((0, 0), 1, 1, color=plt.get_cmap("viridis")(0.7)))
        names = (["compute"] if by_iterations else []) + others
    if not np.isnan(share).all():
        handles += [plt.Rectangle((0, 0), 1, 1, color=CPU_GREY), faded_handle(WAIT_STYLES[0])]
        names += ["solid: computing", "faded, hatched: waiting for a CPU (fill = CPU time / wall time)"]
    if title is None and hasattr(run, "strategy"):
        title = _run_title(run, threads, len(frame))
    if label:
        title = f"{title}\n{label}" if title else label
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    return fig, ax, handles, names


def _run_title(run: RenderRun, threads: int, tiles: int) -> str:
    """'dynamic schedule, 2 threads, avx2 kernel: 192 tiles in 9.2 ms', for people."""
    kernel = getattr(run, "kernel", None)
    parts = [f"{run.strategy} schedule", f"{threads} thread{'s' if threads != 1 else ''}"]
    if kernel:
        parts.append(f"{kernel} kernel" + (" + interior shortcut" if getattr(run, "interior_shortcut", False) else ""))
    total = getattr(run, "total_tiles", tiles)
    done = f"{tiles} tiles" if tiles == total else f"{tiles} of {total} tiles (time limit)"
    return f"{', '.join(parts)}: {done} in {run.elapsed_us / 1e3:.1f} ms"


def compare_timelines(
    runs: dict[str, RenderRun] | list[RenderRun], color_by: str = "thread", label: str | None = None
) -> Figure:
    """Several runs' timelines stacked on one time axis, so their lengths compare directly.
    With a dict, each panel's title starts with its key. `label`, a line over the panels,
    says under what conditions the times were taken, e.g. `measure.compare(...).label`.
    Each tile's CPU share is spread through its bar, as in `timeline`."""
    names = list(runs) if isinstance(runs, dict) else None
    runs = list(runs.values()) if isinstance(runs, dict) else list(runs)
    if not runs:
        raise ValueError("runs: need at least one run")
    rows = [max(r.threads, 1) for r in runs]
    fig, axes = plt.subplots(
        len(runs), 1, figsize=(10, 0.9 * len(runs) + 0.42 * sum(rows)), sharex=True,
        gridspec_kw={"height_ratios": [n + 1.5 for n in rows]}, layout="constrained", squeeze=False,
    )  # fmt: skip
    longest = max(r.elapsed_us for r in runs) / 1e3
    legend: dict[str, Any] = {}
    for i, (ax, run) in enumerate(zip(axes[:, 0], runs, strict=True)):
        _, _, handles, entries = _tile_panel(run, ax, color_by, None, None)
        legend.update({e: h for e, h in zip(entries, handles, strict=True) if e not in legend})
        ax.set_xlabel("")
        if names is not None and not ax.get_title(loc="left").startswith(names[i]):
            ax.set_title(f"{names[i]} · {ax.get_title(loc='left')}", loc="left", fontsize=10)
    axes[-1, 0].set_xlim(0, longest * 1.02)
    axes[-1, 0].set_xlabel("time since the run started (ms)")
    _figure_legend(fig, list(legend.values()), list(legend), label)
    return fig


def _figure_legend(fig: Figure, handles: list[Any], names: list[str], label: str | None) -> None:
    """The legend above the panels (where it cannot cover a bar or a title), under the
    figure's `label` (its title: a suptitle would sit on top of the legend)."""
    if handles:
        fig.legend(
            handles, names, loc="outside upper center", ncol=min(len(names), 3), fontsize=8, frameon=False,
            title=label, title_fontsize=10,
        )  # fmt: skip
    elif label:
        fig.suptitle(label, fontsize=10)


# --- experiments: frames with mode, task, worker, start_s, end_s ---------------------------

STEP_COLORS = {"load": "#4c72b0", "render": "#dd8452"}
#: How the waiting share of a bar (wall time not spent on the CPU) is drawn: the first
#: label of a plot gets the first style, and so on.
WAIT_STYLES = [
    {"facecolor": "#f2f2f2", "hatch": "////", "edgecolor": "#9a9a9a"},
    {"facecolor": "#fde0dd", "hatch": "xxxx", "edgecolor": "#c51b8a"},
    {"facecolor": "#e5f5e0", "hatch": "....", "edgecolor": "#31a354"},
]
#: The default label of the waiting share: from CPU time alone one cannot tell why.
WAITING = "waiting for a CPU, the GIL or I/O"
#: The colour of "computing" in legends that explain a bar's fill.
CPU_GREY = "#555555"


def cpu_shares(cpu: pd.Series | np.ndarray, wall: pd.Series | np.ndarray) -> np.ndarray:
    """Each bar's CPU time over its wall time, clipped to 0..1; NaN where either is unknown
    (or the bar is empty), which draws as solid: no claim of waiting."""
    cpu, wall = np.asarray(cpu, dtype=float), np.asarray(wall, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(wall > 0, cpu / wall, np.nan)
    return np.clip(share, 0.0, 1.0)


def _bars_with_cpu(
    ax: Axes,
    y: Any,
    width: Any,
    left: Any,
    height: float,
    color: Any,
    share: Any,
    wait_style: dict[str, str],
    **edge: Any,
) -> None:
    """Bars whose CPU share is spread through them: the whole bar hatched (waiting), under
    its colour at an opacity equal to the share. A bar that had a CPU a third of its time
    looks a third filled all along, so three bars taking turns on one CPU cannot read as
    three running at once; a bar with an unknown share (NaN) is solid."""
    share = np.asarray(share, dtype=float)
    known = ~np.isnan(share)
    y, width, left = (np.asarray(v, dtype=float) for v in (y, width, left))
    fills = np.array([colors.to_rgba(c) for c in color]).reshape(-1, 4)
    ax.barh(y[known], width[known], left=left[known], height=height, linewidth=0, **wait_style)
    fills[known, 3] = share[known]
    ax.barh(y, width, left=left, height=height, color=fills, **edge)


def worker_timeline(
    frame: pd.DataFrame,
    modes: list[str] | None = None,
    color_by: str | None = None,
    steps: bool = False,
    waiting: str | dict[str, str] | None = None,
    label: str | None = None,
) -> Figure:
    """One panel per mode, one row per worker, one bar per task (or step) on a shared time
    axis in ms. Tasks that overlap on one worker (coroutines waiting together) are stacked
    in thinner lanes inside the worker's row.

    color_by: a column to colour by ("step", "function", "task", "worker"); by default
        "step" or "function" when the frame has several, else one colour per mode.
    steps=True: the times count steps (the multiplexer's traces), not seconds.
    waiting: when the frame has `cpu_s` (from `parlab.trace`), each bar's CPU time is
        spread through it: the bar is hatched all along (waiting) under its colour at an
        opacity of cpu_s / wall time, so a task that had a CPU 40 % of its time looks 40 %
        filled. Name the waiting: one label for every bar (default: "waiting for a CPU,
        the GIL or I/O"), or a dict from values of `color_by` to labels, e.g. {"load":
        "waiting for I/O", "render": "waiting for the GIL"}. Each label gets its own
        colour and hatch.
    label: a line over the panels saying under what conditions the times were taken,
        e.g. `measure.compare(...).label` ("1.4 of 2 CPUs free during these runs").
    """
    layout = _worker_layout(frame, modes, color_by, steps)
    cpu = "cpu_s" in frame.columns and not steps and frame["cpu_s"].notna().any()
    wait_labels = _wait_labels(frame, layout.color_by, waiting) if cpu else None
    styles = {
        name: WAIT_STYLES[i % len(WAIT_STYLES)]
        for i, name in enumerate(dict.fromkeys([] if wait_labels is None else wait_labels))
    }
    fig, axes = plt.subplots(
        len(layout.modes), 1, figsize=(10, 0.5 + 0.3 * sum(layout.heights)), sharex=True, squeeze=False,
        gridspec_kw={"height_ratios": layout.heights}, layout="constrained",
    )  # fmt: skip
    for ax, mode, workers in zip(axes[:, 0], layout.modes, layout.rows, strict=True):
        part = frame[frame["mode"] == mode]
        _worker_panel(ax, part, layout, mode, workers, wait_labels, styles)
    _worker_legend(fig, layout, cpu, styles, label)
    axes[-1, 0].set_xlabel("steps" if steps else "time since the mode started (ms)")
    axes[-1, 0].set_xlim(left=0)
    return fig


class _WorkerLayout(NamedTuple):
    """Where `worker_timeline` puts things: the modes (one panel each), each panel's
    worker rows and height, each worker's overlap lanes, and the colour of each value."""

    modes: list[str]
    rows: list[int]
    lanes: dict[str, dict[int, np.ndarray]]
    heights: list[float]
    color_by: str
    categories: dict[object, int]
    scale: float


def _worker_layout(frame: pd.DataFrame, modes: list[str] | None, color_by: str | None, steps: bool) -> _WorkerLayout:
    if frame.empty:
        raise ValueError("frame: no rows to draw")
    modes = list(dict.fromkeys(frame["mode"])) if modes is None else list(modes)
    if color_by is None:
        several = [c for c in ("step", "function") if c in frame.columns and frame[c].nunique() > 1]
        color_by = several[0] if several else ("step" if "step" in frame.columns else "mode")
    if color_by not in frame.columns:
        raise ValueError(f"color_by: {color_by!r} is not a column of the frame")
    rows = [max(int(frame.loc[frame["mode"] == m, "worker"].max()) + 1, 1) for m in modes]
    lanes = {
        mode: {w: _lanes(b["start_s"].to_numpy(), b["end_s"].to_numpy()) for w, b in part.groupby("worker")}
        for mode, part in frame[frame["mode"].isin(modes)].groupby("mode")
    }
    # A worker row grows with its lanes (coroutines in flight together), within limits.
    heights = [min(sum(max(1.0, (lane.max() + 1) / 3) for lane in lanes[m].values()), 24) + 1.5 for m in modes]
    categories = {value: i for i, value in enumerate(dict.fromkeys(frame[color_by]))}
    return _WorkerLayout(modes, rows, lanes, heights, color_by, categories, 1.0 if steps else 1e3)


def _category_color(layout: _WorkerLayout, value: object) -> object:
    palette = plt.get_cmap("tab10")
    if layout.color_by in ("step", "function"):
        return STEP_COLORS.get(value, palette((layout.categories[value] + 2) % 10))  # type: ignore[call-overload]
    return palette(layout.categories[value] % 10)


def _worker_panel(
    ax: Axes,
    part: pd.DataFrame,
    layout: _WorkerLayout,
    mode: str,
    workers: int,
    wait_labels: pd.Series | None,
    styles: dict[str, dict[str, str]],
) -> None:
    """One mode's panel: its workers' bars (CPU share spread through each when known),
    rows and title."""
    scale = layout.scale
    for worker, bars in part.groupby("worker"):
        lane = layout.lanes[mode][worker]
        count = lane.max() + 1
        height = 0.8 / count * 0.9
        colors_ = [_category_color(layout, value) for value in bars[layout.color_by]]
        y = worker - 0.4 + 0.8 / count * (lane + 0.5)
        left = (bars["start_s"] * scale).to_numpy(float)
        wall = ((bars["end_s"] - bars["start_s"]) * scale).to_numpy(float)
        edge = 0.5 if count == 1 else 0.25
        if wait_labels is None:
            ax.barh(y, wall, left=left, height=height, color=colors_, edgecolor="white", linewidth=edge)
            continue
        share = cpu_shares(bars["cpu_s"] * scale, wall)
        labels = wait_labels[bars.index].to_numpy()
        for name in dict.fromkeys(labels):
            mine = labels == name
            fills = [c for c, m in zip(colors_, mine, strict=True) if m]
            _bars_with_cpu(ax, y[mine], wall[mine], left[mine], height, fills, share[mine], styles[name], linewidth=0)
        # An outline per task marks where it starts and ends, however faded its fill.
        ax.barh(y, wall, left=left, height=height, fill=False, edgecolor=colors_, linewidth=0.8)
    ax.set_ylim(workers - 0.5, -0.5)
    if workers <= 16:
        ax.set_yticks(range(workers), [f"worker {w}" for w in range(workers)])
    else:
        ax.set_ylabel(f"{workers} workers")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    total = f"{part['end_s'].max():.0f} steps" if scale == 1.0 else f"{part['end_s'].max() * 1e3:.0f} ms"
    text = f"{mode}: {total} on {part['worker'].nunique()} worker(s)"
    if wait_labels is not None:
        share = part["cpu_s"].sum() / max(float((part["end_s"] - part["start_s"]).sum()), 1e-12)
        text += f", computing {share:.0%} of the bars' time"
    ax.set_title(text, loc="left", fontsize=10)


def _worker_legend(
    fig: Figure, layout: _WorkerLayout, cpu: bool, styles: dict[str, dict[str, str]], label: str | None
) -> None:
    """The legend above the panels, under `label`: the colours, then how to read a bar's
    fill, then each kind of waiting's hatch."""
    categories, color_by = layout.categories, layout.color_by
    if color_by in ("step", "function") and len(categories) <= 10:
        legend = {str(v): _category_color(layout, v) for v in categories}
    elif color_by != "mode" and len(categories) <= 10:
        legend = {
            f"{color_by} {value}" if isinstance(value, int | np.integer) else str(value): _category_color(layout, value)
            for value in categories
        }
    else:
        legend = {}
    handles: list[Any] = [plt.Rectangle((0, 0), 1, 1, color=c) for c in legend.values()]
    names = list(legend)
    if cpu:
        handles.append(plt.Rectangle((0, 0), 1, 1, color=CPU_GREY))
        names.append("solid: computing (a bar's fill = its CPU time / wall time)")
    for name, style in styles.items():
        handles.append(faded_handle(style))
        names.append(f"faded, hatched: {name}")
    _figure_legend(fig, handles, names, label)


def faded_handle(style: dict[str, str]) -> tuple[Rectangle, Rectangle]:
    """A legend patch drawn like a bar that had a CPU a third of its time (the hatched
    waiting style under grey at 1/3 opacity); matplotlib overlays a tuple's patches."""
    under = Rectangle((0, 0), 1, 1, linewidth=0, **style)  # type: ignore[arg-type]
    return under, Rectangle((0, 0), 1, 1, color=colors.to_rgba(CPU_GREY, 1 / 3))


def _wait_labels(frame: pd.DataFrame, color_by: str, waiting: str | dict[str, str] | None) -> pd.Series:
    """The label of each row's waiting part."""
    if waiting is None or isinstance(waiting, str):
        return pd.Series(waiting or WAITING, index=frame.index)
    if not isinstance(waiting, dict):
        raise TypeError(f"waiting: must be a label or a dict of labels, got {type(waiting).__name__}")
    missing = sorted(str(v) for v in set(frame[color_by]) - set(waiting))
    if missing:
        raise ValueError(f"waiting: no label for {color_by} {', '.join(missing)}")
    return frame[color_by].map(waiting)


def mode_totals(frame: pd.DataFrame, by: str | None = None, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Total wall time of each mode as bars; with `by` (a column such as "workload"),
    grouped bars, one group per value of `by`."""
    if frame.empty:
        raise ValueError("frame: no rows to draw")
    keys = ["mode"] if by is None else [by, "mode"]
    totals = frame.groupby(keys, sort=False)["end_s"].max()
    fig, ax = _axes(ax, (8, 4))
    if by is None:
        ax.bar(totals.index, totals.to_numpy(), color=plt.get_cmap("tab10")(range(len(totals))))
        for x, value in enumerate(totals.to_numpy()):
            ax.annotate(f"{value:.2f} s", (x, value), ha="center", va="bottom", fontsize=8)
    else:
        table = totals.unstack("mode")
        table.plot.bar(ax=ax, rot=0, width=0.8)
        ax.legend(title="mode", fontsize=8)
    ax.set_ylabel("total time (s)")
    if title:
        ax.set_title(title)
    return fig


def speedup(
    result: SpeedupResult, ceiling: float | None = None, ax: Axes | None = None, title: str | None = None
) -> Figure:
    """Measured speedup over thread counts against the ideal line and the Amdahl fit, with
    efficiency on a second axis; `ceiling` draws the hardware's limit (e.g. max_speedup)."""
    table = result.table
    fig, ax = _axes(ax, (7, 4.5))
    k = table["threads"].to_numpy(float)
    grid = np.linspace(k.min(), k.max(), 200)
    ax.plot(grid, grid / k.min(), color="grey", linestyle=":", label="ideal (speedup = threads)")
    if result.serial_fraction is not None:  # None: too few thread counts to fit (result.fit_note)
        ax.plot(grid, [result.amdahl(x) for x in grid], color="#dd8452",
                label=f"Amdahl fit: serial fraction {result.serial_fraction:.1%}")  # fmt: skip
    ax.plot(k, table["speedup"], "o-", color="#4c72b0", label="measured (median)")
    if ceiling is not None:
        ax.axhline(ceiling, color="black", linestyle="--", linewidth=1, label=f"this machine's ceiling ({ceiling:g}×)")
    ax.set_xlabel("threads")
    ax.set_ylabel("speedup")
    ax.set_xticks(k)
    ax.set_ylim(0, max(float(table["speedup"].max()), k.max() / k.min(), ceiling or 0) * 1.08)
    twin = ax.twinx()
    twin.plot(k, table["efficiency"], "s--", color="#55a868", alpha=0.7, label="efficiency (right axis)")
    twin.set_ylim(0, 1.6)
    twin.set_ylabel("efficiency (speedup / threads)")
    handles, labels = ax.get_legend_handles_labels()
    extra_h, extra_l = twin.get_legend_handles_labels()
    ax.legend(handles + extra_h, labels + extra_l, loc="upper left", fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def work_per_thread(runs: dict[str, RenderRun], ax: Axes | None = None, title: str | None = None) -> Figure:
    """Grouped bars: each strategy's share of the image's iterations done by each thread.
    Equal bars mean a balanced schedule; the dashed line is a perfectly fair share."""
    if not runs:
        raise ValueError("runs: need at least one run")
    fig, ax = _axes(ax, (8, 4))
    threads = max(run.threads for run in runs.values())
    width = 0.8 / threads
    palette = plt.get_cmap("tab10")
    for t in range(threads):
        shares = []
        for run in runs.values():
            table = run.per_thread()
            total = table["iterations"].sum()
            shares.append(table["iterations"].get(t, 0) / total if total else 0.0)
        ax.bar(np.arange(len(runs)) - 0.4 + width * (t + 0.5), shares, width=width * 0.95,
               color=palette(t % 10), label=f"thread {t}")  # fmt: skip
    ax.set_xticks(range(len(runs)), list(runs))
    ax.set_ylabel("share of all iterations")
    fair = {run.threads for run in runs.values()}
    for k in fair:
        ax.axhline(1 / k, color="black", linestyle="--", linewidth=1)
    ax.legend(fontsize=8, ncol=min(threads, 4))
    if title:
        ax.set_title(title)
    return fig


def scaling(
    result: SpeedupResult,
    cpus: float | None = None,
    known_serial_fraction: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Measured speedup over thread counts (strong or weak scaling, per `result.law`) against
    the ideal line. The fitted law is drawn over the thread counts it was fitted on, and only
    when `result` has a fit; otherwise the reason is written on the plot. `cpus` shades the
    thread counts beyond the CPUs available (there the threads take turns);
    `known_serial_fraction` draws the law's prediction from a serial part known in advance
    (not fitted), up to `cpus` threads: beyond them no law applies."""
    from parlab.speedup import amdahl, gustafson

    law = amdahl if result.law == "amdahl" else gustafson
    name = "Amdahl" if result.law == "amdahl" else "Gustafson"
    table = result.table
    fig, ax = _axes(ax, (7, 4.5))
    k = table["threads"].to_numpy(float)
    grid = np.linspace(k.min(), k.max(), 200)
    ax.plot(grid, grid / k.min(), color="grey", linestyle=":", label="ideal, with a free CPU per thread")
    upto = grid[grid <= (cpus if cpus is not None else k.max()) + 1e-9]
    if known_serial_fraction is not None and len(upto) > 1:
        ax.plot(upto, [law(x, known_serial_fraction) for x in upto], color="#8172b3", linestyle="--", linewidth=2,
                label=f"{name}, known serial part {known_serial_fraction:.0%} (predicted, up to the CPUs)")  # fmt: skip
    if result.serial_fraction is not None:
        upto = grid[grid <= max(result.fitted_threads) + 1e-9]
        ax.plot(upto, [law(x, result.serial_fraction) for x in upto], color="#dd8452",
                label=f"{name} fit on {', '.join(map(str, result.fitted_threads))} threads: "
                f"serial {result.serial_fraction:.0%}")  # fmt: skip
    else:
        ax.text(0.98, 0.04, f"cannot fit {name}'s law on this machine\n(fewer than 2 thread counts above 1 CPU)",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="#dd8452")  # fmt: skip
    label = "measured (median)" if result.law == "amdahl" else "measured scaled speedup (median)"
    ax.plot(k, table["speedup"], "o-", color="#4c72b0", label=label)
    if cpus is not None and k.max() > cpus:
        ax.axvspan(max(cpus, k.min()), k.max(), color="#c44e52", alpha=0.08,
                   label=f"more threads than the {cpus:g} CPU(s) available")  # fmt: skip
    if cpus is not None:
        ax.axhline(cpus, color="black", linestyle="--", linewidth=1, label=f"CPUs available ({cpus:g})")
    ax.set_xlabel("threads" if result.law == "amdahl" else "threads (the problem grows with them)")
    ax.set_ylabel("speedup" if result.law == "amdahl" else "scaled speedup")
    ax.set_xticks(k)
    ax.set_ylim(0, max(float(table["speedup"].max()), k.max() / k.min()) * 1.08)
    ax.legend(loc="upper left", fontsize=8)
    if title:
        ax.set_title(title)
    return fig


# ---- work and span (lessons python/07, rust/02) --------------------------------------------


def _work_span(source: Any) -> Any:
    """A `WorkSpan`, from one or from anything `parlab.work_span` takes."""
    from parlab import work_span

    return source if hasattr(source, "speedup_bounds") else work_span(source)


def brent_bounds(
    source: Any,
    measured: Mapping[int, float] | pd.Series | None = None,
    processors: int | None = None,
    spawn_cost: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """The speedups Brent's bounds allow for p = 1 … `processors` workers, as a band
    between T₁/(T₁/p + T∞) and min(p, T₁/T∞), with the `measured` speedups (p → speedup)
    drawn in it. `source` is a `WorkSpan` or what `parlab.work_span` takes; `spawn_cost`
    (in the work's unit) adds the ceiling the burdened parallelism leaves. `processors`
    defaults to the largest measured p, or 8."""
    ws = _work_span(source)
    points = dict(measured.items()) if measured is not None else {}
    top = processors if processors is not None else (max(points) if points else 8)
    if not isinstance(top, int | np.integer) or isinstance(top, bool) or top < 1:
        raise ValueError(f"processors: must be an integer ≥ 1, got {top!r}")
    p = np.arange(1, int(top) + 1)
    low, high = np.array([ws.speedup_bounds(int(k)) for k in p]).T
    fig, ax = _axes(ax, (7, 4.5))
    ax.fill_between(p, low, high, color="#4c72b0", alpha=0.18, step=None, label="Brent's bounds on the speedup")
    ax.plot(p, high, color="#4c72b0", linewidth=1.5, label=f"upper: min(p, parallelism {ws.parallelism:.3g})")
    ax.plot(p, low, color="#4c72b0", linewidth=1, linestyle="--", label="lower: T₁ / (T₁/p + T∞)")
    ax.plot(p, p, color="grey", linestyle=":", label="p (linear)")
    if spawn_cost is not None:
        burdened = ws.burdened_parallelism(spawn_cost)
        ax.plot(p, np.minimum(p, burdened), color="#c44e52", linestyle="-.",
                label=f"burdened: min(p, {burdened:.3g}) at {spawn_cost:g} {ws.unit} per spawn")  # fmt: skip
    if points:
        ks = np.array(sorted(points), dtype=float)
        ax.plot(ks, [points[k] for k in sorted(points)], "o", color="#dd8452", markersize=7, zorder=3,
                label="measured")  # fmt: skip
    ax.set_xlabel("workers p")
    ax.set_ylabel("speedup T₁ / T_p")
    ax.set_xticks(p if len(p) <= 16 else np.linspace(1, top, 9).round())
    ax.set_xlim(0.8, top + 0.2)
    ax.set_ylim(0, max(float(high.max()), max(points.values(), default=0)) * 1.12 + 0.1)
    ax.legend(loc="best", fontsize=8)
    ax.set_title(title or f"work {ws.work:.4g}, span {ws.span:.4g} {ws.unit}: parallelism {ws.parallelism:.3g}")
    return fig


#: The most nodes `task_graph` draws: beyond, a picture is a blur.
MAX_DRAWN_NODES = 200
_EDGE_STYLES = {"spawn": "-", "join": "--", "continue": ":"}


def _levels(n: int, edges: list[tuple[int, int, str]]) -> list[int]:
    """Each node's depth: the most edges on a path from a source to it."""
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for a, b, _ in edges:
        preds[b].append(a)
        succs[a].append(b)
    waiting = [len(p) for p in preds]
    order = [v for v in range(n) if waiting[v] == 0]
    level = [0] * n
    for v in order:  # grows while it is read: Kahn's algorithm
        for w in succs[v]:
            level[w] = max(level[w], level[v] + 1)
            waiting[w] -= 1
            if waiting[w] == 0:
                order.append(w)
    return level


def task_graph(source: Any, ax: Axes | None = None, title: str | None = None) -> Figure:
    """A small task graph drawn by depth (top to bottom), its critical path in red: spawn
    edges solid, joins dashed, a task going on dotted; a node's area grows with its work.
    `source` is a `WorkSpan`, a `TaskGraph` or what `parlab.work_span` takes; at most
    `MAX_DRAWN_NODES` nodes."""
    ws = _work_span(source)
    graph = ws.graph
    n = len(graph)
    if n > MAX_DRAWN_NODES:
        raise ValueError(f"source: {n} nodes are too many to draw (at most {MAX_DRAWN_NODES}); take a smaller graph")
    edges, work, labels = graph.edges, np.array(graph.work, dtype=float), graph.labels
    level = _levels(n, edges)
    preds: list[list[int]] = [[] for _ in range(n)]
    for a, b, _ in edges:
        preds[b].append(a)
    x = np.zeros(n)
    for depth in range(max(level, default=0) + 1):  # each row ordered under its parents
        row = [v for v in range(n) if level[v] == depth]
        row.sort(key=lambda v: (np.mean([x[u] for u in preds[v]]) if preds[v] else 0.0, v))
        for i, v in enumerate(row):
            x[v] = i - (len(row) - 1) / 2
    y = -np.array(level, dtype=float)
    critical = set(ws.critical_path)
    on_path = set(zip(ws.critical_path, ws.critical_path[1:], strict=False))
    width = max(6.5, min(14.0, 2.5 + 1.1 * (np.ptp(x) if n else 0)))
    fig, ax = _axes(ax, (width, max(3.0, min(12.0, 1 + 0.8 * (max(level, default=0) + 1)))))
    for a, b, kind in edges:
        hot = (a, b) in on_path
        ax.annotate("", (x[b], y[b]), (x[a], y[a]), arrowprops={
            "arrowstyle": "-|>", "color": "#c44e52" if hot else "#7f7f7f", "linewidth": 2.2 if hot else 0.9,
            "linestyle": _EDGE_STYLES.get(kind, "-"), "shrinkA": 7, "shrinkB": 7})  # fmt: skip
    top = work.max() if n and work.max() > 0 else 1.0
    sizes = 40 + 460 * np.sqrt(work / top)
    colours = ["#c44e52" if v in critical else "#4c72b0" for v in range(n)]
    ax.scatter(x, y, s=sizes, c=colours, zorder=3, edgecolors="white", linewidths=1)
    if labels and n <= 60:
        for v in range(n):
            ax.annotate(labels[v], (x[v], y[v]), xytext=(6, 4), textcoords="offset points", fontsize=7)
    ax.set_axis_off()
    ax.margins(0.12)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color="#7f7f7f", linestyle=style, label=kind) for kind, style in _EDGE_STYLES.items()]
    handles.append(Line2D([], [], color="#c44e52", linewidth=2.2, label=f"critical path: span {ws.span:.4g}"))
    ax.legend(handles=handles, loc="lower left", fontsize=7, frameon=False)
    ax.set_title(title or f"{n} strands: work {ws.work:.4g}, span {ws.span:.4g} {ws.unit}", fontsize=10)
    return fig


# ---- shared data (lesson 09) --------------------------------------------------------------

ACTIVITY_COLORS = {"work": "#b8b8b8", "wait": "#d55e00", "hold": "#0072b2"}
"""The colours of `lock_timeline`: grey for work without a lock, orange-red for waiting."""


def lost_updates(frame: pd.DataFrame, ax: Axes | None = None, title: str | None = None) -> Figure:
    """What each way of counting counted (`method`, `total`) as a share of what it should
    have (`expected`), so runs of different sizes compare: the lost part is red."""
    if frame.empty:
        raise ValueError("frame: no rows to draw")
    fig, ax = _axes(ax, (8, 1.2 + 0.5 * len(frame)))
    y = np.arange(len(frame))
    total, expected = frame["total"].to_numpy(float), frame["expected"].to_numpy(float)
    counted = total / expected
    ax.barh(y, counted, color="#0072b2", height=0.6, label="counted")
    ax.barh(y, 1 - counted, left=counted, color="#d55e00", height=0.6, hatch="//", label="lost")
    for row, (t, e) in enumerate(zip(total, expected, strict=True)):
        lost = e - t
        text = f" lost {lost:,.0f} of {e:,.0f} ({lost / e:.0%})" if lost else f" none of {e:,.0f} lost"
        ax.annotate(text, (1, row), va="center", fontsize=8)
    ax.set_yticks(y, frame["method"])
    ax.set_ylim(len(frame) - 0.5, -0.5)
    ax.set_xlim(0, 1.6)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1], ["0", "25%", "50%", "75%", "100%"])
    ax.set_xlabel("final count, as a share of the expected count")
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    return fig


def throughput(frame: pd.DataFrame, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Increments per second (log scale) against threads, one line per counter (rows with
    `counter`, `threads`, `per_second`, as `parlab.shared.throughput` returns)."""
    if frame.empty:
        raise ValueError("frame: no rows to draw")
    fig, ax = _axes(ax, (7, 4.5))
    for counter, rows in frame.groupby("counter", sort=False):
        ax.plot(rows["threads"], rows["per_second"] / 1e6, "o-", label=str(counter))
    ax.set_yscale("log")
    ax.set_xticks(sorted(frame["threads"].unique()))
    ax.set_xlabel("threads")
    ax.set_ylabel("million increments per second (all threads)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    if title:
        ax.set_title(title)
    return fig


def lock_timeline(frame: pd.DataFrame, ax: Axes | None = None, title: str | None = None) -> Figure:
    """One row per thread: grey work, orange-red waiting for a lock, blue holding it (the
    lock's name on the bar when it fits). A wait that gave up (timed out) is hatched."""
    from matplotlib.patches import Patch

    if frame.empty:
        raise ValueError("frame: no spans to draw")
    threads = int(frame.attrs.get("threads") or frame["thread_id"].max() + 1)
    fig, ax = _axes(ax, (10, 1.4 + 0.55 * threads))
    end_ms = float((frame["start_us"] + frame["duration_us"]).max()) / 1e3
    for row in frame.itertuples():
        ax.barh(row.thread_id, row.duration_us / 1e3, left=row.start_us / 1e3, height=0.7,
                color=ACTIVITY_COLORS[row.activity], edgecolor="white", linewidth=0.3,
                hatch="xx" if row.timed_out else None)  # fmt: skip
        if row.lock not in ("", "lock") and row.duration_us / 1e3 > end_ms / 25:
            label = f"{row.activity} {row.lock}" + (": gave up" if row.timed_out else "")
            ax.annotate(label, ((row.start_us + row.duration_us / 2) / 1e3, row.thread_id), ha="center",
                        va="center", fontsize=8, bbox={"facecolor": "white", "alpha": 0.8, "linewidth": 0})  # fmt: skip
    handles = [Patch(color=color, label=activity) for activity, color in ACTIVITY_COLORS.items()]
    if frame["timed_out"].any():
        handles.append(Patch(facecolor=ACTIVITY_COLORS["wait"], edgecolor="white", hatch="xx", label="gave up"))
    ax.set_yticks(range(threads), [f"thread {t}" for t in range(threads)])
    ax.set_ylim(threads - 0.5, -0.5)
    ax.set_xlim(0, end_ms * 1.01)
    ax.set_xlabel("time since the start (ms)")
    ax.legend(handles=handles, fontsize=8, loc="lower right", ncol=len(handles), bbox_to_anchor=(1, 1))
    if title:
        ax.set_title(title, loc="left")
    return fig


def false_sharing(frame: pd.DataFrame, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Increments per second of counters in one cache line against padded ones (rows with
    `layout`, `stride_bytes`, `per_second`, as `parlab.shared.false_sharing` returns)."""
    if frame.empty:
        raise ValueError("frame: no rows to draw")
    fig, ax = _axes(ax, (6, 3.5))
    labels = [f"{r.layout}\n({r.stride_bytes} bytes apart)" for r in frame.itertuples()]
    values = frame["per_second"].to_numpy(float) / 1e6
    ax.bar(labels, values, color=["#d55e00", "#0072b2"][: len(frame)] + ["grey"] * (len(frame) - 2))
    for x, value in enumerate(values):
        ax.annotate(f"{value:,.0f} M/s", (x, value), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("million increments per second")
    if title:
        ax.set_title(title)
    return fig


def lane_utilization(run: RenderRun, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Each tile's SIMD lane utilisation (`TaskRecord.lane_utilization`: useful lane-steps
    over issued ones) drawn at the tile's place in the image, with the set's outline (the
    pixels at the run's highest count) in white: the tiles on the rim, where neighbouring
    pixels escape hundreds of iterations apart, are where lanes idle."""
    if not run.records:
        raise ValueError("run: no tiles were rendered, so there is no utilisation to draw")
    shares = np.full((run.height, run.width), np.nan)
    for r in run.records:
        shares[r.tile_y : r.tile_y + r.tile_h, r.tile_x : r.tile_x + r.tile_w] = r.lane_utilization
    fig, ax = _axes(ax, (8, 6))
    low = min(float(np.nanmin(shares)), 0.99)
    image = ax.imshow(np.ma.masked_invalid(shares), cmap=plt.get_cmap("viridis").with_extremes(bad="#9a9a9a"),
                      vmin=low, vmax=1.0, interpolation="nearest")  # fmt: skip
    counts = np.asarray(run.iterations)
    if counts.max() > counts.min():
        ax.contour(counts == counts.max(), levels=[0.5], colors="white", linewidths=0.7)
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label("lane utilisation of the tile (useful / issued lane-steps)")
    ax.set_axis_off()
    total = run.lane_utilization()
    ax.set_title(title or f"{run.kernel}: lanes busy {total:.1%} of the run's lane-steps", loc="left")
    return fig
