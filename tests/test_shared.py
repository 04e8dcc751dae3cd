"""Shared data (lesson 09): exact counters, locks that exclude, deadlocks that are detected and
never hang, Ctrl-C that stops the Rust threads, and the plots. No timing is asserted."""

import signal
import subprocess
import sys
import textwrap
import threading
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from parlab import plots, shared


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("counter", ["fetch-add", "mutex", "per-thread"])
def test_correct_counters_are_exact(counter):
    run = shared.count(counter, threads=3, increments=100_000)
    assert (run["total"], run["expected"], run["lost"]) == (300_000, 300_000, 0)
    assert run["counter"] == counter and run["elapsed_us"] > 0


def test_the_racy_counter_never_gains():
    run = shared.count("load-store", threads=2, increments=200_000)
    assert 200_000 <= run["total"] <= 400_000 and run["lost"] == 400_000 - run["total"]


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: shared.count("atomic"), "counter"),
        (lambda: shared.count("mutex", threads=0), "threads"),
        (lambda: shared.count("mutex", threads=65), "threads"),
        (lambda: shared.count("mutex", increments=-1), "increments"),
        (lambda: shared.count("mutex", increments=10**9), "increments"),
        (lambda: shared.lock_timeline(rounds=0), "rounds"),
        (lambda: shared.lock_timeline(hold_us=-1), "hold_us"),
        (lambda: shared.lock_timeline(work_us=float("nan")), "work_us"),
        (lambda: shared.lock_timeline(hold_us=1e9), "hold_us"),
        (lambda: shared.two_locks("backwards"), "order"),
        (lambda: shared.two_locks("same", timeout_ms=0), "timeout_ms"),
        (lambda: shared.false_sharing(threads=9), "threads"),
        (lambda: shared.false_sharing(repeats=0), "repeats"),
        (lambda: shared.throughput(repeats=100), "repeats"),
        (lambda: shared.run_threads(print, 0), "threads"),
        (lambda: shared.switch_interval(0).__enter__(), "seconds"),
    ],
)
def test_bad_arguments_name_the_parameter(call, name):
    with pytest.raises(ValueError, match=f"^{name}: "):
        call()


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError):
        shared.count("mutex", threads="2")  # type: ignore[arg-type]


# Issue 25 §12: every bad argument is an error naming its parameter (no "Python int too large
# to convert to C long", no "'<=' not supported", no "can't multiply sequence"), True is not 1,
# and a run that could not end within a lesson is refused before it starts, the limit named.
HUGE = [2**63, 2**64, 10**30]


