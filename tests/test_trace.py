"""parlab.trace records any code's calls as a timeline: threads, asyncio, processes; and
parlab.to_trace writes them (and renders) as Chrome/Perfetto trace JSON."""

import asyncio
import itertools
import json
import math
import multiprocessing
import os
import pickle
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import parlab
from parlab import trace
from parlab.trace import COLUMNS, MAX_LANES, Trace, overlap_lanes


def fib(x):
    return 1 if x < 2 else fib(x - 1) + fib(x - 2)


def fail(x):
    raise KeyError(f"no page {x}")


def nap_then_add(x, seconds=0.02):
    time.sleep(seconds)
    return x + 1


async def wait_then_double(x, seconds=0.05):
    await asyncio.sleep(seconds)
    return 2 * x


async def compute_then_double(x):
    return 2 * fib(x)


def test_threads_give_one_row_per_call_with_the_results_unchanged():
    barrier = threading.Barrier(3)

    def meet(x):
        barrier.wait(timeout=10)  # all three threads are busy at once: three workers
        return fib(x)

    with trace("threads") as t, ThreadPoolExecutor(3) as pool:
        results = list(pool.map(t.task(meet), [15, 15, 15]))
    assert results == [fib(15)] * 3
    frame = t.frame
    assert list(frame.columns) == COLUMNS
    assert len(frame) == 3 and (frame["mode"] == "threads").all()
    assert sorted(frame["worker"]) == [0, 1, 2]
    assert frame["task"].tolist() == [0, 1, 2]
    assert frame["start_s"].is_monotonic_increasing
    assert (frame["end_s"] >= frame["start_s"]).all() and (frame["start_s"] >= 0).all()
    assert frame["end_s"].max() <= t.elapsed_s
    assert frame["tid"].nunique() == 3 and (frame["pid"] == os.getpid()).all()
    assert frame["thread"].str.startswith("ThreadPoolExecutor").all()
    assert set(frame["function"]) == {"meet"} and frame["error"].isna().all()


def test_workers_are_numbered_in_order_of_first_appearance():
    gates = [threading.Event() for _ in range(3)]

    def step(i):
        gates[i].set()
        return i

    def worker(traced, i):
        if i > 0:
            gates[i - 1].wait(timeout=10)  # call strictly one after the other
        traced(i)

    with trace("ordered") as t:
        traced = t.task(step)
        threads = [threading.Thread(target=worker, args=(traced, i), name=f"mine-{i}") for i in range(3)]
        for thread in reversed(threads):  # started in reverse: numbering follows the calls
            thread.start()
        for thread in threads:
            thread.join()
        traced(0)  # and this (main) thread is a fourth worker
    frame = t.frame
    assert frame["worker"].tolist() == [0, 1, 2, 3]
    assert frame["thread"].tolist() == ["mine-0", "mine-1", "mine-2", threading.current_thread().name]


def test_cpu_time_tells_computing_from_waiting():
    with trace("sync") as t:
        t.task(fib)(24)
        t.task(nap_then_add)(1, 0.1)
    computing, sleeping = t.frame.itertuples()
    # No timing ratio (the machine may be busy): CPU time is what the call itself used.
    assert 0.001 < computing.cpu_s <= computing.end_s - computing.start_s + 0.001
    assert sleeping.end_s - sleeping.start_s >= 0.1
    assert sleeping.cpu_s < min(0.05, computing.cpu_s)


def test_exceptions_pass_through_and_are_recorded():
    with trace("errors") as t:
        with pytest.raises(KeyError, match="no page 7"):
            t.task(fail)(7)
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(t.task(fail), 8), pool.submit(t.task(fib), 5)]
            with pytest.raises(KeyError, match="no page 8"):
                futures[0].result()
            assert futures[1].result() == 8
    frame = t.frame
    assert len(frame) == 3
    assert sorted(frame["error"].fillna("-")) == ["-", "KeyError", "KeyError"]


def test_asyncio_coroutines_share_the_loop_thread_and_overlap():
    async def main(t):
        return await asyncio.gather(*(t.task(wait_then_double)(i) for i in range(5)))

    with trace("asyncio") as t:
        assert asyncio.run(main(t)) == [0, 2, 4, 6, 8]
    frame = t.frame
    assert len(frame) == 5 and set(frame["worker"]) == {0}  # worker = the event-loop thread
    assert frame["coroutine"].nunique() == 5  # each call ran in its own asyncio task
    assert frame["end_s"].min() > frame["start_s"].max()  # all five waited together
    assert (frame["cpu_s"] < 0.05).all()  # waiting, not computing


