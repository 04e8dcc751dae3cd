"""The Python API of the tile renderer: the contract of `parlab.render`."""

import threading

import numpy as np
import pandas as pd
import pytest

import parlab
from parlab.kernels import numpy_counts as escape_counts

PARALLEL = [s for s in parlab.STRATEGIES if s != "sequential"]
SMALL = dict(width=120, height=90, tile_w=16, tile_h=16, max_iter=200)


def threads_for(strategy, n=2):
    return 1 if strategy == "sequential" else n


def test_strategies_are_the_documented_five():
    assert parlab.STRATEGIES == ("sequential", "static", "interleaved", "dynamic", "rayon")


def test_run_has_the_documented_fields():
    run = parlab.render(**SMALL, strategy="dynamic", threads=2)
    assert isinstance(run.iterations, np.ndarray)
    assert run.iterations.dtype == np.uint32
    assert run.iterations.shape == (90, 120)
    assert run.total_tiles == run.completed_tiles == 8 * 6
    assert run.time_limited is False
    assert run.strategy == "dynamic" and run.threads == 2
    assert run.elapsed_us > 0
    assert all(isinstance(r, parlab.TaskRecord) for r in run.records)
    assert [r.start_us for r in run.records] == sorted(r.start_us for r in run.records)
    assert "48/48 tiles" in repr(run)


def test_defaults_are_the_original_demo():
    run = parlab.render(threads=2)
    assert run.iterations.shape == (600, 800)
    assert run.total_tiles == 16 * 12
    assert run.iterations.max() == 1000
    assert run.strategy == "dynamic"


def test_threads_none_uses_the_effective_parallelism():
    run = parlab.render(**SMALL, threads=None)
    assert run.threads == parlab.default_threads() >= 1


@pytest.mark.parametrize(
    "view",
    [
        dict(width=64, height=48, max_iter=100),
        dict(width=37, height=23, max_iter=500, viewport=(-0.75, -0.74, 0.1, 0.11)),
        dict(width=40, height=30, max_iter=3000, viewport=(-0.7436438871, -0.7436438869, 0.1318259041, 0.1318259043)),
    ],
)
def test_pixels_match_an_independent_implementation(view):
    expected = escape_counts(
        view["width"], view["height"], view["max_iter"], view.get("viewport", parlab.DEFAULT_VIEWPORT)
    )
    for strategy in parlab.STRATEGIES:
        run = parlab.render(**view, tile_w=7, tile_h=5, strategy=strategy, threads=threads_for(strategy, 3))
        np.testing.assert_array_equal(run.iterations, expected, err_msg=strategy)


def test_escape_time_matches_the_image():
    run = parlab.render(width=40, height=30, tile_w=8, tile_h=8, max_iter=300, threads=1, strategy="sequential")
    re_min, re_max, im_min, im_max = parlab.DEFAULT_VIEWPORT
    for y, x in [(0, 0), (15, 20), (29, 39), (10, 33)]:
        cr = (x / 40) * (re_max - re_min) + re_min
        ci = (y / 30) * (im_max - im_min) + im_min
        assert parlab.escape_time(cr, ci, 300) == run.iterations[y, x]


def test_records_are_sane():
    for strategy in parlab.STRATEGIES:
        threads = threads_for(strategy, 3)
        run = parlab.render(
            width=101, height=67, tile_w=20, tile_h=20, max_iter=300, strategy=strategy, threads=threads
        )  # fmt: skip
        frame = run.to_frame()
        assert len(frame) == run.total_tiles == 6 * 4
        assert sorted(frame["task_id"]) == list(range(run.total_tiles))
        assert frame["thread_id"].between(0, threads - 1).all()
        assert (frame["start_us"] >= 0).all() and (frame["duration_us"] >= 0).all()
        assert (frame["end_us"] <= run.elapsed_us + 1).all()
        assert (frame["pixels"] == frame["tile_w"] * frame["tile_h"]).all()
        assert frame["pixels"].sum() == 101 * 67
        # Clipped edge tiles carry their clipped size.
        corner = frame.set_index("task_id").loc[run.total_tiles - 1]
        assert (corner.tile_w, corner.tile_h) == (1, 7)
        for r in run.records:
            assert int(run.tile(r).sum()) == r.iterations


def test_record_to_dict_and_repr():
    record = parlab.render(**SMALL, threads=1, strategy="sequential").records[0]
    d = record.to_dict()
    assert set(d) == {
        "task_id", "thread_id", "tile_x", "tile_y", "tile_w", "tile_h",
        "start_us", "duration_us", "pixels", "iterations",
    }  # fmt: skip
    assert record.end_us == pytest.approx(record.start_us + record.duration_us)
    assert repr(record).startswith("TaskRecord(task_id=0")


def test_per_thread_accounts_for_every_thread():
    run = parlab.render(**SMALL, strategy="static", threads=4)
    table = run.per_thread()
    assert list(table.index) == [0, 1, 2, 3]
    assert table["tiles"].sum() == run.total_tiles
    assert (table["idle_ms"] >= -0.01).all()


def test_to_frame_is_empty_but_typed_when_nothing_ran():
    run = parlab.render(**SMALL, time_limit_ms=0)
    frame = run.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 0
    assert "thread_id" in frame.columns


