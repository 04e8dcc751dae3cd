"""The Python API of the tile renderer: the contract of `parlab.render`."""

import threading
import time

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
        "start_us", "duration_us", "pixels", "iterations", "cpu_us",
        "lane_steps", "useful_lane_steps", "lane_utilization",
    }  # fmt: skip
    # Brute force: every useful lane-step is one step of the definition (counted, not timed).
    assert d["useful_lane_steps"] == d["iterations"] <= d["lane_steps"]
    assert d["lane_utilization"] == pytest.approx(d["useful_lane_steps"] / d["lane_steps"])
    scalar = parlab.render(**SMALL, threads=1, kernel="scalar").records[0]
    assert scalar.lane_steps == scalar.useful_lane_steps == scalar.iterations and scalar.lane_utilization == 1.0
    assert 0 < d["cpu_us"] <= record.duration_us + 1  # µs; Linux has a per-thread CPU clock
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
    keep = lambda r, px: tiles.setdefault(r.task_id, (r, px))  # noqa: E731
    run = parlab.render(**SMALL, threads=2, on_tile=keep, tile_pixels=True)
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
    ("viewport", np.zeros((4, 1)), TypeError),
    ("on_tile", 42, TypeError),
    ("tile_pixels", 1, TypeError),
    ("tile_pixels", None, TypeError),
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


def test_too_many_tiles_are_refused_by_name_before_allocating():
    # 100 M tiles of 1×1 pixel: gigabytes of tiles and records, had they been built.
    with pytest.raises(ValueError, match=f"tile_w.*{parlab.MAX_TILES} tiles"):
        parlab.render(10000, 10000, 1, 1, 1)
    assert parlab.MAX_TILES == 1_000_000
    run = parlab.render(1000, 1000, 1, 1000, 1, threads=1, strategy="sequential")
    assert run.total_tiles == 1000


def test_task_records_can_be_built_compared_and_pickled():
    import pickle

    fields = dict(
        task_id=3, thread_id=1, tile_x=50, tile_y=0, tile_w=50, tile_h=40,
        start_us=12.5, duration_us=100.25, pixels=2000, iterations=123_456,
    )  # fmt: skip
    record = parlab.TaskRecord(**fields)
    assert record.to_dict() == {
        **fields, "cpu_us": None, "lane_steps": 123_456, "useful_lane_steps": 123_456, "lane_utilization": 1.0,
    }  # fmt: skip
    assert record.lane_utilization == 1.0
    timed = parlab.TaskRecord(**fields, cpu_us=80.0)
    assert timed.cpu_us == 80.0 and pickle.loads(pickle.dumps(timed)) == timed != record
    assert record.end_us == 112.75
    assert record == parlab.TaskRecord(**fields) != parlab.TaskRecord(**{**fields, "thread_id": 0})
    assert pickle.loads(pickle.dumps(record)) == record
    run = parlab.render(**SMALL, threads=2)
    assert pickle.loads(pickle.dumps(run.records)) == run.records
    with pytest.raises(TypeError):
        parlab.TaskRecord(**{**fields, "tile_w": "50"})


# --- render_tile: one tile, on the calling thread, without the GIL ---------------------

TILES = [(0, 0, 120, 90), (16, 32, 16, 16), (100, 80, 20, 10), (7, 3, 1, 1), (0, 89, 120, 1)]


@pytest.mark.parametrize("kernel", ["scalar", "auto", *parlab.available_kernels()])
@pytest.mark.parametrize("shortcut", [False, True])
def test_a_tile_has_the_counts_of_the_same_region_of_render(kernel, shortcut):
    view = dict(width=120, height=90, max_iter=300, viewport=(-1.6, 0.4, -0.9, 0.6), kernel=kernel)
    image = parlab.render(**view, tile_w=16, tile_h=16, threads=2, interior_shortcut=shortcut).iterations
    for x, y, w, h in TILES:
        tile = parlab.render_tile(x, y, w, h, **view, interior_shortcut=shortcut)
        assert tile.dtype == np.uint32 and tile.shape == (h, w)
        np.testing.assert_array_equal(tile, image[y : y + h, x : x + w])


def test_render_tile_defaults_are_renders():
    image = parlab.render(threads=2).iterations
    np.testing.assert_array_equal(parlab.render_tile(350, 250, 100, 100), image[250:350, 350:450])


def test_a_large_tile_of_a_deep_render_comes_back_whole():
    # max_iter 1e6 cuts the tile into many parts (each a chance for Ctrl-C): the pieces
    # must land in their places. Right of the main cardioid every point escapes fast.
    view = dict(width=90, height=70, max_iter=1_000_000, viewport=(0.45, 0.9, 0.0, 0.5))
    tile = parlab.render_tile(0, 0, 90, 70, **view)
    image = parlab.render(**view, tile_w=90, tile_h=70, threads=1, strategy="sequential").iterations
    np.testing.assert_array_equal(tile, image)


