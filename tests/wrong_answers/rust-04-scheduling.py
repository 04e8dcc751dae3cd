"""Wrong answers for notebooks/rust/04-scheduling.ipynb (format: tests/test_exercises.py)."""


def imbalance(body: str) -> str:
    return f"""fn work_imbalance(run: &RenderRun) -> f64 {{
{body}
}}"""


def split(body: str) -> str:
    return f"""fn best_split(costs: &[u64]) -> u64 {{
{body}
}}"""


PER_THREAD = """    let mut work = vec![0u64; run.threads];
    for r in &run.records {
        work[r.thread_id] += r.iterations;
    }
"""

WRONG = [
    {
        "name": "max over min instead of max over mean",
        "cells": {
            "rust04-work-imbalance": imbalance(
                PER_THREAD + "    *work.iter().max().unwrap() as f64 / *work.iter().min().unwrap() as f64"
            )
        },
        "fails": {"rust04-work-imbalance-test": "work_imbalance"},
    },
    {
        "name": "time instead of work (busy time per thread)",
        "cells": {
            "rust04-work-imbalance": imbalance(
                """    let mut busy = vec![0.0; run.threads];
    for r in &run.records {
        busy[r.thread_id] += r.duration_us;
    }
    let mean = busy.iter().sum::<f64>() / run.threads as f64;
    busy.iter().copied().fold(0.0, f64::max) / mean"""
            )
        },
        "fails": {"rust04-work-imbalance-test": "the most iterations of one thread over the mean"},
    },
    {
        "name": "typed-in constant",
        "cells": {"rust04-work-imbalance": imbalance("    let _ = run;\n    1.0")},
        "fails": {"rust04-work-imbalance-test": "work_imbalance"},
    },
    {
        "name": "mean over one thread too many (off by one)",
        "cells": {
            "rust04-work-imbalance": imbalance(
                PER_THREAD
                + "    let mean = work.iter().sum::<u64>() as f64 / (run.threads + 1) as f64;\n"
                + "    *work.iter().max().unwrap() as f64 / mean"
            )
        },
        "fails": {"rust04-work-imbalance-test": "work_imbalance"},
    },
    {
        "name": "greedy: each task to the lighter thread (not the best split)",
        "cells": {
            "rust04-best-split": split(
                """    let (mut a, mut b) = (0, 0);
    for &c in costs {
        if a <= b { a += c } else { b += c }
    }
    a.max(b)"""
            )
        },
        "fails": {"rust04-best-split-test": "3 + 3 against 2 + 2 + 2"},
    },
    {
        "name": "half the total, rounded up (ignores that tasks are indivisible)",
        "cells": {"rust04-best-split": split("    costs.iter().sum::<u64>().div_ceil(2)")},
        "fails": {"rust04-best-split-test": "the 10 alone on one thread"},
    },
    {
        "name": "the largest task only",
        "cells": {"rust04-best-split": split("    costs.iter().copied().max().unwrap_or(0)")},
        "fails": {"rust04-best-split-test": "3 + 3 against 2 + 2 + 2"},
    },
    {
        "name": "off by one: only n masks tried, not 2^n",
        "cells": {
            "rust04-best-split": split(
                """    let total: u64 = costs.iter().sum();
    (0..costs.len() as u64)
        .map(|mask| {
            let mine: u64 = costs.iter().enumerate().filter(|(i, _)| mask >> i & 1 == 1).map(|(_, c)| c).sum();
            mine.max(total - mine)
        })
        .min()
        .unwrap_or(0)"""
            )
        },
        # the measured run may catch it first: its busier thread beat the "best" split
        "fails": {"rust04-best-split-test": ("[5, 5]: one task each", "less than your best split")},
    },
]
