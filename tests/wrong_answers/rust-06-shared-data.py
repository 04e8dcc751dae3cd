"""Wrong answers for notebooks/rust/06-shared-data.ipynb (format: tests/test_exercises.py)."""


def add_up(body: str) -> str:
    return f"""fn add_up(counter: &WatchedAtomic, threads: usize, increments: u64) {{
{body}
}}"""


ON_THREADS = """    std::thread::scope(|s| {{
        for _ in 0..threads {{
            s.spawn(|| {{
{inner}
            }});
        }}
    }});"""

WRONG = [
    {
        "name": "check-then-act race: load, then store",
        "cells": {
            "fix-race": add_up(
                ON_THREADS.format(
                    inner="""                for _ in 0..increments {
                    let n = counter.load(Relaxed);
                    counter.store(n + 1, Relaxed);
                }"""
                )
            )
        },
        "fails": {"fix-race-test": "a load then a store is two steps"},
    },
    {
        "name": "one thread does every increment",
        "cells": {
            "fix-race": add_up(
                """    for _ in 0..threads as u64 * increments {
        counter.fetch_add(1, Relaxed);
    }"""
            )
        },
        "fails": {"fix-race-test": "only 1 thread(s) used the counter, expected 4"},
    },
    {
        "name": "one fetch_add of the whole total",
        "cells": {"fix-race": add_up("    counter.fetch_add(threads as u64 * increments, Relaxed);")},
        "fails": {"fix-race-test": "only 1 thread(s) used the counter"},
    },
    {
        "name": "start-then-join: each thread joined before the next starts",
        "cells": {
            "fix-race": add_up(
                """    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..increments {
                    counter.fetch_add(1, Relaxed);
                }
            }).join().unwrap();
        }
    });"""
            )
        },
        "fails": {"fix-race-test": "never used the counter at the same time"},
    },
    {
        "name": "lock-serialised: each thread's whole loop inside one mutex",
        "cells": {
            "fix-race": add_up(
                """    let lock = std::sync::Mutex::new(());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let _only_me = lock.lock().unwrap();
                for _ in 0..increments {
                    counter.fetch_add(1, Relaxed);
                }
            });
        }
    });"""
            )
        },
        "fails": {"fix-race-test": "never used the counter at the same time"},
    },
    {
        "name": "off by one: threads - 1 threads",
        "cells": {
            "fix-race": add_up(
                """    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(|| {
                for _ in 0..increments {
                    counter.fetch_add(1, Relaxed);
                }
            });
        }
    });"""
            )
        },
        "fails": {"fix-race-test": "only 3 thread(s) used the counter, expected 4"},
    },
    {
        "name": "two at a time: half the fetch_add calls",
        "cells": {
            "fix-race": add_up(
                ON_THREADS.format(
                    inner="""                for _ in 0..increments / 2 {
                    counter.fetch_add(2, Relaxed);
                }
                if increments % 2 == 1 {
                    counter.fetch_add(1, Relaxed);
                }"""
                )
            )
        },
        "fails": {"fix-race-test": "add 1 at a time"},
    },
    {
        "name": "no padding: Slots share a cache line",
        "cells": {"padding": "#[derive(Default)]\nstruct Slot(AtomicU64);"},
        "fails": {"padding-test": "less than a"},
    },
    {
        "name": "padding to 32 bytes: still within one 64-byte line",
        "cells": {"padding": "#[repr(align(32))]\n#[derive(Default)]\nstruct Slot(AtomicU64);"},
        "fails": {"padding-test": "less than a"},
    },
]