def test_asyncio_cpu_time_counts_only_the_coroutines_own_steps():
    async def main(t):
        slow = t.task(wait_then_double)
        busy = t.task(compute_then_double)
        return await asyncio.gather(slow(1, 0.2), busy(23))

    with trace("mixed") as t:
        assert asyncio.run(main(t)) == [2, 2 * fib(23)]
    waiting = t.frame.set_index("function").loc["wait_then_double"]
    assert waiting["end_s"] - waiting["start_s"] >= 0.2
    assert waiting["cpu_s"] < 0.05  # not the CPU the other coroutine used meanwhile


def test_async_exceptions_and_cancellation_pass_through():
    async def boom():
        await asyncio.sleep(0)
        raise ValueError("late")

    async def main(t):
        with pytest.raises(ValueError, match="late"):
            await t.task(boom)()
        task = asyncio.ensure_future(t.task(wait_then_double)(1, 10))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with trace("async errors") as t:
        asyncio.run(main(t))
    assert t.frame["error"].tolist() == ["ValueError", "CancelledError"]


def test_processes_send_their_timings_back_with_the_results():
    with trace("processes") as t, ProcessPoolExecutor(2) as pool:
        results = list(pool.map(t.task(nap_then_add), range(6), [0.05] * 6))
        with pytest.raises(KeyError, match="no page 9"):
            pool.submit(t.task(fail), 9).result()
    assert results == [1, 2, 3, 4, 5, 6]
    frame = t.frame
    assert len(frame) == 7
    assert frame["pid"].nunique() == 2 and os.getpid() not in set(frame["pid"])
    assert sorted(frame["worker"].unique()) == [0, 1]
    assert frame["error"].tolist().count("KeyError") == 1
    # The same monotonic clock in every process: each bar lies inside the block.
    assert (frame["start_s"] > 0).all() and frame["end_s"].max() <= t.elapsed_s
    assert ((frame["end_s"] - frame["start_s"]) >= 0.05)[frame["function"] == "nap_then_add"].all()


def test_a_traced_function_pickles_as_a_reference():
    with trace("pickled") as t:
        copy = pickle.loads(pickle.dumps(t.task(fib)))
        assert copy(10) == fib(10)  # in this process it records directly
    assert len(t.frame) == 1


def test_frames_combine():
    with trace("one") as a:
        a.task(fib)(10)
    with trace("two") as b:
        b.task(fib)(10)
        b.task(fib)(11)
    combined = trace.frame(a, b)
    assert combined["mode"].tolist() == ["one", "two", "two"]
    pd.testing.assert_frame_equal(combined, pd.concat([a.frame, b.frame], ignore_index=True))
    assert trace.frame([a.frame, b]).shape == combined.shape
    with pytest.raises(ValueError, match="'one'"):
        trace.frame(a, a)
    with pytest.raises(TypeError, match="traces"):
        trace.frame(a, 3)


def test_summary_tells_parallelism_and_concurrency():
    with trace("sleepy") as a, ThreadPoolExecutor(3) as pool:
        list(pool.map(a.task(nap_then_add), range(3), [0.1] * 3))
    with trace("busy") as b:
        b.task(fib)(22)
        b.task(fib)(22)
    table = trace.summary(a, b)
    assert table.index.tolist() == ["sleepy", "busy"]
    assert table.loc["sleepy", "calls"] == 3 and table.loc["sleepy", "concurrency"] == 3
    assert table.loc["busy", "concurrency"] == 1 and table.loc["busy", "workers"] == 1
    assert table.loc["sleepy", "waiting"] > 0.5  # sleeping is waiting
    assert table.loc["sleepy", "parallelism"] < 0.5  # …and uses no CPU
    # One thread cannot use more than one CPU at a time (small margin for clock granularity).
    assert 0 < table.loc["busy", "parallelism"] <= 1.05
    assert table.loc["busy", "cpu_s"] == pytest.approx(b.frame["cpu_s"].sum())


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="mode"):
        trace(3)
    with pytest.raises(ValueError, match="mode"):
        trace("  ")
    with pytest.raises(TypeError, match="function"):
        trace("x").task(42)
    t = trace("twice")
    with pytest.raises(ValueError, match="already traced"):
        t.task(t.task(fib))
    with t:
        pass
    with pytest.raises(RuntimeError, match="already used"):
        t.__enter__()