@pytest.mark.parametrize("strategy", parlab.STRATEGIES)
def test_time_limit_gives_a_partial_image(strategy):
    limit = 20
    run = parlab.render(
        width=1500, height=1500, tile_w=50, tile_h=50, max_iter=20000,
        viewport=(-1.0, 0.5, -0.75, 0.75), strategy=strategy,
        threads=threads_for(strategy), time_limit_ms=limit,
    )  # fmt: skip
    assert run.time_limited
    assert run.completed_tiles == len(run.records) < run.total_tiles
    assert all(r.start_us < limit * 1000 for r in run.records)
    rendered = np.zeros(run.iterations.shape, dtype=bool)
    for r in run.records:
        rendered[r.tile_y : r.tile_y + r.tile_h, r.tile_x : r.tile_x + r.tile_w] = True  # fmt: skip
    assert (run.iterations[rendered] >= 1).all()
    assert (run.iterations[~rendered] == 0).all()


def test_on_tile_sees_every_tile_on_the_calling_thread_while_workers_run():
    seen = []
    caller = threading.get_ident()

    def on_tile(record):
        assert threading.get_ident() == caller
        seen.append(record.task_id)

    run = parlab.render(**SMALL, strategy="dynamic", threads=2, on_tile=on_tile)
    assert sorted(seen) == list(range(run.total_tiles))


def test_on_tile_can_receive_pixels():
    tiles = {}
    run = parlab.render(**SMALL, threads=2, on_tile=lambda r, px: tiles.setdefault(r.task_id, (r, px)), tile_pixels=1)
    assert len(tiles) == run.total_tiles
    for record, pixels in tiles.values():
        assert pixels.dtype == np.uint32 and pixels.shape == (record.tile_h, record.tile_w)
        np.testing.assert_array_equal(pixels, run.tile(record))


class Boom(Exception):
    pass


@pytest.mark.parametrize("strategy", parlab.STRATEGIES)
def test_a_callback_that_raises_stops_the_render(strategy):
    calls = []

    def on_tile(record):
        calls.append(record)
        raise Boom("stop here")

    before = threading.active_count()
    with pytest.raises(Boom, match="stop here"):
        parlab.render(width=1000, height=1000, tile_w=20, tile_h=20, max_iter=5000,
                      strategy=strategy, threads=threads_for(strategy), on_tile=on_tile)  # fmt: skip
    assert len(calls) == 1
    assert threading.active_count() == before


def test_keyboard_interrupt_from_a_callback_propagates():
    def on_tile(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        parlab.render(**SMALL, threads=2, on_tile=on_tile)


BAD_VALUES = [
    ("width", 0, ValueError),
    ("width", -5, ValueError),
    ("width", 2.5, TypeError),
    ("width", "800", TypeError),
    ("width", True, TypeError),
    ("width", 2**80, ValueError),
    ("height", 0, ValueError),
    ("height", None, TypeError),
    ("tile_w", 0, ValueError),
    ("tile_w", -1, ValueError),
    ("tile_h", 0, ValueError),
    ("tile_h", 1.0, TypeError),
    ("threads", 0, ValueError),
    ("threads", -2, ValueError),
    ("threads", 1025, ValueError),
    ("threads", 2.0, TypeError),
    ("max_iter", 0, ValueError),
    ("max_iter", -1, ValueError),
    ("max_iter", 1_000_001, ValueError),
    ("strategy", "fastest", ValueError),
    ("strategy", 3, TypeError),
    ("time_limit_ms", -1, ValueError),
    ("time_limit_ms", float("nan"), ValueError),
    ("time_limit_ms", float("inf"), ValueError),
    ("time_limit_ms", "500", TypeError),
    ("viewport", (1.0, -1.0, -1.0, 1.0), ValueError),
    ("viewport", (0.0, 0.0, -1.0, 1.0), ValueError),
    ("viewport", (-2.0, 1.0, float("nan"), 1.0), ValueError),
    ("viewport", (-2.0, float("inf"), -1.0, 1.0), ValueError),
    ("viewport", (-2.0, 1.0), TypeError),
    ("viewport", "wide", TypeError),
    ("on_tile", 42, TypeError),
]


@pytest.mark.parametrize(("name", "value", "error"), BAD_VALUES, ids=[f"{n}={v!r}" for n, v, _ in BAD_VALUES])
def test_bad_input_names_the_parameter(name, value, error):
    with pytest.raises(error, match=name):
        parlab.render(**{**SMALL, name: value})


def test_an_image_over_100_megapixels_is_refused_before_allocating():
    with pytest.raises(ValueError, match="width"):
        parlab.render(width=20_000, height=10_000)
    with pytest.raises(ValueError, match="width"):
        parlab.render(width=2**62, height=2**62)


def test_sequential_refuses_more_than_one_thread():
    with pytest.raises(ValueError, match="threads"):
        parlab.render(**SMALL, strategy="sequential", threads=2)
    assert parlab.render(**SMALL, strategy="sequential", threads=1).threads == 1


def test_numpy_integers_are_accepted():
    run = parlab.render(width=np.int64(32), height=np.int32(24), tile_w=8, tile_h=8, max_iter=np.uint16(50), threads=1)
    assert run.iterations.shape == (24, 32)
