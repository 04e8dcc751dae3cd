"""The experiments at tiny sizes: the shape of their frames and what each lesson's code does
(results, overlaps, worker counts). No durations are compared here: the timing claims are
checked by `make bench` (`python -m parlab.bench_claims`), which a busy machine cannot flake."""

import os
import socket
import threading

import pytest

import parlab
from parlab.experiments import download, fib, lists, multiplexer, pixels
from parlab.experiments.frames import COLUMNS, peak_concurrency
from parlab.experiments.pages import PageServer


def check_frame(frame, modes, tasks):
    assert list(frame.columns[:5]) == COLUMNS
    assert list(dict.fromkeys(frame["mode"])) == list(modes)
    for mode, part in frame.groupby("mode"):
        assert part["task"].nunique() == tasks, mode
        workers = sorted(part["worker"].unique())
        assert workers == list(range(len(workers))), mode
        assert (part["end_s"] >= part["start_s"]).all() and (part["start_s"] >= 0).all()


# --- fib ------------------------------------------------------------------------------------


def test_fib_matches_the_article_and_the_core():
    assert [fib.fib(x) for x in range(8)] == [1, 1, 2, 3, 5, 8, 13, 21]
    assert parlab._core.fib(20) == parlab._core.fib_nogil(20) == fib.fib(20)


def test_fib_frame_shape_every_mode():
    frame = fib.run(n=15, calls=6, workers=2)
    check_frame(frame, fib.MODES, 6)
    assert (frame["value"] == fib.fib(15)).all()
    assert set(frame.loc[frame["mode"] == "sync", "worker"]) == {0}
    assert set(frame.loc[frame["mode"] == "asyncio", "worker"]) == {0}


def test_rust_modes_compute_fib_within_their_workers():
    frame = fib.run(n=25, calls=16, modes=("rust-threads", "rayon"), workers=2)
    assert (frame["value"] == fib.fib(25)).all()
    # At most the 2 workers asked for; whether the second steals any call depends on when the
    # OS runs it (`make bench` checks that rayon uses both, with 2 CPUs free).
    assert frame.groupby("mode")["worker"].nunique().between(1, 2).all()


@pytest.mark.parametrize(
    ("args", "error", "name"),
    [
        (dict(n=-1), ValueError, "n"),
        (dict(n=36), ValueError, "n"),
        (dict(n=2.5), TypeError, "n"),
        (dict(calls=0), ValueError, "calls"),
        (dict(workers=0), ValueError, "workers"),
        (dict(modes=("sync", "gpu")), ValueError, "modes"),
        (dict(modes=()), ValueError, "modes"),
        (dict(n=41, modes=("rust",)), ValueError, "n"),
    ],
)
def test_fib_bad_arguments(args, error, name):
    with pytest.raises(error, match=name):
        fib.run(**{"n": 10, "calls": 2, **args})


# --- download -------------------------------------------------------------------------------


def test_asyncio_downloads_all_at_once_while_sync_takes_one_at_a_time():
    frame = download.run(pages=20, latency_ms=200, modes=("sync", "asyncio", "threads"))
    check_frame(frame, ("sync", "asyncio", "threads"), 20)
    # What overlaps, not how fast (`make bench` times it): every asyncio request is in flight
    # before the first answer comes back, however busy the machine; sync never overlaps.
    peaks = {mode: peak_concurrency(part) for mode, part in frame.groupby("mode")}
    assert peaks["sync"] == 1 and peaks["asyncio"] == 20 and peaks["threads"] >= 2, peaks
    assert (frame["status"] == 200).all() and (frame["bytes"] == 10_000).all()
    assert frame.loc[frame["mode"] == "asyncio", "worker"].nunique() == 1


def test_limit_caps_concurrency():
    frame = download.run(pages=12, latency_ms=150, modes=("asyncio", "threads"), limit=3)
    for mode, part in frame.groupby("mode"):
        assert peak_concurrency(part) == 3, mode  # the limit is reached, never passed
    assert frame.loc[frame["mode"] == "threads", "worker"].nunique() <= 3


def test_processes_download():
    frame = download.run(pages=4, latency_ms=50, modes=("processes",), limit=2)
    check_frame(frame, ("processes",), 4)
    assert frame["worker"].nunique() <= 2


@pytest.mark.parametrize(
    ("args", "error", "name"),
    [
        (dict(pages=0), ValueError, "pages"),
        (dict(latency_ms=-5), ValueError, "latency_ms"),
        (dict(latency_ms="fast"), TypeError, "latency_ms"),
        (dict(limit=0), ValueError, "limit"),
        (dict(modes=("carrier-pigeon",)), ValueError, "modes"),
        (dict(page_bytes=-1), ValueError, "page_bytes"),
    ],
)
def test_download_bad_arguments(args, error, name):
    with pytest.raises(error, match=name):
        download.run(**{"pages": 2, "latency_ms": 10, **args})