@pytest.mark.parametrize(
    ("call", "name", "error"),
    [
        *[(lambda v=v: shared.count("mutex", threads=v), "threads", ValueError) for v in HUGE],
        *[(lambda v=v: shared.count("mutex", increments=v), "increments", ValueError) for v in HUGE],
        *[(lambda v=v: shared.lock_timeline(rounds=v), "rounds", ValueError) for v in HUGE],
        *[(lambda v=v: shared.two_locks("same", rounds=v), "rounds", ValueError) for v in HUGE],
        (lambda: shared.false_sharing(increments=2**64), "increments", ValueError),
        (lambda: shared.lock_timeline(hold_us=10**400 // 10**100), "hold_us", ValueError),
        (lambda: shared.throughput(repeats=None), "repeats", TypeError),
        (lambda: shared.throughput(repeats=2**63), "repeats", ValueError),
        (lambda: shared.throughput(threads=(1, 2**63)), "threads", ValueError),
        (lambda: shared.throughput(threads=2), "threads", TypeError),
        (lambda: shared.throughput(counters="mutex"), "counters", TypeError),
        (lambda: shared.throughput(counters=("mutex", None)), "counters", ValueError),
        (lambda: shared.false_sharing(repeats=None), "repeats", TypeError),
        (lambda: shared.false_sharing_measured(threads=None), "threads", TypeError),
        (lambda: shared.run_threads(print, 1.5), "threads", TypeError),
        (lambda: shared.run_threads(print, None), "threads", TypeError),
        (lambda: shared.run_threads(print, 2**63), "threads", ValueError),
        (lambda: shared.run_threads(None, 1), "target", TypeError),
        (lambda: shared.count(None), "counter", TypeError),
        (lambda: shared.count("mutex", threads=1.5), "threads", TypeError),
        (lambda: shared.count("mutex", threads=None), "threads", TypeError),
        (lambda: shared.lock_timeline(work_us=None), "work_us", TypeError),
        (lambda: shared.lock_timeline(work_us="1"), "work_us", TypeError),
        (lambda: shared.two_locks("same", timeout_ms=float("inf")), "timeout_ms", ValueError),
        (lambda: shared.switch_interval(None).__enter__(), "seconds", TypeError),
        (lambda: shared.label([float("nan")]), "shares", ValueError),
        (lambda: shared.label(None), "shares", TypeError),
        (lambda: shared.holds_overlap(None, "L"), "frame", TypeError),
    ],
)
def test_every_bad_argument_names_its_parameter(call, name, error):
    with pytest.raises(error, match=rf"^{name}(\[\d+\])?: "):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: shared.count("mutex", threads=True),
        lambda: shared.count("mutex", threads=2, increments=True),
        lambda: shared.lock_timeline(threads=True),
        lambda: shared.lock_timeline(hold_us=True),
        lambda: shared.two_locks("same", rounds=True),
        lambda: shared.false_sharing(threads=True),
        lambda: shared.false_sharing(repeats=True),
        lambda: shared.throughput(threads=(True,)),
        lambda: shared.run_threads(print, True),
        lambda: shared.switch_interval(True).__enter__(),
        lambda: shared._core.shared_false_sharing(1, 2, 10),  # a flag is True or False, not 1
    ],
)
def test_a_bool_is_not_a_number(call):
    with pytest.raises(TypeError, match="must be"):
        call()


def test_numpy_scalars_are_numbers():
    run = shared.count("fetch-add", threads=np.int64(2), increments=np.uint32(10))
    assert run["total"] == 20
    frame = shared.lock_timeline(np.int32(1), np.int64(2), np.float32(1.0), np.float64(1.0))
    assert frame.attrs["completed"] == 2


@pytest.mark.parametrize(
    ("call", "says"),
    [
        # The attack's example: ~15 days of lock holding.
        (lambda: shared.lock_timeline(64, 10_000, 2e6, 2e6), "14.8 days"),
        (lambda: shared.lock_timeline(64, 10_000, 2_000, 2_000), "21.3 min"),
        (lambda: shared.lock_timeline(1, 10_000, 0, 2e6), "5.6 h"),
        (lambda: shared.two_locks("opposite", 10_000, 0, 2_000), "5.6 h"),
        (lambda: shared.two_locks("same", 10_000, 2e6, 1), "11.1 h"),
    ],
)
def test_runs_that_would_take_hours_are_refused_before_they_start(call, says):
    # Refused by arithmetic, not by running: a test that started them would not end today.
    with pytest.raises(ValueError, match=r"^rounds: .*MAX_RUN") as refused:
        call()
    assert says in str(refused.value) and f"{shared._core.SHARED_MAX_RUN_S:.0f} s" in str(refused.value)


def test_counting_beyond_a_minute_is_refused_with_the_limit_named():
    with pytest.raises(ValueError, match=r"^increments: .*MAX_TOTAL_INCREMENTS"):
        shared.count("mutex", threads=64, increments=100_000_000)


def test_the_limits_and_names_come_from_the_core():
    from parlab import _core

    assert shared.COUNTERS == _core.COUNTERS == ("load-store", "fetch-add", "mutex", "per-thread")
    assert _core.LOCK_ORDERS == ("opposite", "same")
    assert shared.MAX_THREADS == _core.SHARED_MAX_THREADS == 64 and _core.MAX_THREADS == 1024
    shared.count("fetch-add", threads=shared.MAX_THREADS, increments=10)
    with pytest.raises(ValueError, match=rf"^threads: must be between 1 and {shared.MAX_THREADS}, got 65"):
        shared.count("fetch-add", threads=shared.MAX_THREADS + 1, increments=10)
    with pytest.raises(ValueError, match=r"^order: .*opposite"):
        shared.two_locks("backwards")


