"""Speedup sweeps and the laws fitted to them: Amdahl (strong scaling), Gustafson (weak
scaling), Karp–Flatt, and the rule that a law is fitted only on enough thread counts that the
machine can really run at once. The sweeps time fake workloads on a fake clock that advances
by the durations we set (and a CPU clock that advances by the CPUs we say the run got), so no
assertion depends on this machine's speed or load."""

import math

import pytest

from parlab import measure, plots, speedup


class FakeClock:
    now = 0.0
    cpu = 0.0

    def perf_counter(self):
        return self.now

    def process_time(self):
        return self.cpu

    def sleep(self, seconds, cpus=1.0):
        """`seconds` of wall time during which the process got `cpus` CPUs."""
        self.now += seconds
        self.cpu += seconds * cpus


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(measure, "time", fake)
    monkeypatch.setattr(measure, "allowed_cpus", lambda: 4)
    return fake


@pytest.fixture
def fake_amdahl(clock):
    def make(serial_s, parallel_s):
        """A workload taking serial_s + parallel_s / k seconds on k threads."""
        return lambda k: clock.sleep(serial_s + parallel_s / k)

    return make


def test_laws_and_karp_flatt():
    assert speedup.amdahl(1, 0.3) == pytest.approx(1.0)
    assert speedup.amdahl(4, 0.0) == pytest.approx(4.0)
    assert speedup.amdahl(16, 0.05) == pytest.approx(9.14, abs=0.01)
    assert speedup.gustafson(1, 0.3) == pytest.approx(1.0)
    assert speedup.gustafson(4, 0.25) == pytest.approx(3.25)
    assert speedup.karp_flatt(4, speedup.amdahl(4, 0.2)) == pytest.approx(0.2)
    assert math.isnan(speedup.karp_flatt(1, 1.0))
    assert speedup.fit_gustafson([2, 4, 8], [speedup.gustafson(k, 0.1) for k in (2, 4, 8)]) == pytest.approx(0.1)


def test_fit_needs_two_counts_above_one_within_the_cpus(fake_amdahl):
    work = fake_amdahl(0.02, 0.08)  # serial fraction 0.2, by construction
    one = speedup.sweep(work, threads=(1, 2, 4), repeats=1, fit_up_to=2)
    assert one.serial_fraction is None and one.fitted_threads == (2,)
    assert "cannot fit Amdahl's law on this machine" in one.fit_note
    assert one.table["amdahl"].isna().all() and math.isnan(one.amdahl(2))
    # Each point still has its own estimate: Karp–Flatt at k = 2 gives the true 0.2.
    assert one.table.set_index("threads").loc[2, "karp_flatt"] == pytest.approx(0.2)

    fitted = speedup.sweep(work, threads=(1, 2, 4), repeats=1, fit_up_to=4)
    assert fitted.fitted_threads == (2, 4) and fitted.fitted
    assert fitted.serial_fraction == pytest.approx(0.2), fitted.fit_note
    assert "fitted on 2, 4 threads" in fitted.fit_note


def test_weak_sweep_scales_the_problem_and_fits_gustafson(clock):
    calls = []

    def grow(size, k):
        calls.append((size, k))
        clock.sleep(0.02 + 0.04 * size / k)  # a serial 20 ms, then 40 ms of work per size unit

    result = speedup.weak_sweep(grow, threads=(1, 2, 4), repeats=1, fit_up_to=4)
    assert (4, 1) in calls and (4, 4) in calls and (2, 2) in calls
    assert result.law == "gustafson" and result.fitted_threads == (2, 4)
    # On 4 threads: 1 thread would take 0.02 + 0.16, 4 threads 0.02 + 0.04: scaled speedup 3.
    assert result.table.set_index("threads").loc[4, "speedup"] == pytest.approx(3.0)
    # On k threads the serial 20 ms is a third of the 60 ms: Gustafson's s is 1/3 exactly.
    assert result.serial_fraction == pytest.approx(1 / 3)
    assert speedup.weak_sweep(grow, threads=(1, 2), repeats=1, fit_up_to=2).serial_fraction is None


def test_bad_arguments():
    with pytest.raises(TypeError, match="fn"):
        speedup.weak_sweep(42)
    with pytest.raises(ValueError, match="fit_up_to"):
        speedup.sweep(lambda k: None, threads=(1,), fit_up_to=0)
    with pytest.raises(ValueError, match="threads"):
        speedup.weak_sweep(lambda n, k: None, threads=())