BAD_TILES = [
    ("tile_x", dict(tile_x=-1), ValueError),
    ("tile_x", dict(tile_x=1.5), TypeError),
    ("tile_x", dict(tile_x=True), TypeError),
    ("tile_x", dict(tile_x=790, tile_w=20), ValueError),
    ("tile_x", dict(tile_x=2**70), ValueError),
    ("tile_y", dict(tile_y=600), ValueError),
    ("tile_y", dict(tile_y="0"), TypeError),
    ("tile_w", dict(tile_w=0), ValueError),
    ("tile_h", dict(tile_h=0), ValueError),
    ("tile_h", dict(tile_h=None), TypeError),
    ("width", dict(width=0), ValueError),
    ("width", dict(width=20_000, height=10_000), ValueError),
    ("height", dict(height=2.0), TypeError),
    ("max_iter", dict(max_iter=0), ValueError),
    ("max_iter", dict(max_iter=-3), ValueError),
    ("viewport", dict(viewport=(1.0, -1.0, -1.0, 1.0)), ValueError),
    ("viewport", dict(viewport=(0, 1, 0)), TypeError),
    ("viewport", dict(viewport=np.zeros((2, 2))), TypeError),
    ("kernel", dict(kernel="fastest"), ValueError),
    ("kernel", dict(kernel=None), TypeError),
    ("interior_shortcut", dict(interior_shortcut=1), TypeError),
]


@pytest.mark.parametrize(("name", "change", "error"), BAD_TILES, ids=[f"{n}-{c}" for n, c, _ in BAD_TILES])
def test_render_tile_bad_input_names_the_parameter(name, change, error):
    args = dict(tile_x=0, tile_y=0, tile_w=10, tile_h=10) | change
    tile = [args.pop(k) for k in ("tile_x", "tile_y", "tile_w", "tile_h")]
    with pytest.raises(error, match=name):
        parlab.render_tile(*tile, **args)


def test_numpy_numbers_work_everywhere():
    i = np.int64
    view = np.array([-2.0, 0.5, -1.0, 1.0])
    tile = parlab.render_tile(i(8), np.int32(4), np.uint8(8), i(8), width=i(32), height=i(24),
                              max_iter=np.uint16(50), viewport=view, interior_shortcut=np.bool_(True))  # fmt: skip
    run = parlab.render(i(32), i(24), i(8), i(8), i(50), threads=i(1), viewport=view, time_limit_ms=np.float32(1e4))
    np.testing.assert_array_equal(tile, run.iterations[4:12, 8:16])


@pytest.mark.skipif(not hasattr(time, "pthread_getcpuclockid"), reason="needs per-thread CPU clocks")
def test_two_threads_really_compute_tiles_at_the_same_time():
    """Two worker threads each render half of an image while the main thread runs Python
    code and watches their CPU clocks: both advance while it runs, so neither tile holds
    the GIL and the two compute at once. Were the GIL held during a tile, no other Python
    thread could run meanwhile: the main thread would see the clocks stand still between
    its own steps, and the workers would take turns (no timing is asserted)."""
    view = dict(width=600, height=600, max_iter=3000, kernel="scalar")
    halves = [(0, 0, 600, 300), (0, 300, 600, 300)]
    ready, done = threading.Barrier(3), [threading.Event() for _ in halves]
    spent, tiles = [0.0, 0.0], [None, None]

    def worker(k):
        ready.wait()
        before = time.thread_time()
        tiles[k] = parlab.render_tile(*halves[k], **view)
        spent[k] = time.thread_time() - before
        done[k].set()

    workers = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for w in workers:
        w.start()
    ready.wait()
    clocks = [time.pthread_getcpuclockid(w.ident) for w in workers]
    first = [time.clock_gettime(c) for c in clocks]
    last = list(first)
    while not all(d.is_set() for d in done):
        for k, c in enumerate(clocks):
            if not done[k].is_set():
                last[k] = time.clock_gettime(c)  # bytecode of this thread, during the tiles
    for w in workers:
        w.join()
    # Each worker's CPU time that passed between two steps of this thread's loop.
    for k in range(2):
        assert spent[k] > 0 and last[k] - first[k] > 0.25 * spent[k], (k, last[k] - first[k], spent[k])
    image = parlab.render(**view, tile_w=100, tile_h=100, threads=2).iterations
    np.testing.assert_array_equal(np.vstack(tiles), image)


