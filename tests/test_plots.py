"""Every plot function renders, with the rows and bars its data calls for."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Rectangle

import parlab
from parlab import plots, speedup, widgets
from parlab.experiments import multiplexer

SMALL = dict(width=120, height=90, tile_w=30, tile_h=30, max_iter=100)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def bars(ax):
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def fills(ax):
    """The coloured bars, without the hatched waiting drawn under them."""
    return [p for p in bars(ax) if not p.get_hatch() and p.get_fill()]


def legend_texts(fig):
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_timeline_has_a_bar_per_tile_and_a_row_per_thread():
    run = parlab.render(**SMALL, strategy="interleaved", threads=3)
    fig = plots.timeline(run)
    ax = fig.axes[0]
    assert len(fills(ax)) == run.total_tiles == 12
    assert [t.get_text() for t in ax.get_yticklabels()] == ["thread 0", "thread 1", "thread 2"]
    assert plots.timeline(run.to_frame(), color_by="thread").axes[0].get_title(loc="left") == ""
    with pytest.raises(ValueError, match="color_by"):
        plots.timeline(run, color_by="mood")
    with pytest.raises(ValueError, match="run"):
        plots.timeline(pd.DataFrame({"a": [1]}))


def test_timeline_is_titled_for_people_with_a_colour_bar_for_the_shading():
    run = parlab.render(**SMALL, strategy="static", threads=2, kernel="scalar")
    fig = plots.timeline(run)
    title = fig.axes[0].get_title(loc="left")
    assert title == f"static schedule, 2 threads, scalar kernel: 12 tiles in {run.elapsed_us / 1e3:.1f} ms"
    assert "RenderRun" not in title
    colour_bar = fig.axes[1]
    assert "iterations per pixel" in colour_bar.get_ylabel()
    work = run.to_frame().eval("iterations / pixels")
    assert colour_bar.get_ylim()[1] == pytest.approx(max(work.max(), 1.0))
    limited = parlab.render(**SMALL, strategy="static", threads=1, time_limit_ms=0)
    assert "of 12 tiles (time limit)" in plots.timeline(limited).axes[0].get_title(loc="left")


def test_timeline_gives_every_tile_a_visible_width():
    run = parlab.render(width=400, height=300, tile_w=10, tile_h=10, max_iter=50, strategy="dynamic", threads=2)
    fig = plots.timeline(run)
    ax = fig.axes[0]
    span = max(run.elapsed_us, run.to_frame()["end_us"].max()) / 1e3
    widths = [p.get_width() for p in fills(ax)]
    assert len(widths) == run.total_tiles == 1200
    assert min(widths) >= span * plots.MIN_BAR_FRACTION * 0.999
    # At the figure's width, each bar covers at least a fraction of a pixel's worth.
    pixels_per_ms = ax.bbox.width / (ax.get_xlim()[1] - ax.get_xlim()[0])
    assert min(widths) * pixels_per_ms > 1


class Staged:
    """Any object with to_frame() and the tile columns, with non-compute rows in `kind`."""

    def to_frame(self):
        run = parlab.render(**SMALL, strategy="static", threads=2)
        frame = run.to_frame().assign(kind="compute")
        end = frame["end_us"].max()
        extra = pd.DataFrame(
            {"thread_id": [0, 1, 1], "start_us": [end, end, end + 50], "duration_us": [40.0, 50.0, 30.0],
             "kind": ["transfer", "idle", "transfer"]}
        )  # fmt: skip
        return pd.concat([frame, extra], ignore_index=True)


def test_timeline_draws_other_kinds_of_rows_in_their_own_colours():
    fig = plots.timeline(Staged())
    ax = fig.axes[0]
    assert len(fills(ax)) == 12 + 3
    assert legend_texts(fig)[:3] == ["compute", "transfer", "idle"]
    faces = {tuple(round(c, 3) for c in p.get_facecolor()) for p in fills(ax)}
    transfer = tuple(round(c, 3) for c in matplotlib.colors.to_rgba(plots.KIND_COLORS["transfer"]))
    idle = tuple(round(c, 3) for c in matplotlib.colors.to_rgba(plots.KIND_COLORS["idle"]))
    assert transfer in faces and idle in faces
    assert fig.axes[0].get_title(loc="left") == ""  # no run attributes: no made-up title


def test_compare_timelines_share_one_axis():
    runs = {s: parlab.render(**SMALL, strategy=s, threads=1 if s == "sequential" else 2) for s in parlab.STRATEGIES}
    fig = plots.compare_timelines(runs)
    assert len(fig.axes) == 5
    assert len({ax.get_xlim() for ax in fig.axes}) == 1
    with pytest.raises(ValueError, match="runs"):
        plots.compare_timelines([])


def test_mandelbrot_image_masks_unrendered_tiles():
    run = parlab.render(**SMALL, time_limit_ms=0)
    image = plots.mandelbrot(run).axes[0].images[0]
    assert image.get_array().shape == (90, 120)
    assert image.get_array().mask.all()


def frame():
    return pd.DataFrame(
        {
            "mode": ["a", "a", "a", "b", "b"],
            "task": [0, 1, 2, 0, 1],
            "worker": [0, 0, 1, 0, 0],
            "start_s": [0.0, 0.1, 0.0, 0.0, 0.0],
            "end_s": [0.1, 0.2, 0.15, 0.3, 0.3],
            "step": ["load", "render", "load", "load", "load"],
        }
    )


def test_worker_timeline_has_a_panel_per_mode_and_lanes_for_overlaps():
    fig = plots.worker_timeline(frame())
    axes = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert len(axes) == 2
    assert len(bars(axes[0])) == 3 and len(bars(axes[1])) == 2
    overlapping = sorted(p.get_height() for p in bars(axes[1]))
    assert overlapping[0] < 0.5  # two overlapping tasks share worker 0 in two lanes
    assert "a: 200 ms" in axes[0].get_title(loc="left")
    with pytest.raises(ValueError, match="color_by"):
        plots.worker_timeline(frame(), color_by="nope")


def test_mode_totals_bars_and_groups():
    fig = plots.mode_totals(frame())
    assert [round(p.get_height(), 2) for p in bars(fig.axes[0])] == [0.2, 0.3]
    grouped = pd.concat([frame().assign(workload="io"), frame().assign(workload="cpu")])
    assert len(bars(plots.mode_totals(grouped, by="workload").axes[0])) == 4


def test_speedup_curve_shows_ideal_fit_measured_and_efficiency():
    table = pd.DataFrame({"threads": [1, 2, 4], "median_s": [1.0, 0.55, 0.35]})
    table["speedup"] = 1.0 / table["median_s"]
    table["efficiency"] = table["speedup"] / table["threads"]
    s = speedup.fit_serial_fraction(table["threads"], table["speedup"])
    result = speedup.SpeedupResult(table=table, serial_fraction=s, repeats=1)
    fig = plots.speedup(result, ceiling=2.0)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert any("ideal" in label for label in labels) and any("Amdahl" in label for label in labels)
    assert any("measured" in label for label in labels) and any("ceiling" in label for label in labels)
    assert any("efficiency" in line.get_label() for line in fig.axes[1].get_lines())


def test_amdahl_fit_recovers_a_known_serial_fraction():
    threads = [1, 2, 4, 8, 16]
    exact = [speedup.amdahl(k, 0.1) for k in threads]
    assert speedup.fit_serial_fraction(threads, exact) == pytest.approx(0.1)
    assert speedup.fit_serial_fraction(threads, threads) == pytest.approx(0.0)


def test_sweep_reports_medians_and_the_fit():
    calls = []
    result = speedup.sweep(lambda k: calls.append(k), threads=(1, 2), repeats=3)
    assert calls == [1, 1, 1, 1, 2, 2, 2, 2]  # a warm-up, then the repeats
    assert list(result.table["threads"]) == [1, 2]
    assert result.serial_fraction is None  # one count above 1 (k = 2): nothing to fit
    with pytest.raises(TypeError, match="fn"):
        speedup.sweep(42)
    with pytest.raises(ValueError, match="threads"):
        speedup.sweep(lambda k: None, threads=(0,))
    with pytest.raises(ValueError, match="repeats"):
        speedup.sweep(lambda k: None, repeats=0)
    assert speedup.thread_counts()[:3] == (1, 2, 4)


def test_progress_bars_count_tiles_per_thread(monkeypatch):
    monkeypatch.setattr(widgets, "in_jupyter", lambda: True)
    bars_ = widgets.ThreadProgress(threads=2, total_tiles=12, min_interval_s=0)
    run = parlab.render(**SMALL, strategy="static", threads=2, on_tile=bars_)
    assert bars_.done == [6, 6] and sum(bars_.done) == run.total_tiles
    assert [b.value for b in bars_._bars] == [6, 6]


def test_progress_bars_fall_back_to_text(capsys):
    run = widgets.live_render(**SMALL, strategy="dynamic", threads=2)
    assert f"{run.completed_tiles}/{run.total_tiles} tiles" in capsys.readouterr().out


def test_replay_frames_follow_the_recorded_order(monkeypatch):
    run = parlab.render(**SMALL, strategy="dynamic", threads=2)
    image, counts = widgets.frame_at(run, run.elapsed_us + 1)
    assert (image == run.iterations).all() and sum(counts) == run.total_tiles
    image, counts = widgets.frame_at(run, 0)
    assert not image.any() and sum(counts) == 0
    checkpoints = widgets.replay(run, frames=20)
    done = [sum(c) for _, c in checkpoints]
    assert done == sorted(done)
    monkeypatch.setattr(widgets, "in_jupyter", lambda: True)
    box = widgets.replay(run, frames=10, speed=2.0)
    assert bytes(box.children[1].value).startswith(b"\x89PNG")
    with pytest.raises(TypeError, match="run"):
        widgets.replay("not a run")
    with pytest.raises(ValueError, match="speed"):
        widgets.replay(run, speed=0)


def test_multiplexer_trace_draws_as_a_worker_timeline():
    trace = multiplexer.run(multiplexer.example(), workers=2)
    fig = plots.worker_timeline(trace, color_by="task", steps=True)
    assert len(bars(fig.axes[0])) == 10
    assert np.isclose(fig.axes[0].get_xlim()[1], 5, rtol=0.1)
    assert "5 steps on 2 worker(s)" in fig.axes[0].get_title(loc="left")


def traced_frame():
    """Two tasks of 100 ms each: one computing 80 ms of it, one waiting (cpu_s 0.01)."""
    return pd.DataFrame(
        {
            "mode": ["m", "m"],
            "task": [0, 1],
            "worker": [0, 1],
            "start_s": [0.0, 0.0],
            "end_s": [0.1, 0.1],
            "cpu_s": [0.08, 0.01],
            "function": ["render", "load"],
        }
    )


def alpha(patch):
    return patch.get_facecolor()[3]


def test_worker_timeline_spreads_each_tasks_cpu_time_through_its_bar():
    fig = plots.worker_timeline(traced_frame())
    ax = fig.axes[0]
    hatched = [p for p in bars(ax) if p.get_hatch()]
    solid = fills(ax)
    # Both tasks are hatched all along (waiting), under their colour at their CPU share.
    assert sorted(round(p.get_width(), 3) for p in hatched) == [100.0, 100.0]
    assert sorted(round(p.get_width(), 3) for p in solid) == [100.0, 100.0]
    assert sorted(round(alpha(p), 3) for p in solid) == [0.1, 0.8]
    legend = legend_texts(fig)
    assert legend[:2] == ["render", "load"]
    assert "solid: computing" in legend[2]
    assert legend[3] == "faded, hatched: waiting for a CPU, the GIL or I/O"
    assert "computing 45% of the bars' time" in ax.get_title(loc="left")


def test_three_tasks_taking_turns_on_one_cpu_each_look_a_third_filled():
    # Three workers' tasks over the same 300 ms, 100 ms of CPU each: one CPU, shared.
    frame = pd.DataFrame(
        {"mode": "one CPU", "task": [0, 1, 2], "worker": [0, 1, 2], "start_s": 0.0, "end_s": 0.3, "cpu_s": 0.1}
    )
    shared = fills(plots.worker_timeline(frame).axes[0])
    assert [round(alpha(p), 3) for p in shared] == [0.333] * 3
    parallel = fills(plots.worker_timeline(frame.assign(cpu_s=0.3)).axes[0])
    assert [alpha(p) for p in parallel] == [1.0] * 3  # a CPU each: solid


def test_cpu_shares_are_clipped_and_unknown_where_they_cannot_be_read():
    shares = plots.cpu_shares([0.5, 2.0, -1.0, np.nan, 1.0], [1.0, 1.0, 1.0, 1.0, 0.0])
    assert shares[:3].tolist() == [0.5, 1.0, 0.0]
    assert np.isnan(shares[3:]).all()


def test_worker_timeline_names_each_kind_of_waiting():
    labels = {"load": "waiting for I/O", "render": "waiting for the GIL"}
    fig = plots.worker_timeline(traced_frame(), waiting=labels)
    ax = fig.axes[0]
    legend = legend_texts(fig)
    assert legend[:2] == ["render", "load"]
    assert legend[3:] == ["faded, hatched: waiting for the GIL", "faded, hatched: waiting for I/O"]
    hatches = {p.get_facecolor(): p.get_hatch() for p in bars(ax) if p.get_hatch()}
    assert len(set(hatches.values())) == 2  # each kind of waiting has its own look
    with pytest.raises(ValueError, match="waiting: no label for function load"):
        plots.worker_timeline(traced_frame(), waiting={"render": "GIL"})
    with pytest.raises(TypeError, match="waiting"):
        plots.worker_timeline(traced_frame(), waiting=3)
    plain = plots.worker_timeline(traced_frame().drop(columns="cpu_s"))
    assert not [p for p in bars(plain.axes[0]) if p.get_hatch()]
    assert all(alpha(p) == 1.0 for p in fills(plain.axes[0]))


def test_timelines_carry_the_label_of_the_conditions_they_were_measured_in():
    label = "1.4 of 2 CPUs free during these runs"
    fig = plots.worker_timeline(traced_frame(), label=label)
    assert fig.legends[0].get_title().get_text() == label
    assert plots.worker_timeline(frame(), label=label).legends[0].get_title().get_text() == label
    run = parlab.render(**SMALL, strategy="static", threads=2)
    assert plots.timeline(run, label=label).axes[0].get_title(loc="left").endswith("\n" + label)
    both = plots.compare_timelines({"a": run, "b": run}, label=label)
    assert both.legends[0].get_title().get_text() == label
    assert [ax.get_title(loc="left").split(" · ")[0] for ax in both.axes[:2]] == ["a", "b"]


def test_tile_timelines_draw_the_cpu_time_the_core_recorded():
    run = parlab.render(**SMALL, strategy="static", threads=2)
    frame = run.to_frame()
    assert frame["cpu_us"].dtype == float
    assert (frame["cpu_us"] > 0).all(), "Linux has a per-thread CPU clock: every tile has a CPU time"
    fig = plots.timeline(run)
    shares = sorted(round(alpha(p), 6) for p in fills(fig.axes[0]))
    expected = sorted(round(s, 6) for s in plots.cpu_shares(frame["cpu_us"], frame["duration_us"]))
    assert shares == expected
    assert "faded, hatched: waiting for a CPU" in " ".join(legend_texts(fig))
    # Records without a CPU time (built by hand, e.g. from a cluster's task stream): solid.
    unknown = frame.assign(cpu_us=np.nan)
    blank = plots.timeline(unknown).axes[0]
    assert not [p for p in bars(blank) if p.get_hatch()] and {alpha(p) for p in fills(blank)} == {1.0}
    record = parlab.TaskRecord(0, 0, 0, 0, 1, 1, 0.0, 10.0, 1, 1)
    assert record.cpu_us is None and np.isnan(record.to_dict()["cpu_us"] or np.nan)


def test_worker_timeline_of_a_real_trace():
    import time

    with parlab.trace("sleepers") as t:
        t.task(time.sleep)(0.05)
    fig = plots.worker_timeline(t.frame)
    waiting = [p for p in bars(fig.axes[0]) if p.get_hatch()]
    assert len(waiting) == 1 and waiting[0].get_width() > 45  # ms: sleeping is not computing
    assert [alpha(p) < 0.2 for p in fills(fig.axes[0])] == [True]  # faded: a sleep has no CPU time
