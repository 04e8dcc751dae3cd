"""Wrong answers for notebooks/rust/02-fib-threads-rayon.ipynb (format: tests/test_exercises.py)."""


def split(body: str) -> str:
    return f"""/// fib(n) for n ≥ 2: fib(n - 1) on a scoped thread while this thread computes fib(n - 2).
fn fib_split(n: u32, fib: &(impl Fn(u32) -> u64 + Sync)) -> u64 {{
{body}
}}"""


def efficiency(body: str) -> str:
    return f"""fn efficiency(times: &[(usize, f64)]) -> Vec<(usize, f64)> {{
{body}
}}"""


def span(body: str) -> str:
    return f"""/// The span of fib_join(n, cutoff) in fib calls, for cutoff ≥ 1.
fn span(n: u32, cutoff: u32) -> u64 {{
{body}
}}"""


def span_above(leaf: str, above: str) -> str:
    return span(f"    if n <= cutoff {{ {leaf} }} else {{ {above} }}")


RECURSE = "1 + span(n - 1, cutoff).max(span(n - 2, cutoff))"


NOT_TOGETHER = "never had 2 fib calls in progress at once"

WRONG = [
    {
        "name": "one thread: both halves on the calling thread",
        "cells": {"rust02-split": split("    fib(n - 1) + fib(n - 2)")},
        "fails": {"rust02-split-test": "ran on 1 thread(s)"},
    },
    {
        "name": "start-then-join: the thread is joined before the other half starts",
        "cells": {
            "rust02-split": split(
                """    std::thread::scope(|s| {
        let left = s.spawn(|| fib(n - 1)).join().unwrap();
        left + fib(n - 2)
    })"""
            )
        },
        "fails": {"rust02-split-test": NOT_TOGETHER},
    },
    {
        "name": "lock-serialised: both halves inside one mutex",
        "cells": {
            "rust02-split": split(
                """    let lock = std::sync::Mutex::new(());
    std::thread::scope(|s| {
        let left = s.spawn(|| { let _g = lock.lock().unwrap(); fib(n - 1) });
        let right = { let _g = lock.lock().unwrap(); fib(n - 2) };
        left.join().unwrap() + right
    })"""
            )
        },
        "fails": {"rust02-split-test": NOT_TOGETHER},
    },
    {
        "name": "ignores the fib it is given (the crate's own, never observed)",
        "cells": {
            "rust02-split": split(
                """    std::thread::scope(|s| {
        let left = s.spawn(|| parlab_core::workloads::fib(n - 1));
        let right = parlab_core::workloads::fib(n - 2);
        left.join().unwrap() + right
    })"""
            )
        },
        "fails": {"rust02-split-test": "called the `fib` it was given 0 time(s)"},
    },
    {
        "name": "off by one: the halves are fib(n) and fib(n - 1)",
        "cells": {
            "rust02-split": split(
                """    std::thread::scope(|s| {
        let left = s.spawn(|| fib(n));
        let right = fib(n - 1);
        left.join().unwrap() + right
    })"""
            )
        },
        "fails": {"rust02-split-test": "fib_split(2) returned"},
    },
    {
        "name": "speedup instead of efficiency (not divided by the threads)",
        "cells": {
            "rust02-efficiency": efficiency(
                """    let base = times[0].1;
    times.iter().map(|&(k, t)| (k, base / t)).collect()"""
            )
        },
        "fails": {"rust02-efficiency-test": "efficiency at k threads"},
    },
    {
        "name": "typed-in constants",
        "cells": {"rust02-efficiency": efficiency("    vec![(1, 1.0), (2, 1.0), (4, 0.5)]")},
        "fails": {"rust02-efficiency-test": "one (threads, efficiency) per measured"},
    },
    {
        "name": "off by one: the 2-thread time as the base",
        "cells": {
            "rust02-efficiency": efficiency(
                """    let base = times[1].1;
    times.iter().map(|&(k, t)| (k, base / t / k as f64)).collect()"""
            )
        },
        "fails": {"rust02-efficiency-test": "efficiency at k threads"},
    },
    {
        "name": "inverted: time at k over time at 1",
        "cells": {
            "rust02-efficiency": efficiency(
                """    let base = times[0].1;
    times.iter().map(|&(k, t)| (k, t / base / k as f64)).collect()"""
            )
        },
        "fails": {"rust02-efficiency-test": "efficiency at k threads"},
    },
    {
        "name": "both halves added: that is the work",
        "cells": {"rust02-span": span_above("2 * fib(n) - 1", "1 + span(n - 1, cutoff) + span(n - 2, cutoff)")},
        "fails": {"rust02-span-test": "that is the work, every call"},
    },
    {
        "name": "the sequential fib's calls, whatever the cutoff",
        "cells": {"rust02-span": span("    2 * fib(n) - 1")},
        "fails": {"rust02-span-test": "that is the work, every call"},
    },
    {
        "name": "a leaf counted as one call",
        "cells": {"rust02-span": span_above("1", RECURSE)},
        "fails": {"rust02-span-test": "at the cutoff a call is one sequential strand"},
    },
    {
        "name": "a leaf counted as fib(n), its value, not its calls",
        "cells": {"rust02-span": span_above("fib(n)", RECURSE)},
        "fails": {"rust02-span-test": "at the cutoff a call is one sequential strand"},
    },
    {
        "name": "the fork's own call left out",
        "cells": {"rust02-span": span_above("2 * fib(n) - 1", "span(n - 1, cutoff).max(span(n - 2, cutoff))")},
        "fails": {"rust02-span-test": "its own call (1), then the larger half"},
    },
    {
        "name": "the smaller half",
        "cells": {"rust02-span": span_above("2 * fib(n) - 1", "1 + span(n - 1, cutoff).min(span(n - 2, cutoff))")},
        "fails": {"rust02-span-test": "its own call (1), then the larger half"},
    },
]
