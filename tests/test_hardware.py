"""parlab.hardware() agrees with what Linux says, and respects taskset."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import parlab

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture(scope="module")
def info():
    return parlab.hardware()


def test_card_has_the_documented_fields(info):
    d = info.to_dict()
    for key in [
        "cpu_model", "cpu_vendor", "architecture", "logical_cpus", "physical_cores", "threads_per_core",
        "sockets", "numa_nodes", "affinity_cpus", "cpu_quota", "effective_parallelism",
        "base_frequency_mhz", "max_frequency_mhz", "current_frequency_mhz", "caches",
        "memory_total", "memory_available", "memory_limit", "simd", "os", "os_name", "kernel",
        "in_container", "in_ci", "on_binder", "python", "max_speedup", "summary",
    ]:  # fmt: skip
        assert key in d, key
        assert getattr(info, key) == d[key]
    assert set(d["simd"]) == {"sse2", "avx", "avx2", "fma", "avx512f", "neon"}
    assert set(d["python"]) == {"version", "implementation", "free_threaded", "gil_enabled"}
    json.dumps(d)  # JSON-ready


def test_views(info):
    assert info.summary in str(info)
    assert info._repr_html_().startswith("<table")
    assert "effective_parallelism=" in repr(info)
    assert "logical_cpus" in dir(info)
    with pytest.raises(AttributeError):
        info.no_such_field  # noqa: B018


def test_python_facts(info):
    import platform

    assert info.python["version"] == platform.python_version()
    assert info.python["implementation"] == platform.python_implementation()
    expected = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    assert info.python["gil_enabled"] is expected


def test_effective_parallelism_is_renders_default(info):
    assert 1 <= info.effective_parallelism <= info.logical_cpus
    assert info.effective_parallelism == parlab.default_threads()
    assert parlab.render(width=16, height=16, tile_w=8, tile_h=8, max_iter=10).threads == info.effective_parallelism
    assert 1.0 <= info.max_speedup <= info.effective_parallelism


@linux
def test_agrees_with_proc_cpuinfo(info):
    text = Path("/proc/cpuinfo").read_text()
    processors = [line for line in text.splitlines() if line.startswith("processor")]
    assert info.logical_cpus == len(processors)
    models = {line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")}
    if models:
        assert info.cpu_model in models
    pairs = set()
    for block in text.split("\n\n"):
        fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        if "physical id" in fields and "core id" in fields:
            pairs.add((fields["physical id"], fields["core id"]))
    if pairs and info.physical_cores is not None:
        assert info.physical_cores == len(pairs)


@linux
def test_agrees_with_sched_getaffinity(info):
    assert info.affinity_cpus == len(os.sched_getaffinity(0))


@linux
def test_agrees_with_proc_meminfo(info):
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    assert info.memory_total == int(meminfo["MemTotal"].split()[0]) * 1024
    # Available memory moves; it must be the same order of magnitude as a fresh read.
    available = int(meminfo["MemAvailable"].split()[0]) * 1024
    assert 0.5 * available < info.memory_available < 2 * available


@linux
@pytest.mark.skipif(shutil.which("taskset") is None, reason="needs taskset (util-linux)")
def test_taskset_one_cpu_gives_effective_parallelism_one():
    code = (
        "import parlab; h = parlab.hardware(); "
        "r = parlab.render(width=32, height=32, tile_w=8, tile_h=8, max_iter=10); "
        "print(h.affinity_cpus, h.effective_parallelism, r.threads, h.max_speedup)"
    )
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1", "1", "1.0"]