def test_page_server_frees_its_port_and_thread():
    before = threading.active_count()
    with PageServer(latency_ms=0) as server:
        port = server.port
        import httpx

        assert httpx.get(server.page_url(1)).text.startswith("page 1")
        assert httpx.get(server.page_url(1) + "?latency_ms=-1").status_code == 400
    assert threading.active_count() == before
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # nothing listens there any more


def test_page_server_stops_when_the_block_raises():
    before = threading.active_count()
    with pytest.raises(KeyboardInterrupt), PageServer(latency_ms=0):
        raise KeyboardInterrupt
    assert threading.active_count() == before


# --- pixels ---------------------------------------------------------------------------------


def test_pixels_frame_has_a_load_and_a_render_per_pixel():
    frame = pixels.run(size=3, workload="mixed", scale=0.1)
    check_frame(frame, pixels.MODES, 9)
    assert len(frame) == len(pixels.MODES) * 9 * 2
    assert set(frame["step"]) == {"load", "render"}
    assert frame[["x", "y"]].max().tolist() == [2, 2]
    per_pixel = frame.groupby(["mode", "pixel"])["step"].apply(list)
    assert all(steps == ["load", "render"] for steps in per_pixel)


def test_pixels_io_waits_overlap():
    frame = pixels.run(size=4, workload="io", modes=("sync", "threads", "coroutines"), scale=0.5)
    loads = frame[frame["step"] == "load"]
    # 16 waits of 20–60 ms: sync waits one at a time, the others start them all together.
    # (That this makes them 4× faster, and that pure-Python renders do not overlap, is timed
    # by `make bench`.)
    peaks = {mode: peak_concurrency(part) for mode, part in loads.groupby("mode")}
    assert peaks["sync"] == 1 and peaks["threads"] >= 4 and peaks["coroutines"] >= 4, peaks


def test_pixels_limits_and_presets():
    frame = pixels.run(preset="4x4", modes=("pool", "coroutines-limited"), workers=2, workload="io", scale=0.1)
    assert frame.loc[frame["mode"] == "pool", "worker"].nunique() <= 2
    limited = frame[(frame["mode"] == "coroutines-limited") & (frame["step"] == "load")]
    assert peak_concurrency(limited) <= 2
    assert frame.attrs["size"] == 4
    assert pixels.run(preset="16x16", modes=("coroutines",), workload="io", scale=0.01).attrs["workers"] == 32


def test_pixels_durations_are_seeded():
    a, b = pixels.durations(4, "mixed", 7, 1.0), pixels.durations(4, "mixed", 7, 1.0)
    assert (a == b).all() and not (a == pixels.durations(4, "mixed", 8, 1.0)).all()


@pytest.mark.parametrize(
    ("args", "error", "name"),
    [
        (dict(size=0), ValueError, "size"),
        (dict(workload="gpu"), ValueError, "workload"),
        (dict(preset="8x8"), ValueError, "preset"),
        (dict(workers=0), ValueError, "workers"),
        (dict(scale=-1), ValueError, "scale"),
        (dict(modes=("fast",)), ValueError, "modes"),
    ],
)
def test_pixels_bad_arguments(args, error, name):
    with pytest.raises(error, match=name):
        pixels.run(**{"size": 2, "scale": 0.01, **args})


# --- multiplexer ----------------------------------------------------------------------------

SEED_SINGLE = """Iteration 1:
main awaits A               | queue: [main, A]
A ready --> awaits B        | queue: [main, A, B]
B ready --> awaits C        | queue: [main, A, B, C]
C ready --> complete!       | queue: [main, A, B]

Iteration 2:
main not ready, awaiting A      | queue: [main, A, B]
A not ready, awaiting B         | queue: [main, A, B]
B ready --> complete!           | queue: [main, A]

Iteration 3:
main not ready, awaiting A      | queue: [main, A]
A ready --> complete!           | queue: [main]

Iteration 4:
main ready --> complete!      | queue: []

DONE!"""

# Seed 001's two-thread trace. Its sixth line reads "B not ready", but the queue after it
# shows that A was the task taken (and B runs next): we compare with that typo corrected.
SEED_POOL = """Thread 1 | main awaits A             | Queue: [A, main]
Thread 2 | A ready --> awaits B      | Queue: [B, main, A]

Thread 1 | B ready --> awaits C      | Queue: [C, main, A, B]
Thread 2 | C ready --> complete!     | Queue: [main, A, B]

Thread 1 | main not ready            | Queue: [A, B, main]
Thread 2 | A not ready               | Queue: [B, main, A]

Thread 1 | B ready --> complete!     | Queue: [main, A]
Thread 2 | main not ready            | Queue: [A, main]

Thread 1 | A ready --> complete!     | Queue: [main]
Thread 2 | main ready --> complete!  | Queue: []

DONE!"""


