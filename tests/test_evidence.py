"""parlab.evidence and parlab.measure: the verdicts the exercises and lessons rest on.

No test here reads the clock for its verdict: concurrency is shown by the rendezvous, shares by
runs built by hand, and the timeouts only bound how long a broken rendezvous waits.
"""

import asyncio
import threading

import pytest

from parlab import evidence, measure, trace


def work(x):
    return x


def on_threads(fn, count, together=True):
    """Calls fn(i) on `count` threads: all started before any is joined, or one at a time."""
    threads = [threading.Thread(target=fn, args=(i,)) for i in range(count)]
    if together:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for t in threads:
            t.start()
            t.join()


def test_threads_started_together_meet():
    meet = evidence.rendezvous(3, timeout_s=30, what="tiles")
    on_threads(meet.task(work), 3)
    meet.check(threads=3)
    assert meet.reached and not meet.timed_out and meet.peak == 3 and meet.calls_by_thread() == [1, 1, 1]


@pytest.mark.parametrize("how", ["start-then-join", "inside one lock", "one thread"])
def test_sequential_calls_never_meet_and_the_message_says_so(how):
    meet = evidence.rendezvous(2, timeout_s=0.2, what="tiles")
    task = meet.task(work)
    if how == "start-then-join":
        on_threads(task, 4, together=False)
    elif how == "inside one lock":
        lock = threading.Lock()

        def locked(i):
            with lock:
                task(i)

        on_threads(locked, 4)
    else:
        for i in range(4):
            task(i)
    with pytest.raises(evidence.NotConcurrent, match="never had 2 tiles in progress at once: at most 1 tile"):
        meet.check()
    assert meet.timed_out and meet.calls == 4  # one wait timed out; the rest ran straight through


def test_fewer_than_k_at_once_is_named():
    meet = evidence.rendezvous(3, timeout_s=0.2, what="slices")
    on_threads(meet.task(work), 2)
    with pytest.raises(evidence.NotConcurrent, match=r"at most 2 slices at a time\. 3 were expected"):
        meet.check()


def test_the_wrong_number_of_threads_is_named():
    meet = evidence.rendezvous(2, timeout_s=30, what="downloads")
    on_threads(meet.task(work), 3)
    with pytest.raises(evidence.NotConcurrent, match="ran on 3 thread"):
        meet.check(threads=2)


def test_no_calls_at_all():
    with pytest.raises(evidence.NotConcurrent, match="no calls were made"):
        evidence.rendezvous(2).check()


def test_coroutines_meet_on_one_thread():
    meet = evidence.rendezvous(3, timeout_s=30, what="countdowns")

    async def count(n):
        await asyncio.sleep(0)
        return n

    task = meet.task(count)

    async def together():
        return await asyncio.gather(*(task(n) for n in range(3)))

    async def in_turn():
        return [await task(n) for n in range(3)]

    assert asyncio.run(together()) == [0, 1, 2]
    meet.check()
    assert meet.threads() == 1
    late = evidence.rendezvous(3, timeout_s=0.1, what="countdowns")
    task = late.task(count)
    assert asyncio.run(in_turn()) == [0, 1, 2]
    with pytest.raises(evidence.NotConcurrent, match="at most 1 countdown"):
        late.check()


def test_work_is_counted_per_thread_not_per_reused_ident():
    """Threads run one after another may share a `threading.get_ident()`; tokens differ."""
    meet = evidence.rendezvous(1, what="tiles")
    task = meet.task(work, cost=lambda result: result)
    on_threads(task, 3, together=False)
    assert meet.threads() == 3 and sorted(meet.work_by_thread()) == [0.0, 1.0, 2.0]


def test_list_schedule_bound_and_paced_calls():
    assert evidence.list_schedule_bound([4, 4, 4, 4], 2) == 12
    assert evidence.list_schedule_bound([], 3) == 0
    paced = evidence.paced(work, cost=lambda x: x, seconds_per_unit=0.0)
    assert paced(7) == 7
    with pytest.raises(ValueError, match="threads"):
        evidence.list_schedule_bound([1], 0)
    with pytest.raises(TypeError, match="fn"):
        evidence.rendezvous(2).task(3)
    with pytest.raises(ValueError, match="k"):
        evidence.rendezvous(0)


def runs(*rows):
    return tuple(measure.Run(v, i, wall, cpu) for i, (v, wall, cpu) in enumerate(rows))


def test_comparison_decides_from_the_shares_of_its_runs():
    both = measure.Comparison(
        runs(("1", 2.0, 2.0), ("2", 1.05, 2.0), ("1", 2.2, 2.1), ("2", 1.1, 2.0)), {"1": 1, "2": 2}, allowed=2
    )
    assert both.best_s == {"1": 2.0, "2": 1.05}
    assert both.speedup("1", "2") == pytest.approx(2.0 / 1.05)
    assert both.share["2"] == pytest.approx(2.0 / 1.05)
    assert both.situation == "free" and both.free and both.label == "1.9 of 2 CPUs free during these runs"
    assert both.parallel_ceiling("1", "2") == pytest.approx(both.share["2"] / 1.0)
    busy = measure.Comparison(runs(("1", 2.0, 2.0), ("2", 1.8, 2.0)), {"1": 1, "2": 2}, allowed=2)
    assert busy.situation == "busy" and busy.cpus_free == pytest.approx(1.11, abs=0.01)
    one = measure.Comparison(runs(("1", 2.0, 2.0), ("2", 2.0, 2.0)), {"1": 1, "2": 2}, allowed=1)
    assert one.situation == "one-cpu" and one.label.startswith("1.0 of 1 CPU free")
    assert len(both.table()) == 4 and both.table()["best"].sum() == 2
    with pytest.raises(KeyError, match="variant"):
        both.speedup("1", "3")


def test_compare_interleaves_and_validates():
    order = []
    result = measure.compare({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, rounds=2)
    assert order == ["a", "b", "a", "b", "a", "b"]  # the warm-up, then the rounds interleaved
    assert set(result.best_s) == {"a", "b"} and len(result.runs) == 4
    with pytest.raises(ValueError, match="variants"):
        measure.compare({})
    with pytest.raises(TypeError, match="variants"):
        measure.compare({"a": 1})
    with pytest.raises(ValueError, match="threads"):
        measure.compare({"a": list}, threads={"b": 2})
    with pytest.raises(ValueError, match="rounds"):
        measure.compare({"a": list}, rounds=0)


def test_from_traces_takes_the_calls_own_cpu_time():
    with trace("pair") as t:
        traced = t.task(sum)
        traced(range(1000))
        traced(range(1000))
    frame = t.frame
    result = measure.from_traces(t, threads={"pair": 2})
    wall = frame["end_s"].max() - frame["start_s"].min()
    assert result.runs[0].wall_s == pytest.approx(wall)
    assert result.runs[0].cpu_s == pytest.approx(frame["cpu_s"].sum())
    assert result.threads == {"pair": 2}
    with pytest.raises(ValueError, match="threads"):
        measure.from_traces(t, threads={"other": 2})


def test_a_speedup_beyond_the_share_is_explained_not_failed():
    assert measure.beyond_ceiling(1.1, 1.0) == ""
    assert measure.beyond_ceiling(1.15 * 1.92 + 0.05, 1.92) == ""
    sentence = measure.beyond_ceiling(3.0, 1.92)
    assert "3.00×" in sentence and "1.92×" in sentence and "run the cell again" in sentence