def test_span_log_refuses_negative_durations_and_foreign_times():
    log = shared.SpanLog()
    later = log.now() + 3600  # an hour from now: the span would end before it began
    for since, says in [(later, "negative duration"), (log.now() - 3600, "before this log started")]:
        with pytest.raises(ValueError, match=rf"^since: .*{says}"):
            log.add(0, "work", "L", since)
    for since in [float("nan"), None, "0", True]:
        with pytest.raises((TypeError, ValueError), match=r"^since: "):
            log.add(0, "work", "L", since)
    for name, kwargs in [
        ("thread_id", {"thread_id": -1}),
        ("thread_id", {"thread_id": True}),
        ("thread_id", {"thread_id": 2**63}),
        ("round", {"round": 1.5}),
        ("lock", {"lock": None}),
        ("timed_out", {"timed_out": 1}),
    ]:
        with pytest.raises((TypeError, ValueError), match=rf"^{name}: "):
            log.add(**{"thread_id": 0, "activity": "work", "lock": "L", "since": log.now(), **kwargs})
    assert len(log.frame()) == 0  # nothing refused was recorded
    log.add(0, "work", "L", log.now())
    assert (log.frame()["duration_us"] >= 0).all()


def test_throughput_has_a_row_per_counter_and_thread_count():
    frame = shared.throughput(counters=("mutex", "per-thread"), threads=(1, 2), increments=10_000, repeats=1)
    assert list(zip(frame["threads"], frame["counter"], strict=True)) == [
        (1, "mutex"),
        (1, "per-thread"),
        (2, "mutex"),
        (2, "per-thread"),
    ]
    assert (frame["per_second"] > 0).all() and (frame["lost"] == 0).all()


def test_the_lock_timeline_never_has_two_holders():
    frame = shared.lock_timeline(threads=3, rounds=20, work_us=10, hold_us=30)
    assert set(frame["activity"]) == {"work", "wait", "hold"}
    assert (frame["activity"] == "hold").sum() == 60
    assert not shared.holds_overlap(frame, "lock")
    assert frame.attrs["completed"] == 60 and frame.attrs["timeouts"] == 0
    holding = frame.loc[frame["activity"] == "hold", "duration_us"].sum()
    assert frame.attrs["elapsed_us"] >= holding >= 60 * 30


def test_opposite_lock_order_deadlocks_every_round_and_is_detected():
    frame = shared.two_locks("opposite", rounds=2, hold_us=500, timeout_ms=200)
    gave_up = frame[frame["timed_out"]]
    assert set(gave_up["round"]) == {0, 1}
    assert (gave_up["activity"] == "wait").all() and (gave_up["duration_us"] >= 200_000).all()
    # Thread 0 gave up waiting for B (it held A), thread 1 for A.
    assert all(lock == ("B" if t == 0 else "A") for t, lock in zip(gave_up["thread_id"], gave_up["lock"], strict=True))


def test_the_same_lock_order_never_deadlocks():
    frame = shared.two_locks("same", rounds=2, hold_us=500, timeout_ms=500)
    assert frame.attrs["timeouts"] == 0 and frame.attrs["completed"] == 4
    assert not shared.holds_overlap(frame, "A+B")


def test_false_sharing_counts_each_threads_own_counter():
    frame = shared.false_sharing(threads=2, increments=50_000, repeats=1).set_index("layout")
    assert frame.loc["same line", "stride_bytes"] == 8 and frame.loc["padded", "stride_bytes"] == 128
    assert all(totals == [50_000, 50_000] for totals in frame["totals"])
    line = shared.cache_line_bytes()
    assert line is None or 32 <= line <= 256


def test_switch_interval_is_restored_even_on_error():
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError), shared.switch_interval(1e-6):
        assert sys.getswitchinterval() == pytest.approx(1e-6)
        raise RuntimeError("boom")
    assert sys.getswitchinterval() == before


def test_run_threads_returns_in_order_and_reraises():
    before = set(threading.enumerate())  # earlier tests may leave library threads (e.g. Dask's)
    results = shared.run_threads(lambda i, k: (i * k, threading.current_thread().name), 3, 10)
    assert results == [(0, "parlab-0"), (10, "parlab-1"), (20, "parlab-2")]  # each on its own thread

    def fail(i):
        if i == 1:
            raise KeyError("thread 1")
        return i

    with pytest.raises(KeyError, match="thread 1"):
        shared.run_threads(fail, 2)
    assert set(threading.enumerate()) - before == set()


