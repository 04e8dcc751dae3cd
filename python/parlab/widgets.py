"""Live per-thread progress bars for a tile render, and a replay of a recorded run: the
original course demo's "Thread Progress Visualization" and "Replay Progress", in Jupyter.

    run = parlab.widgets.live_render(strategy="static", threads=4)   # bars fill as tiles finish
    parlab.widgets.replay(run)                                         # play it back, at any speed

In JupyterLab these are ipywidgets; elsewhere (a terminal) they degrade to plain text lines.
Each widget also carries a static picture of its last state (SVG, beside the widget in its
output): a live widget is only a reference to the kernel, so an executed notebook read later,
converted to HTML (nbconvert, nbgrader's feedback) or checked by nbval, shows that picture of
what the student saw instead.
"""

from __future__ import annotations

import base64
import html
import io
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import parlab
from parlab import RenderRun


def in_jupyter() -> bool:
    """True inside a Jupyter kernel that can show widgets."""
    shell = sys.modules.get("IPython") and getattr(sys.modules["IPython"], "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


def _with_picture(children: list[Any], picture: Callable[[], str]) -> Any:
    """A VBox of `children` whose output also holds `picture()` (an SVG document) of its state
    when displayed: JupyterLab shows the live widget; a reader without the kernel's widgets
    (nbconvert, nbgrader's feedback, a notebook reopened later) shows the picture."""
    import ipywidgets as w

    class PicturedBox(w.VBox):
        def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
            bundle = super()._repr_mimebundle_(**kwargs) or {}
            return {**bundle, "image/svg+xml": picture()}

    return PicturedBox(children)


def bars_svg(counts: list[int], total: int, status: str = "", image: tuple[bytes, int, int] | None = None) -> str:
    """A picture of per-thread bars (tiles finished per thread, out of `total`) under a status
    line, and above them `image` (PNG bytes, width, height) if given: what the widgets show,
    as an SVG document."""
    width, row, label_w, bar_w = 480, 22, 80, 300
    top = 24 if status else 4
    parts = []
    if image is not None:
        png, image_w, image_h = image
        shown_h = round(image_h * width / max(image_w, 1))
        encoded = base64.b64encode(png).decode("ascii")
        parts.append(f'<image x="0" y="0" width="{width}" height="{shown_h}" href="data:image/png;base64,{encoded}"/>')
        top += shown_h + 6
    if status:
        parts.append(f'<text x="0" y="{top - 8}" font-size="13">{html.escape(status)}</text>')
    for thread, count in enumerate(counts):
        y = top + thread * row
        filled = bar_w * count / max(total, 1)
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="13">thread {thread}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="14" fill="#eeeeee"/>'
            f'<rect x="{label_w}" y="{y + 3}" width="{filled:.1f}" height="14" fill="#2196f3"/>'
            f'<text x="{label_w + bar_w + 8}" y="{y + 15}" font-size="13">{count} tiles</text>'
        )
    height = top + len(counts) * row + 4
    body = "".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif">{body}</svg>'
    )


class ThreadProgress:
    """Per-thread progress bars, fed one finished tile at a time: pass it as `on_tile`.

    Each bar counts the tiles its thread finished; its length is relative to the whole
    image (total_tiles), so a thread that did more work has a longer bar.
    """

    def __init__(self, threads: int, total_tiles: int, title: str = "", min_interval_s: float = 0.05) -> None:
        if threads < 1 or total_tiles < 0:
            raise ValueError("threads: must be ≥ 1, and total_tiles ≥ 0")
        self.threads = threads
        self.total_tiles = total_tiles
        self.done = [0] * threads
        self.min_interval_s = min_interval_s
        self._last_draw = 0.0
        self._title = title
        self.widget: Any = None
        if in_jupyter():
            self._build_widgets()

    def _build_widgets(self) -> None:
        import ipywidgets as w

        layout = w.Layout(width="60%")
        self._bars = [
            w.IntProgress(value=0, min=0, max=max(self.total_tiles, 1), description=f"thread {t}", layout=layout)
            for t in range(self.threads)
        ]
        self._labels = [w.Label("0 tiles") for _ in range(self.threads)]
        self._status = w.Label(self._title)
        rows = [w.HBox([bar, label]) for bar, label in zip(self._bars, self._labels, strict=True)]
        self.widget = _with_picture([self._status, *rows], self.svg)
        self.widget.add_class("parlab-progress")

    def __call__(self, record: Any, pixels: Any = None) -> None:
        if 0 <= record.thread_id < self.threads:
            self.done[record.thread_id] += 1
        now = time.monotonic()
        if now - self._last_draw >= self.min_interval_s:
            self._last_draw = now
            self.draw()

    def draw(self, status: str | None = None) -> None:
        finished = sum(self.done)
        text = status or f"{self._title} {finished}/{self.total_tiles} tiles".strip()
        if self.widget is not None:
            for bar, label, count in zip(self._bars, self._labels, self.done, strict=True):
                bar.value = count
                label.value = f"{count} tiles"
            self._status.value = text
        elif status is not None:
            counts = ", ".join(f"thread {t}: {c}" for t, c in enumerate(self.done))
            print(f"{text} ({counts})", flush=True)

    def set(self, counts: list[int], status: str) -> None:
        """Shows the given per-thread counts (used by the replay)."""
        self.done = list(counts)
        self.draw(status)

    def svg(self) -> str:
        """The bars as they stand, as a picture (SVG)."""
        status = self._status.value if self.widget is not None else f"{sum(self.done)}/{self.total_tiles} tiles"
        return bars_svg(self.done, self.total_tiles, status)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget if self.widget is not None else self._text())

    def _text(self) -> str:
        return "\n".join(f"thread {t}: {c} tiles" for t, c in enumerate(self.done))