def test_scaling_plot_draws_the_fit_or_says_why_not(fake_amdahl):
    work = fake_amdahl(0.005, 0.02)
    none = speedup.sweep(work, threads=(1, 2, 4), repeats=1, fit_up_to=2)
    fig = plots.scaling(none, cpus=2, known_serial_fraction=0.2)
    assert not any(
        "known" in line.get_label()
        for line in plots.scaling(none, cpus=1, known_serial_fraction=0.2).axes[0].get_lines()
    )  # nothing to predict up to 1 CPU
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert not any("fit" in label for label in labels) and any("known serial part" in label for label in labels)
    assert any("cannot fit" in text.get_text() for text in fig.axes[0].texts)
    fitted = speedup.sweep(work, threads=(1, 2, 4), repeats=1, fit_up_to=4)
    labels = [line.get_label() for line in plots.scaling(fitted).axes[0].get_lines()]
    assert any("Amdahl fit on 2, 4 threads" in label for label in labels)


def test_each_point_records_its_cpu_share_and_the_ceiling_it_permits(clock, monkeypatch):
    # 1 thread got half a CPU (others were running), 2 threads a whole one, 4 threads two:
    # the same CPU work each time.
    got = {1: 0.5, 2: 1.0, 4: 2.0}
    result = speedup.sweep(lambda k: clock.sleep(1.0 / got[k], cpus=got[k]), threads=(1, 2, 4), repeats=3)
    table = result.table.set_index("threads")
    assert table["share"].to_dict() == pytest.approx(got)
    assert table["ceiling"].to_dict() == pytest.approx({1: 1.0, 2: 2.0, 4: 4.0})
    assert table.loc[4, "speedup"] == pytest.approx(4.0)  # all of it from the share
    assert result.allowed == 4 and result.cpus_obtained == pytest.approx(2.0)
    assert result.label == "2.0 of 4 CPUs obtained during these runs"
    assert result.situation() == "busy"  # the baseline got only half a CPU
    monkeypatch.setattr(measure, "allowed_cpus", lambda: 1)
    pinned = speedup.sweep(lambda k: clock.sleep(1.0 / got[k], cpus=got[k]), threads=(1, 2, 4), repeats=1)
    assert pinned.situation() == "one-cpu"  # one CPU allowed: that is the explanation, not "busy"
    assert pinned.label.endswith("of 1 CPU obtained during these runs")


def test_situation_compares_the_shares_with_what_the_law_allows(clock):
    def free_amdahl(k):  # serial 0.2 s on one CPU, then 0.8 s shared by k free CPUs
        clock.sleep(0.2, cpus=1)
        clock.sleep(0.8 / k, cpus=k)

    result = speedup.sweep(free_amdahl, threads=(1, 2, 4), repeats=1, fit_up_to=4)
    assert result.table.set_index("threads").loc[2, "share"] == pytest.approx(speedup.amdahl(2, 0.2))
    assert result.situation(0.2) == "free"
    assert result.situation(0.0) == "busy"  # a perfectly parallel job would have used 2 CPUs


def test_karp_flatt_is_shown_only_where_it_can_be_a_serial_fraction(clock):
    times = {1: 1.0, 2: 0.6, 4: 1.5, 8: 2.0}  # 4 threads slower than one: a disturbed run
    result = speedup.sweep(lambda k: clock.sleep(times[k]), threads=(1, 2, 4, 8), repeats=1, fit_up_to=4)
    e = result.table.set_index("threads")["karp_flatt"]
    assert e[2] == pytest.approx(speedup.karp_flatt(2, 1 / 0.6)) and math.isnan(e[4]) and math.isnan(e[8])
    assert speedup.karp_flatt(4, 1 / 1.5) > 1  # what would have been shown: above 100 %
    note = result.karp_flatt_note
    assert "4 (0.67×) threads: slower than one thread" in note and "8 (0.50×) threads: more threads than" in note


def test_weak_scaling_at_one_thread_is_the_baseline_itself(clock):
    calls = []

    def grow(size, k):
        calls.append((size, k))
        clock.sleep(0.1 * size / k, cpus=k)

    result = speedup.weak_sweep(grow, threads=(1, 2), repeats=2)
    table = result.table.set_index("threads")
    assert calls.count((1, 1)) == 3  # a warm-up and two runs, not timed a second time as its own baseline
    assert table.loc[1, "speedup"] == 1.0 and table.loc[1, "ceiling"] == 1.0
    assert table.loc[2, "share"] == pytest.approx(2.0) and table.loc[2, "one_thread_share"] == pytest.approx(1.0)
    assert table.loc[2, "ceiling"] == pytest.approx(2.0)


def test_shares_note_says_why_a_point_is_above_or_below_one(clock):
    got = {1: 1.0, 2: 0.5, 4: 1.0}
    result = speedup.sweep(
        lambda k: clock.sleep(1.0 / got[k] * (1.25 if k == 4 else 1), cpus=got[k]), threads=(1, 2, 4)
    )
    assert (
        result.shares_note(2)
        == "2 threads: 0.50× with 0.50 CPU, the baseline 1.00 (its runs got less CPU than their baseline's)"
    )
    assert "switching the threads cost" in result.shares_note(4)
