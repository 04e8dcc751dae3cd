"""`parlab.contention()`: what the process can get now, checked against machines we make
busy or small on purpose (a child pinned to one CPU, a child beside a spinning process).
The assertions are on the measured CPU/wall ratio with wide margins, never on a duration."""

import os
import shutil
import subprocess
import sys

import pytest

import parlab

PROBE = "import parlab; print(parlab.contention().available_parallelism_now)"


def allowed_cpus():
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def probe_on(cpus):
    """available_parallelism_now measured by a child process allowed on `cpus` only."""
    cpu_list = ",".join(map(str, cpus))
    out = subprocess.run(["taskset", "-c", cpu_list, sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return float(out.stdout)


needs_taskset = pytest.mark.skipif(shutil.which("taskset") is None, reason="needs taskset (util-linux)")


def test_probe_fields_card_and_dict():
    probe = parlab.contention()
    info = parlab.hardware()
    assert probe.allowed == probe.threads_probed == info.effective_parallelism
    # CPU time per wall time of `allowed` threads: positive, and not more than the threads that ran
    # (a little slack: the process's CPU clock and the wall clock tick differently).
    assert 0 < probe.available_parallelism_now <= probe.allowed * 1.1 + 0.05
    assert probe.available_now == max(1, round(probe.available_parallelism_now))
    assert f"{probe.allowed} CPU" in probe.summary
    assert f"about {probe.available_parallelism_now:.1f} free" in probe.summary
    if os.path.exists("/proc/stat"):
        assert 0 <= probe.others_busy <= 1 and 0 <= probe.steal <= 1
        assert len(probe.load_average) == 3
    card = probe._repr_html_()
    assert "parlab-contention" in card and "available right now" in card
    assert "during it: other programs" in card and "this process asleep" in card
    fields = probe.to_dict()
    assert fields["available_parallelism_now"] == probe.available_parallelism_now
    assert fields["busy"] == (probe.available_parallelism_now < 0.8 * probe.allowed)


def test_the_card_adds_up_this_process_others_and_idle_to_the_cpus_allowed():
    probe = parlab.contention()
    if probe.others_during_spin is None:
        pytest.skip("needs /proc/stat")
    assert 0 <= probe.others_during_spin <= probe.allowed - probe.available_parallelism_now + 1e-9
    card = probe._repr_html_()
    idle = max(0.0, probe.allowed - probe.available_parallelism_now - probe.others_during_spin)
    assert f"{probe.others_during_spin:.2f} CPUs" in card and f"{idle:.2f} CPUs" in card


def test_one_cpu_allowed_is_the_explanation_even_when_others_compete():
    from parlab.contention import _summary

    for now in (0.3, 0.6, 0.95):
        text = _summary(1, now, None)
        assert text.startswith(f"1 CPU allowed, about {now:.1f} free right now")
        assert "take turns" in text and "no speedup" in text, text
        assert "expect at most" not in text, text
    assert "other programs are using the rest" in _summary(2, 0.9, None)
    assert "speed up by up to about 1.9" in _summary(2, 1.9, None)


def test_the_spin_is_measured_by_measure_run_share(monkeypatch):
    import importlib

    from parlab import measure

    module = importlib.import_module("parlab.contention")  # the module: `parlab.contention` is the function

    seen = []

    def spy(fn):
        result, run = measure.run_share(fn)
        seen.append(run)
        return result, run

    monkeypatch.setattr(module, "run_share", spy)
    probe = parlab.contention(spin_ms=20, quiet_ms=0)
    assert len(seen) == 1 and probe.available_parallelism_now == round(seen[0].share, 3)


@pytest.mark.parametrize(
    ("args", "error", "name"),
    [
        (dict(spin_ms=0), ValueError, "spin_ms"),
        (dict(spin_ms="long"), TypeError, "spin_ms"),
        (dict(quiet_ms=-1), ValueError, "quiet_ms"),
        (dict(quiet_ms=10_000), ValueError, "quiet_ms"),
        (dict(cpus=0), ValueError, "cpus"),
        (dict(cpus=1.5), TypeError, "cpus"),
    ],
)
def test_bad_arguments(args, error, name):
    with pytest.raises(error, match=name):
        parlab.contention(**args)


@needs_taskset
@pytest.mark.skipif(not allowed_cpus(), reason="needs CPU affinity (Linux)")
def test_pinned_to_one_cpu_it_reports_at_most_one():
    assert probe_on(allowed_cpus()[:1]) <= 1.2


@pytest.mark.skipif(not allowed_cpus(), reason="needs CPU affinity (Linux)")
def test_cpus_narrows_the_probe_and_restores_the_affinity():
    before = os.sched_getaffinity(0)
    probe = parlab.contention(cpus=1)
    assert probe.allowed == probe.threads_probed == 1 and probe.available_parallelism_now <= 1.2
    assert os.sched_getaffinity(0) == before


@needs_taskset
@pytest.mark.skipif(len(allowed_cpus()) < 2, reason="needs 2 CPUs")
def test_with_one_of_two_cpus_kept_busy_it_reports_clearly_less_than_two():
    cpus = allowed_cpus()[:2]
    # Another program spinning on one of the two CPUs: two probe threads and the spinner share
    # two CPUs, so the probe gets about 1.3–1.5 of them, however quiet the rest of the machine.
    spinner = subprocess.Popen(["taskset", "-c", str(cpus[0]), sys.executable, "-c", "while True: pass"])
    try:
        available = probe_on(cpus)
    finally:
        spinner.kill()
        spinner.wait()
    assert available < 1.75, available