def test_an_empty_trace_has_the_columns():
    with trace("nothing") as t:
        pass
    assert list(t.frame.columns) == COLUMNS and t.frame.empty
    assert isinstance(t, Trace) and "0 call(s)" in repr(t)


# --- Chrome / Perfetto trace JSON -----------------------------------------------------------


def strict_json(text):
    """Parses JSON as a strict parser does: NaN, Infinity and -Infinity are not JSON."""

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def check_schema(document):
    """What the Chrome trace-event format requires of the events we write."""
    assert set(document) >= {"traceEvents"}
    events = document["traceEvents"]
    assert strict_json(json.dumps(document)) == document  # what json.dump writes is strict JSON
    for event in events:
        assert event["ph"] in ("X", "M")
        assert isinstance(event["pid"], int) and event.get("tid") not in (0, event["pid"])
        if event["ph"] == "X":
            assert isinstance(event["tid"], int) and isinstance(event["name"], str)
            assert isinstance(event["ts"], float | int) and isinstance(event["dur"], float | int)
            assert event["ts"] >= 0 and event["dur"] >= 0
        else:
            assert event["name"] in ("process_name", "process_sort_index", "thread_name", "thread_sort_index")
    return [e for e in events if e["ph"] == "X"], [e for e in events if e["ph"] == "M"]


def names(meta, kind):
    return {(e["pid"], e.get("tid")): e["args"]["name"] for e in meta if e["name"] == kind}


def test_trace_json_of_a_render(tmp_path):
    run = parlab.render(width=120, height=90, tile_w=30, tile_h=30, max_iter=100, strategy="interleaved", threads=3)
    path = tmp_path / "render.json"
    document = parlab.to_trace(run, path)
    assert strict_json(path.read_text()) == document
    spans, meta = check_schema(document)
    assert len(spans) == run.total_tiles == 12
    assert names(meta, "thread_name") == {(1001, 1): "thread 0", (1001, 2): "thread 1", (1001, 3): "thread 2"}
    first = run.records[0]
    span = next(e for e in spans if e["args"]["task_id"] == first.task_id)
    assert span["ts"] == pytest.approx(first.start_us) and span["dur"] == pytest.approx(first.duration_us)
    assert span["tid"] == first.thread_id + 1 and span["args"]["iterations"] == first.iterations
    assert check_schema(parlab.to_trace(run.to_frame()))[0] == spans


def test_trace_json_of_traces_has_a_process_per_mode_and_lanes_for_overlaps(tmp_path):
    async def main(t):
        return await asyncio.gather(*(t.task(wait_then_double)(i, 0.02) for i in range(3)))

    with trace("asyncio") as a:
        asyncio.run(main(a))
    with trace("threads") as t, ThreadPoolExecutor(2) as pool:
        list(pool.map(t.task(nap_then_add), range(4)))
    document = parlab.to_trace(trace.frame(a, t), tmp_path / "t.json")
    spans, meta = check_schema(document)
    assert len(spans) == 7
    assert sorted(names(meta, "process_name").values()) == ["asyncio", "threads"]
    pid = {v: k[0] for k, v in names(meta, "process_name").items()}
    threads = names(meta, "thread_name")
    # Three coroutines overlap on worker 0: three tracks, so no two spans overlap on one.
    assert sorted(n for (p, _), n in threads.items() if p == pid["asyncio"]) == [
        "worker 0",
        "worker 0 · lane 1",
        "worker 0 · lane 2",
    ]
    for track in {(e["pid"], e["tid"]) for e in spans}:
        on = sorted((e["ts"], e["ts"] + e["dur"]) for e in spans if (e["pid"], e["tid"]) == track)
        assert all(end <= start + 1e-6 for (_, end), (start, _) in itertools.pairwise(on))
    assert {e["name"] for e in spans} == {"wait_then_double", "nap_then_add"}
    assert all("cpu_s" in e["args"] for e in spans)
    assert check_schema(parlab.to_trace(t))[0]  # a trace itself works too


def test_to_trace_rejects_what_it_cannot_draw():
    with pytest.raises(TypeError, match="obj"):
        parlab.to_trace(42)
    with pytest.raises(ValueError, match="obj"):
        parlab.to_trace(pd.DataFrame({"a": [1]}))


# --- issue 25, fault 10: strict JSON, paths only, lanes in O(n log n) -------------------------