def live_render(**render_args: Any) -> RenderRun:
    """`parlab.render(**render_args)` with live per-thread progress bars shown above it."""
    from IPython.display import display

    threads = render_args.get("threads") or parlab.default_threads()
    if render_args.get("strategy", "dynamic") == "sequential":
        threads = 1
    width, height = render_args.get("width", 800), render_args.get("height", 600)
    tile_w, tile_h = render_args.get("tile_w", 50), render_args.get("tile_h", 50)
    total = parlab.tile_count(width, height, tile_w, tile_h)
    bars = ThreadProgress(threads, total, title=render_args.get("strategy", "dynamic"))
    shown = display(bars.widget, display_id=True) if bars.widget is not None else None
    user_callback = render_args.pop("on_tile", None)

    def on_tile(record: Any, *pixels: Any) -> None:
        bars(record)
        if user_callback is not None:
            user_callback(record, *pixels)

    run = parlab.render(**render_args, on_tile=on_tile)
    limited = ", time limit reached" if run.time_limited else ""
    bars.draw(
        f"{run.strategy}: {run.completed_tiles}/{run.total_tiles} tiles in {run.elapsed_us / 1e3:.0f} ms{limited}"
    )
    if shown is not None:  # the same live widget, now with the picture of its final state
        shown.update(bars.widget)
    return run


def frame_at(run: RenderRun, t_us: float) -> tuple[np.ndarray, list[int]]:
    """The image as it stood `t_us` into the run (tiles finished by then), and the tiles
    finished per thread."""
    image = np.zeros_like(run.iterations)
    counts = [0] * run.threads
    for record in run.records:
        if record.end_us <= t_us:
            image[record.tile_y : record.tile_y + record.tile_h, record.tile_x : record.tile_x + record.tile_w] = (
                run.tile(record)
            )
            counts[record.thread_id] += 1
    return image, counts


def _png(image: np.ndarray, max_iter: int) -> bytes:
    import matplotlib.pyplot as plt
    from matplotlib import colors

    from parlab.plots import counts_colormap

    masked = np.ma.masked_equal(image, 0)
    rgba = counts_colormap()(colors.LogNorm(vmin=1, vmax=max(max_iter, 2))(masked))
    buffer = io.BytesIO()
    plt.imsave(buffer, rgba, format="png")
    return buffer.getvalue()


def replay(run: RenderRun, frames: int = 60, speed: float = 1.0) -> Any:
    """Plays a recorded run back: the image fills in tile by tile and the per-thread bars
    grow in the order the tiles really finished. `speed` 1.0 replays in about 3 seconds;
    the slider changes it while playing. Returns the widget (or, outside Jupyter, a list of
    (time_ms, tiles per thread) checkpoints)."""
    if not isinstance(run, RenderRun):
        raise TypeError(f"run: must be a RenderRun from parlab.render, got {type(run).__name__}")
    frames = int(frames)
    if not 2 <= frames <= 1000:
        raise ValueError(f"frames: must be between 2 and 1000, got {frames}")
    if not 0.05 <= speed <= 20:
        raise ValueError(f"speed: must be between 0.05 and 20, got {speed}")
    end_us = max([r.end_us for r in run.records], default=0.0) or 1.0
    times = np.linspace(0, end_us, frames)
    max_iter = int(run.iterations.max()) or 1
    if not in_jupyter():
        return [(float(t) / 1e3, frame_at(run, t)[1]) for t in times[:: max(frames // 10, 1)]]

    import ipywidgets as w

    bars = ThreadProgress(run.threads, run.total_tiles, title="replay")
    picture = w.Image(format="png", layout=w.Layout(width="480px"))
    play = w.Play(value=0, min=0, max=frames - 1, step=1, interval=int(3000 / frames / speed))
    position = w.IntSlider(value=0, min=0, max=frames - 1, description="frame", readout=False)
    rate = w.FloatLogSlider(value=speed, base=10, min=-1, max=1, step=0.05, description="speed")
    w.jslink((play, "value"), (position, "value"))

    def show(change: Any = None) -> None:
        t = times[position.value]
        image, counts = frame_at(run, t)
        picture.value = _png(image, max_iter)
        bars.set(counts, f"replay: {t / 1e3:.1f} ms of {end_us / 1e3:.1f} ms, {sum(counts)}/{run.total_tiles} tiles")

    def retime(change: Any) -> None:
        play.interval = max(int(3000 / frames / rate.value), 5)

    position.observe(show, names="value")
    rate.observe(retime, names="value")
    show()

    def final_frame() -> str:  # what the replay ends on: every tile, every thread's count
        image, counts = frame_at(run, end_us)
        status = f"replay: {end_us / 1e3:.1f} ms, {sum(counts)}/{run.total_tiles} tiles"
        height, width = image.shape
        return bars_svg(counts, run.total_tiles, status, image=(_png(image, max_iter), width, height))

    return _with_picture([w.HBox([play, position, rate]), picture, bars.widget], final_frame)
