"""Wrong answers for notebooks/rust/01-tiles-and-threads.ipynb (format: tests/test_exercises.py)."""


def owner(body: str) -> str:
    return f"""/// The thread that renders tile `task` when `Static` splits `tiles` tiles over `threads` threads.
fn static_owner(task: usize, tiles: usize, threads: usize) -> usize {{
    {body}
}}"""


def idle(body: str) -> str:
    return f"""/// Milliseconds each thread of `run` spent not rendering.
fn idle_ms(run: &RenderRun) -> Vec<f64> {{
{body}
}}"""


WRONG = [
    {
        "name": "interleaved instead of contiguous chunks",
        "cells": {"rust01-static-owner": owner("task % threads")},
        "fails": {"rust01-static-owner-test": "Static on 2 threads"},
    },
    {
        "name": "chunk size rounded down (off by one at the end)",
        "cells": {"rust01-static-owner": owner("(task / (tiles / threads)).min(threads)")},
        "fails": {"rust01-static-owner-test": "10 tiles over 3 threads"},
    },
    {
        "name": "off by one: (task + 1) / chunk",
        "cells": {"rust01-static-owner": owner("(task + 1) / tiles.div_ceil(threads)")},
        "fails": {"rust01-static-owner-test": "you say thread"},
    },
    {
        "name": "typed-in halves for 2 threads",
        "cells": {"rust01-static-owner": owner("if task < tiles / 2 { 0 } else { 1 }")},
        "fails": {"rust01-static-owner-test": "10 tiles over 3 threads"},
    },
    {
        "name": "idle from wall time: only the time after a thread's last tile",
        "cells": {
            "rust01-idle": idle(
                """    (0..run.threads)
        .map(|t| {
            let last = run.records.iter().filter(|r| r.thread_id == t).map(|r| r.end_us()).fold(0.0, f64::max);
            (run.elapsed_us - last) / 1e3
        })
        .collect()"""
            )
        },
        "fails": {"rust01-idle-test": "idle ms per thread"},
    },
    {
        "name": "microseconds, not milliseconds",
        "cells": {
            "rust01-idle": idle(
                """    let mut busy = vec![0.0; run.threads];
    for r in &run.records {
        busy[r.thread_id] += r.duration_us;
    }
    busy.iter().map(|b| run.elapsed_us - b).collect()"""
            )
        },
        "fails": {"rust01-idle-test": "idle ms per thread"},
    },
    {
        "name": "busy time instead of idle time",
        "cells": {
            "rust01-idle": idle(
                """    let mut busy = vec![0.0; run.threads];
    for r in &run.records {
        busy[r.thread_id] += r.duration_us / 1e3;
    }
    busy"""
            )
        },
        "fails": {"rust01-idle-test": "idle ms per thread"},
    },
    {
        "name": "only the threads that rendered a tile (one entry too few when a thread got none)",
        "cells": {
            "rust01-idle": idle(
                """    let threads = run.records.iter().map(|r| r.thread_id + 1).max().unwrap_or(0).max(2) - 1;
    let mut busy = vec![0.0; threads];
    for r in run.records.iter().filter(|r| r.thread_id < threads) {
        busy[r.thread_id] += r.duration_us;
    }
    busy.iter().map(|b| (run.elapsed_us - b) / 1e3).collect()"""
            )
        },
        "fails": {"rust01-idle-test": "idle ms per thread"},
    },
]