def tidy(**columns):
    base = {"mode": "m", "worker": 0, "start_s": [0.0, 0.1, 0.2], "end_s": [0.05, 0.15, 0.25], "function": "f"}
    return pd.DataFrame({**base, **columns})


def test_to_trace_refuses_non_finite_times_naming_the_row(tmp_path):
    path = tmp_path / "bad.json"
    for column, value in (("start_s", math.nan), ("end_s", math.inf), ("start_s", -math.inf)):
        frame = tidy()
        frame.loc[1, column] = value
        with pytest.raises(ValueError, match=rf"{column}: row 1 is .*not a finite number"):
            parlab.to_trace(frame, path)
    run_frame = parlab.render(width=60, height=30, tile_w=30, tile_h=30, max_iter=50).to_frame()
    run_frame.loc[0, "duration_us"] = math.nan
    with pytest.raises(ValueError, match="duration_us: row 0"):
        parlab.to_trace(run_frame)
    with pytest.raises(ValueError, match="cpu_s: row 2 is inf"):  # no JSON for infinity, in args either
        parlab.to_trace(tidy(cpu_s=[0.01, 0.02, math.inf]))
    assert not path.exists()  # nothing half-written


def test_to_trace_writes_missing_values_as_null_in_strict_json(tmp_path):
    path = tmp_path / "ok.json"
    frame = tidy(cpu_s=[0.01, math.nan, 0.02], note=[None, pd.NA, np.float64("nan")])
    document = parlab.to_trace(frame, path)
    assert strict_json(path.read_text()) == document
    spans, _ = check_schema(document)
    assert [e["args"]["cpu_s"] for e in spans] == [0.01, None, 0.02]
    assert all(e["args"]["note"] is None for e in spans)


def test_to_trace_refuses_negative_durations_naming_the_row():
    with pytest.raises(ValueError, match=r"end_s: row 2 ends before it starts"):
        parlab.to_trace(tidy(end_s=[0.05, 0.15, 0.19]))
    run_frame = parlab.render(width=60, height=30, tile_w=30, tile_h=30, max_iter=50).to_frame()
    run_frame.loc[1, "duration_us"] = -5.0
    with pytest.raises(ValueError, match="duration_us: row 1 ends before it starts"):
        parlab.to_trace(run_frame)


def test_to_trace_refuses_rows_without_a_worker_and_names_workers_given_as_strings():
    with pytest.raises(ValueError, match="worker: row 1 has none"):  # not silently dropped
        parlab.to_trace(tidy(worker=[0, math.nan, 1]))
    with pytest.raises(ValueError, match="mode: row 0 has none"):
        parlab.to_trace(tidy(mode=[None, "m", "m"]))
    spans, meta = check_schema(parlab.to_trace(tidy(worker=["io", "cpu", "io"])))
    assert len(spans) == 3
    assert sorted(names(meta, "thread_name").values()) == ["worker cpu", "worker io"]
    spans, meta = check_schema(parlab.to_trace(tidy(worker=[1, "x", 1.0])))  # mixed: in order of appearance
    assert list(names(meta, "thread_name").values()) == ["worker 1", "worker x"]


def test_to_trace_takes_only_paths():
    before = os.fstat(1)
    for path in (1, 2.5, b"\x00", ["run.json"]):
        with pytest.raises(TypeError, match="path"):
            parlab.to_trace(tidy(), path)
    assert os.fstat(1).st_ino == before.st_ino  # standard output still open


def quadratic_lanes(starts, ends):
    """The former lane assignment, kept as the reference: the same lanes, in O(n²)."""
    lanes, lane_ends = [0] * len(starts), []
    for i in np.argsort(starts, kind="stable"):
        free = next((k for k, end in enumerate(lane_ends) if end <= starts[i] + 1e-12), None)
        if free is None:
            free = len(lane_ends)
            lane_ends.append(0.0)
        lane_ends[free] = ends[i]
        lanes[i] = free
    return lanes


def test_overlap_lanes_are_the_same_as_before():
    rng = np.random.default_rng(25)
    for case in range(300):
        n = int(rng.integers(0, 40))
        starts = np.round(rng.random(n) * 10, case % 3)  # rounding makes ties and touching calls
        ends = starts + np.round(rng.random(n) * (0.3, 2, 6)[case % 3], case % 3)
        if case % 5 == 0 and n:
            ends[rng.integers(n)] = np.nan
        assert overlap_lanes(starts, ends).tolist() == quadratic_lanes(starts, ends)


