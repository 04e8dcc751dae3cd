"""parlab.trace records any code's calls as a timeline: threads, asyncio, processes; and
parlab.to_trace writes them (and renders) as Chrome/Perfetto trace JSON."""

import asyncio
import itertools
import json
import os
import pickle
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pandas as pd
import pytest

import parlab
from parlab import trace
from parlab.trace import COLUMNS, Trace


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


def check_schema(document):
    """What the Chrome trace-event format requires of the events we write."""
    assert set(document) >= {"traceEvents"}
    events = document["traceEvents"]
    json.dumps(document, allow_nan=False)  # strict JSON: no NaN
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
    assert json.loads(path.read_text()) == document
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
