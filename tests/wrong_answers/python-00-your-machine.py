"""Wrong answers for notebooks/python/00-your-machine.ipynb (format: tests/test_exercises.py)."""

EFFECTIVE_TEST = "00-effective-test"
SHARE_TEST = "00-cpu-share-test"


def effective(body: str) -> str:
    return f"import math\n\n\ndef effective(visible, cpu_max):\n{body}\n"


def share_cell(cpu_share: str, predict: str = "    return min(float(threads), probe.available_parallelism_now)") -> str:
    return f"""def cpu_share(fn):
{cpu_share}


def predict_share(probe, threads):
{predict}


def render_k():
    return parlab.render(threads=K, kernel="scalar", strategy="dynamic")


my_prediction = predict_share(probe, K)
measured_share = cpu_share(render_k)
"""


GOOD_SHARE = """    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.process_time() - cpu) / (time.perf_counter() - wall)"""

WRONG = [
    {
        "name": "ceiling rounded up like the thread count (off by a fraction)",
        "cells": {
            "00-effective": effective(
                """    allowed, period = cpu_max.split()
    if allowed == "max":
        return None, visible, float(visible)
    quota = int(allowed) / int(period)
    return quota, min(visible, math.ceil(quota)), float(min(visible, math.ceil(quota)))"""
            )
        },
        "fails": {EFFECTIVE_TEST: "1.5 CPUs of time need 2 threads"},
    },
    {
        "name": "quota not capped by the visible CPUs",
        "cells": {
            "00-effective": effective(
                """    allowed, period = cpu_max.split()
    if allowed == "max":
        return None, visible, float(visible)
    quota = int(allowed) / int(period)
    return quota, math.ceil(quota), quota"""
            )
        },
        "fails": {EFFECTIVE_TEST: "a quota beyond the visible CPUs is capped"},
    },
    {
        "name": "typed-in constants for the example",
        "cells": {"00-effective": effective("    return 1.5, 2, 1.5")},
        "fails": {EFFECTIVE_TEST: "'max' means no quota"},
    },
    {
        "name": "wall time over CPU time (inverted)",
        "cells": {
            "00-cpu-share": share_cell(
                """    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) / max(time.process_time() - cpu, 1e-9)"""
            )
        },
        "fails": {SHARE_TEST: "has share 1.5"},
    },
    {
        "name": "thread_time: only the calling thread's CPU, not the Rust threads'",
        "cells": {
            "00-cpu-share": share_cell(
                """    wall, cpu = time.perf_counter(), time.thread_time()
    fn()
    return (time.thread_time() - cpu) / (time.perf_counter() - wall)"""
            )
        },
        "fails": {SHARE_TEST: "has share 1.5"},
    },
    {
        "name": "timed the function twice (wall in one call, CPU in another)",
        "cells": {
            "00-cpu-share": share_cell(
                """    wall = time.perf_counter()
    fn()
    wall = time.perf_counter() - wall
    cpu = time.process_time()
    fn()
    return (time.process_time() - cpu) / wall"""
            )
        },
        "fails": {SHARE_TEST: "must call fn exactly once"},
    },
    {
        "name": "typed-in share",
        "cells": {"00-cpu-share": share_cell("    fn()\n    return 1.0")},
        "fails": {SHARE_TEST: "has share 1.5"},
    },
    {
        "name": "typed-in prediction (the number read off the card)",
        "cells": {"00-cpu-share": share_cell(GOOD_SHARE, "    return 1.39")},
        "fails": {SHARE_TEST: "predict 1.4, got 1.39"},
    },
    {
        "name": "prediction ignores the number of threads",
        "cells": {"00-cpu-share": share_cell(GOOD_SHARE, "    return probe.available_parallelism_now")},
        "fails": {SHARE_TEST: "1 thread(s) on 2 CPU(s) with 1.4 free: predict 1.0"},
    },
    {
        "name": "prediction from what is allowed, not what is free",
        "cells": {"00-cpu-share": share_cell(GOOD_SHARE, "    return float(min(threads, probe.allowed))")},
        "fails": {SHARE_TEST: "predict 1.4, got 2.0"},
    },
    {
        "name": "prediction rounded to whole CPUs (available_now)",
        "cells": {"00-cpu-share": share_cell(GOOD_SHARE, "    return float(min(threads, probe.available_now))")},
        "fails": {SHARE_TEST: "with 1.4 free: predict 1.4"},
    },
]