def test_overlap_lanes_of_10000_overlapping_calls_take_no_quadratic_time():
    n = 10_000
    starts = np.arange(n) * 1e-6
    began = time.monotonic()
    lanes = overlap_lanes(starts, starts + 1.0)
    elapsed = time.monotonic() - began
    assert lanes.tolist() == list(range(n))  # all in flight together: one lane each
    assert elapsed < 5  # was 11.5 s (quadratic); O(n log n) takes milliseconds
    chain = overlap_lanes(starts, starts + 0.5e-6)  # one after the other: one lane, reused
    assert set(chain.tolist()) == {0}


def test_to_trace_of_thousands_of_gathered_coroutines_bounds_its_tracks(tmp_path):
    calls = 2_000

    async def meet(barrier):
        await barrier.wait()  # every call in flight at once

    async def main(t):
        barrier = asyncio.Barrier(calls)
        await asyncio.gather(*(t.task(meet)(barrier) for _ in range(calls)))

    with trace("gathered") as t:
        asyncio.run(main(t))
    assert trace.summary(t).loc["gathered", "concurrency"] == calls
    path = tmp_path / "many.json"
    document = parlab.to_trace(t, path)
    assert strict_json(path.read_text()) == document
    spans, meta = check_schema(document)
    tracks = {(e["pid"], e["tid"]) for e in spans}
    assert len(tracks) == MAX_LANES + 1  # was 2,000: one per call in flight
    merged = [e for e in spans if e["name"].endswith(" calls")]
    assert len(spans) - len(merged) + sum(e["args"]["calls"] for e in merged) == calls  # every call counted
    assert names(meta, "thread_name")[(1001, MAX_LANES + 1)] == f"worker 0 · lanes {MAX_LANES}–{calls - 1}, merged"
    for track in tracks:
        on = sorted((e["ts"], e["ts"] + e["dur"]) for e in spans if (e["pid"], e["tid"]) == track)
        assert all(end <= start + 1e-6 for (_, end), (start, _) in itertools.pairwise(on))


def test_to_trace_names_a_cluster_runs_idle_and_transfer_rows_by_their_kind():
    # The shape of ClusterRun.to_frame(): tile columns filled with 0 for rows that are no tile.
    frame = pd.DataFrame(
        {
            "task_id": [0, -1, -1, 1, 3],
            "thread_id": [0, 0, 1, 1, 0],
            "tile_x": [30, 0, 0, 0, 0],
            "tile_y": [0, 0, 0, 30, 0],
            "start_us": [0.0, 10.0, 0.0, 5.0, 20.0],
            "duration_us": [10.0, 5.0, 5.0, 10.0, 4.0],
            "kind": ["compute", "idle", "transfer", "compute", "compute"],
            "detail": ["", "waiting", "get-data from tcp://127.0.0.1:1", "", "lost with its worker, re-run"],
            "worker": "tcp://127.0.0.1:2",
        }
    )
    spans, _ = check_schema(parlab.to_trace(frame))
    assert [e["name"] for e in spans] == [
        "tile (30, 0)",
        "idle: waiting",
        "transfer: get-data from tcp://127.0.0.1:1",
        "tile (0, 30)",
        "task 3: lost with its worker, re-run",
    ]
    assert [e["cat"] for e in spans] == ["compute", "idle", "transfer", "compute", "compute"]


# --- issue 25, fault 11: generators, nesting, recursion depth ---------------------------------


def test_a_traced_generator_is_timed_while_it_is_iterated():
    own_cpu = []

    def squares(n):
        for i in range(n):
            began = time.thread_time()
            fib(18)
            own_cpu.append(time.thread_time() - began)
            yield i * i

    with trace("generator") as t:
        traced = t.task(squares)
        items = traced(5)
        assert t.frame.empty  # made, not yet run: nothing to record
        consumer_cpu = 0.0
        results = []
        for item in items:
            results.append(item)
            began = time.thread_time()
            fib(18)  # the consumer's own work between items: not the generator's
            consumer_cpu += time.thread_time() - began
            time.sleep(0.01)
    assert results == [0, 1, 4, 9, 16]
    (row,) = t.frame.itertuples()
    assert row.end_s - row.start_s >= 5 * 0.01  # the bar spans the iteration (the sleeps too)
    assert sum(own_cpu) <= row.cpu_s < sum(own_cpu) + consumer_cpu / 2
    assert row.function == "squares" and row.error is None