def normalise(text):
    """The seed pads its columns unevenly: compare the words, not the spaces."""
    return [" ".join(line.replace("|", " | ").split()) for line in text.strip().splitlines()]


def test_multiplexer_reproduces_the_seeds_single_threaded_trace():
    trace = multiplexer.run(multiplexer.example())
    assert normalise(multiplexer.format_trace(trace)) == normalise(SEED_SINGLE)
    assert len(trace) == 10
    assert trace.loc[trace["task"] == "A", "result"].dropna().tolist() == [3]


def test_multiplexer_reproduces_the_seeds_two_thread_trace():
    trace = multiplexer.run(multiplexer.example(), workers=2)
    assert normalise(multiplexer.format_trace(trace)) == normalise(SEED_POOL)
    assert trace.attrs["steps_per_worker"] == {0: 5, 1: 5}


def test_multiplexer_runs_other_programs_to_the_right_result():
    @multiplexer.task
    async def leaf(x):
        return x

    @multiplexer.task
    async def node(depth):
        if depth == 0:
            return await leaf(1)
        return 1 + await node(depth - 1)

    for workers in (None, 1, 3):
        trace = multiplexer.run(node(6), workers=workers)
        assert trace.attrs["result"] == 7
        assert (trace["event"] == "complete").sum() == 8  # 7 nodes and the leaf


def test_multiplexer_rejects_plain_awaitables_and_runaway_programs():
    import asyncio

    @multiplexer.task
    async def sleeper():
        await asyncio.sleep(0)

    with pytest.raises(TypeError, match="@task"):
        multiplexer.run(sleeper())

    @multiplexer.task
    async def forever():
        while True:
            await leafy()

    @multiplexer.task
    async def leafy():
        return 0

    with pytest.raises(RuntimeError, match="max_steps"):
        multiplexer.run(forever(), max_steps=50)
    with pytest.raises(TypeError, match="main"):
        multiplexer.run(42)
    with pytest.raises(ValueError, match="workers"):
        multiplexer.run(multiplexer.example(), workers=0)


# --- lists ----------------------------------------------------------------------------------


def test_list_frame_and_fit():
    frame = lists.run(sizes=(10**3, 10**4, 10**5), repeats=2)
    assert set(frame["mode"]) == {"build", "search"} and len(frame) == 2 * 3 * 2
    assert (frame["seconds"] > 0).all()
    fit = lists.fit(frame)
    assert list(fit.index) == ["build", "search"] and {"slope", "intercept"} <= set(fit.columns)
    # That the slopes are close to 1 (linear time) is a timing: `make bench` checks it.


def test_lists_bad_arguments():
    with pytest.raises(ValueError, match="sizes"):
        lists.run(sizes=(0,))
    with pytest.raises(TypeError, match="sizes"):
        lists.run(sizes=1000)
    with pytest.raises(ValueError, match="repeats"):
        lists.run(sizes=(10,), repeats=0)


# --- clean-up -------------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="lists children in /proc")
def test_no_child_process_survives():
    # Children from before (e.g. multiprocessing's resource tracker, which lives as long as
    # the interpreter once any earlier test started it) are not this run's.
    before = _children()
    fib.run(n=10, calls=4, modes=("processes",), workers=2)
    assert _children() - before == set()


def _children():
    return {p for p in os.listdir("/proc") if p.isdigit() and _parent(p) == os.getpid()}


def _parent(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="lists children in /proc")
def test_an_interrupted_process_pool_leaves_no_child():
    from parlab.experiments.pools import process_pool

    before = _children()
    with pytest.raises(KeyboardInterrupt), process_pool(2) as pool:
        futures = [pool.submit(fib.timed_fib, 27) for _ in range(8)]
        futures[0].result()  # the children are running
        raise KeyboardInterrupt  # what Ctrl-C does while the caller waits
    assert _children() - before == set()


def test_the_page_server_refuses_a_repeated_parameter():
    """/pages/1?latency_ms=0&latency_ms=60000 used to wait 60 s on the last value (issue 25, 5)."""
    from starlette.testclient import TestClient

    from parlab.experiments.pages import page_app

    with TestClient(page_app(latency_ms=0)) as client:
        refused = client.get("/pages/1?latency_ms=0&latency_ms=60000")
        assert refused.status_code == 400 and "latency_ms" in refused.json()["message"]
        assert client.get("/pages/1").status_code == 200