def test_span_log_records_python_threads():
    log = shared.SpanLog()
    lock = threading.Lock()

    def hold(i):
        t = log.now()
        with lock:
            log.add(i, "wait", "L", t)
            t = log.now()
            time.sleep(0.002)
            log.add(i, "hold", "L", t)

    shared.run_threads(hold, 3)
    frame = log.frame()
    assert len(frame) == 6 and frame.attrs["threads"] == 3 and not shared.holds_overlap(frame, "L")
    with pytest.raises(ValueError, match=r"^activity: "):
        log.add(0, "sleep", "L", log.now())


def test_plots_draw_the_measurements(tmp_path):
    counts = pd.DataFrame({"method": ["racy", "locked"], "expected": [100, 100], "total": [60, 100]})
    fig = plots.lost_updates(counts, title="lost")
    assert [t.get_text() for t in fig.axes[0].texts] == [" lost 40 of 100 (40%)", " none of 100 lost"]
    tp = shared.throughput(counters=("mutex", "fetch-add"), threads=(1, 2), increments=10_000, repeats=1)
    assert len(plots.throughput(tp).axes[0].lines) == 2
    stuck = shared.two_locks("opposite", rounds=1, hold_us=500, timeout_ms=50)
    fig = plots.lock_timeline(stuck, title="deadlock")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["work", "wait", "hold", "gave up"]
    assert any(p.get_hatch() == "xx" for p in fig.axes[0].patches)  # the wait that gave up
    fs = shared.false_sharing(threads=2, increments=10_000, repeats=1)
    assert len(plots.false_sharing(fs).axes[0].patches) == 2
    for name, figure in {"lock_timeline": fig, "false_sharing": plots.false_sharing(fs)}.items():
        figure.savefig(tmp_path / f"{name}.png")
    with pytest.raises(ValueError, match=r"^frame: "):
        plots.lock_timeline(stuck.iloc[0:0])


CHILD = textwrap.dedent(
    """
    import os
    from parlab import shared
    before = len(os.listdir("/proc/self/task"))
    print("ready", flush=True)
    try:
        shared.count("mutex", threads=2, increments=100_000_000)  # tens of seconds
    except KeyboardInterrupt:
        print("interrupted", len(os.listdir("/proc/self/task")) - before, flush=True)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads in /proc")
def test_sigint_stops_the_counting_threads():
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        assert child.poll() is None, "the count ended on its own"
        child.send_signal(signal.SIGINT)
        line = child.stdout.readline().split()
        assert child.wait(timeout=10) == 0
    finally:
        child.kill()
    assert line == ["interrupted", "0"]


def test_throughput_keeps_the_cpu_share_of_each_fastest_run():
    frame = shared.throughput(counters=("fetch-add",), threads=(1, 2), increments=10_000, repeats=2)
    assert "share" in frame and (frame["share"] >= 0).all()
    assert frame.attrs["label"].endswith("obtained during these runs")


def test_false_sharing_measured_compares_the_layouts_with_their_shares():
    frame, runs = shared.false_sharing_measured(threads=2, increments=20_000, rounds=1)
    assert list(frame["layout"]) == ["same line", "padded"]
    assert all(totals == [20_000, 20_000] for totals in frame["totals"])
    assert set(runs.variants) == {"1 thread", "apart", "same line", "padded"}
    assert runs.threads["same line"] == 2 and runs.threads["1 thread"] == 1
    assert frame.set_index("layout").loc["padded", "elapsed_us"] == pytest.approx(runs.best_s["padded"] * 1e6)
    with pytest.raises(ValueError, match=r"^threads: "):
        shared.false_sharing_measured(threads=1)


def test_label_says_what_the_runs_obtained(monkeypatch):
    from parlab import measure

    monkeypatch.setattr(measure, "allowed_cpus", lambda: 2)
    assert shared.label([0.5, 1.94]) == "1.9 of 2 CPUs obtained during these runs"
    assert shared.label([3.0]) == "2.0 of 2 CPUs obtained during these runs"  # never more than allowed