def test_a_traced_generator_records_breaks_errors_send_and_throw():
    def numbers():
        yield from range(100)

    def broken():
        yield 1
        raise KeyError("broken")

    def echo():
        received = yield "ready"
        while True:
            try:
                received = yield 2 * received
            except ValueError:
                received = yield "caught"

    with trace("generators") as t:
        for i in t.task(numbers)():
            if i == 3:
                break  # the consumer lets go: the bar ends here
        with pytest.raises(KeyError, match="broken"):
            list(t.task(broken)())
        with pytest.raises(TypeError):
            t.task(numbers)(1)  # argument errors surface at the call, as for a generator
        talk = t.task(echo)()
        assert next(talk) == "ready" and talk.send(21) == 42 and talk.throw(ValueError()) == "caught"
        talk.close()
    frame = t.frame
    assert frame["function"].tolist() == ["numbers", "broken", "echo"]
    assert frame["error"].tolist() == [None, "KeyError", None]


def test_a_traced_async_generator_is_timed_while_it_is_iterated():
    async def ticks(n):
        for i in range(n):
            await asyncio.sleep(0.02)  # waiting: not its CPU
            yield i

    async def main(t):
        traced = t.task(ticks)
        got = [i async for i in traced(3)]
        async for i in traced(10):
            if i == 1:
                break
        return got

    with trace("async generator") as t:
        assert asyncio.run(main(t)) == [0, 1, 2]
    first, second = t.frame.itertuples()
    assert first.end_s - first.start_s >= 3 * 0.02 and first.cpu_s < 0.05
    assert second.end_s - second.start_s >= 2 * 0.02
    assert first.coroutine == second.coroutine and first.coroutine is not None


def add_one(x):
    return x + 1


def times_ten_plus_one(traced_add_one, x):
    return 10 * traced_add_one(x) + 1  # a traced call inside a traced call


def through_a_thread_pool(traced_add_one, x):
    with ThreadPoolExecutor(2) as pool:
        return sum(pool.map(traced_add_one, [x, x]))


def test_nested_traced_calls_return_plain_results_in_process():
    with trace("nested") as t, ThreadPoolExecutor(2) as pool:
        inner = t.task(add_one)
        assert t.task(times_ten_plus_one)(inner, 1) == 21
        assert t.task(through_a_thread_pool)(inner, 1) == 4
        assert pool.submit(t.task(times_ten_plus_one), inner, 2).result() == 31
    assert t.frame["function"].value_counts().to_dict() == {
        "add_one": 4,
        "times_ten_plus_one": 2,
        "through_a_thread_pool": 1,
    }


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_nested_traced_calls_in_child_processes_return_plain_results(start_method):
    context = multiprocessing.get_context(start_method)
    with trace("nested in processes") as t:
        inner, outer, pooled = t.task(add_one), t.task(times_ten_plus_one), t.task(through_a_thread_pool)
        with ProcessPoolExecutor(2, mp_context=context) as pool:
            # was: TypeError: unsupported operand type(s) for *: 'int' and 'Returned'
            assert list(pool.map(outer, [inner] * 3, range(3))) == [11, 21, 31]
            assert pool.submit(pooled, inner, 1).result() == 4
        with context.Pool(1) as pool:
            assert pool.starmap(outer, [(inner, 5)]) == [61]
            assert pool.map(inner, [1, 2]) == [2, 3]
    counts = t.frame["function"].value_counts().to_dict()
    assert counts == {"add_one": 8, "times_ten_plus_one": 4, "through_a_thread_pool": 1}  # inner rows came back too
    assert os.getpid() not in set(t.frame["pid"])


def deepest(function):
    """The deepest recursion `function(depth)` survives."""
    low, high = 1, 4 * sys.getrecursionlimit()
    while low < high:
        middle = (low + high + 1) // 2
        try:
            function(middle)
            low = middle
        except RecursionError:
            high = middle - 1
    return low


def test_traced_recursion_adds_one_frame_per_call():
    def down(depth):
        return 0 if depth == 0 else 1 + down(depth - 1)

    def traced_down(depth):
        return 0 if depth == 0 else 1 + traced(depth - 1)

    plain_depth = deepest(down)
    with trace("recursion") as t:
        traced = t.task(traced_down)
        traced_depth = deepest(traced)
    # One frame for the function, one for the tracing: half the depth (was a third: 332 of 1000).
    assert traced_depth >= 0.45 * plain_depth