def test_a_run_pickles_and_frames_the_same_after_a_round_trip():
    import pickle

    run = parlab.render(**SMALL, strategy="static", threads=3)
    back = pickle.loads(pickle.dumps(run))
    assert isinstance(back, parlab.RenderRun) and repr(back) == repr(run)
    np.testing.assert_array_equal(back.iterations, run.iterations)
    assert back.records == run.records
    pd.testing.assert_frame_equal(back.to_frame(), run.to_frame())
    pd.testing.assert_frame_equal(back.per_thread(), run.per_thread())
    assert (back.width, back.height, back.kernel, back.threads) == (120, 90, run.kernel, 3)


def test_a_run_can_be_built_from_records():
    # What a scheduler elsewhere (a cluster, the student's own queue) can hand to the plots.
    image = parlab.render(**SMALL, threads=1, strategy="sequential").iterations
    records = [
        parlab.TaskRecord(task_id=0, thread_id=0, tile_x=0, tile_y=0, tile_w=120, tile_h=45,
                          start_us=0.0, duration_us=300.0, pixels=5400, iterations=int(image[:45].sum())),
        parlab.TaskRecord(task_id=1, thread_id=1, tile_x=0, tile_y=45, tile_w=120, tile_h=45,
                          start_us=10.0, duration_us=100.0, pixels=5400, iterations=int(image[45:].sum())),
    ]  # fmt: skip
    run = parlab.RenderRun(image, records, total_tiles=2, time_limited=False, elapsed_us=310.0,
                           strategy="static", threads=2, kernel="scalar", interior_shortcut=False)  # fmt: skip
    assert run.completed_tiles == 2 and run.records == records
    np.testing.assert_array_equal(run.tile(records[1]), image[45:])
    table = run.per_thread()
    assert list(table["busy_ms"]) == [0.3, 0.1] and list(table["idle_ms"]) == [pytest.approx(0.01), 0.21]
    # Busy time: 300 µs against a mean of 200. Work: the iterations of each half.
    assert run.imbalance() == pytest.approx(1.5)
    work = [r.iterations for r in records]
    assert run.work_imbalance() == pytest.approx(max(work) / (sum(work) / 2)) != run.imbalance()
    with pytest.raises(TypeError, match="iterations"):
        parlab.RenderRun(image.astype(np.int64), records, 2, False, 310.0, "static", 2, "scalar", False)
    with pytest.raises(ValueError, match="strategy"):
        parlab.RenderRun(image, records, 2, False, 310.0, "fastest", 2, "scalar", False)


def test_frames_have_typed_columns_and_one_row_per_thread():
    run = parlab.render(**SMALL, strategy="interleaved", threads=2)
    frame = run.to_frame()
    assert list(frame.columns) == [
        "task_id", "thread_id", "tile_x", "tile_y", "tile_w", "tile_h",
        "start_us", "duration_us", "pixels", "iterations", "cpu_us",
        "lane_steps", "useful_lane_steps", "end_us", "lane_utilization",
    ]  # fmt: skip
    assert (parlab.render(**SMALL, kernel="scalar", threads=2).to_frame()["lane_utilization"] == 1.0).all()
    simd = parlab.render(**SMALL, kernel="simd", threads=2).to_frame()
    assert (simd["useful_lane_steps"] == simd["iterations"]).all()  # brute force: one per step
    expected = simd["useful_lane_steps"] / simd["lane_steps"]
    np.testing.assert_allclose(simd["lane_utilization"], expected.where(simd["lane_steps"] > 0, 1.0))
    assert simd["lane_utilization"].between(0, 1, inclusive="right").all()
    assert frame["iterations"].dtype == np.int64 and frame["start_us"].dtype == np.float64
    assert frame["cpu_us"].dtype == np.float64
    assert frame["iterations"].sum() == run.iterations.sum()
    table = run.per_thread()
    assert table.index.name == "thread_id" and list(table.columns) == ["tiles", "busy_ms", "iterations", "idle_ms"]
    assert table["busy_ms"].sum() == pytest.approx(frame["duration_us"].sum() / 1e3)
    assert table["iterations"].max() / table["iterations"].mean() == pytest.approx(run.work_imbalance())
    assert table["busy_ms"].max() / table["busy_ms"].mean() == pytest.approx(run.imbalance())


def test_tile_count_is_the_cores():
    assert parlab.tile_count(800, 600, 50, 50) == 16 * 12 == parlab.render(threads=1, max_iter=1).total_tiles
    assert parlab.tile_count(np.int64(101), 67, 10, 10) == 11 * 7
    with pytest.raises(ValueError, match="tile_h"):
        parlab.tile_count(10, 10, 1, 0)
    with pytest.raises(TypeError, match="width"):
        parlab.tile_count(10.0, 10, 1, 1)
    assert parlab.MAX_FIB_N == 40
