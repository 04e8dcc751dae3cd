"""Wrong answers for notebooks/python/02-cpu-bound-fib.ipynb (format: tests/test_exercises.py)."""


def processes(body: str) -> str:
    indented = "".join(f"    {line}\n" if line else "\n" for line in body.splitlines())
    return 'with trace("my processes") as mine:  # noqa: SIM117\n' + indented


def split(body: str) -> str:
    indented = "".join(f"    {line}\n" if line else "\n" for line in body.splitlines())
    return 'with trace("split") as split:  # noqa: SIM117\n' + indented


def gather(body: str) -> str:
    return (
        "async def gather_calls(coroutine):\n"
        + body
        + '\n\nwith trace("gathered") as gathered:\n'
        + "    gathered_results = await gather_calls(gathered.task(fib_coroutine))\n"
    )


RESULTS, RAN = "ex1-results", "ex1-processes-ran"

WRONG = [
    {
        "name": "threads instead of processes",
        "cells": {
            "ex1-processes": processes(
                "with ThreadPoolExecutor(max_workers=WORKERS) as pool:\n"
                "    my_results = list(pool.map(mine.task(fib), [N] * CALLS))"
            )
        },
        "fails": {RAN: "the calls must run in other processes"},
    },
    {
        "name": "one worker process (sequential)",
        "cells": {
            "ex1-processes": processes(
                "with ProcessPoolExecutor(max_workers=1) as pool:\n"
                "    my_results = list(pool.map(mine.task(fib), [N] * CALLS))"
            )
        },
        "fails": {RAN: "never ran 2 at a time in different processes (at most 1)"},
    },
    {
        "name": "start-then-join: each result waited for before the next submit",
        "cells": {
            "ex1-processes": processes(
                "with ProcessPoolExecutor(max_workers=WORKERS) as pool:\n"
                "    my_results = [pool.submit(mine.task(fib), N).result() for _ in range(CALLS)]"
            )
        },
        "fails": {RAN: "never ran 2 at a time in different processes (at most 1)"},
    },
    {
        "name": "two one-process pools, one after the other",
        "cells": {
            "ex1-processes": processes(
                "my_results = []\n"
                "for _ in range(2):\n"
                "    with ProcessPoolExecutor(max_workers=1) as pool:\n"
                "        my_results += list(pool.map(mine.task(fib), [N] * (CALLS // 2)))"
            )
        },
        "fails": {RAN: "(at most 1)"},
    },
    {
        "name": "lock-serialised: one lock around submitting and waiting for each call",
        "cells": {
            "ex1-processes": "import threading\n\n"
            + processes(
                "lock, traced = threading.Lock(), mine.task(fib)\n"
                "\n"
                "def one(n):\n"
                "    with lock:\n"
                "        return procs.submit(traced, n).result()\n"
                "\n"
                "with ProcessPoolExecutor(max_workers=WORKERS) as procs, ThreadPoolExecutor(WORKERS) as threads:\n"
                "    my_results = list(threads.map(one, [N] * CALLS))"
            )
        },
        "fails": {RAN: "(at most 1)"},
    },
    {
        "name": "typed-in results, nothing run",
        "cells": {"ex1-processes": processes("my_results = list(EXPECTED)")},
        "fails": {RESULTS: "0 of 12 calls were traced", RAN: "trace each call with mine.task(fib)"},
    },
    {
        "name": "one call short (off by one)",
        "cells": {
            "ex1-processes": processes(
                "with ProcessPoolExecutor(max_workers=WORKERS) as pool:\n"
                "    my_results = list(pool.map(mine.task(fib), [N] * (CALLS - 1)))"
            )
        },
        "fails": {RESULTS: "every call must return fib(N), in order"},
    },
    {
        "name": "split: left result awaited before the right half is submitted",
        "cells": {
            "ex2-split": split(
                "with ProcessPoolExecutor(max_workers=2) as pool:\n"
                "    left = pool.submit(split.task(fib), N + 2).result()\n"
                "    right = pool.submit(split.task(fib), N + 1).result()\n"
                "    big = left + right"
            )
        },
        "fails": {"ex2-split-test": "both halves must be in progress at the same time"},
    },
    {
        "name": "split: one half computed in the notebook",
        "cells": {
            "ex2-split": split(
                "with ProcessPoolExecutor(max_workers=2) as pool:\n"
                "    left = pool.submit(split.task(fib), N + 2)\n"
                "    big = left.result() + split.task(fib)(N + 1)"
            )
        },
        "fails": {"ex2-split-test": "both halves must run in the pool's processes"},
    },
    {
        "name": "split: wrong halves (off by one)",
        "cells": {
            "ex2-split": split(
                "with ProcessPoolExecutor(max_workers=2) as pool:\n"
                "    left = pool.submit(split.task(fib), N + 2)\n"
                "    right = pool.submit(split.task(fib), N)\n"
                "    big = left.result() + right.result()"
            )
        },
        "fails": {"ex2-split-test": "fib(N + 3) = fib(N + 2) + fib(N + 1)"},
    },
    {
        "name": "split: typed-in value",
        "cells": {"ex2-split": split("big = reference.fib(N + 3)")},
        "fails": {"ex2-split-test": "0 call(s) traced"},
    },
    {
        "name": "gather: coroutines awaited one by one",
        "cells": {"ex3-gather": gather("    return [await coroutine(N) for _ in range(CALLS)]\n")},
        "fails": {"ex3-gather-test": "never had 12 coroutines in progress at once: at most 1 coroutine at a time"},
    },
    {
        "name": "gather: each task created and awaited at once (start-then-join)",
        "cells": {"ex3-gather": gather("    return [await asyncio.create_task(coroutine(N)) for _ in range(CALLS)]\n")},
        "fails": {"ex3-gather-test": "never had 12 coroutines in progress at once"},
    },
    {
        "name": "gather: typed-in results",
        "cells": {"ex3-gather": gather("    return list(EXPECTED)\n")},
        "fails": {"ex3-gather-test": "it was called 0 times"},
    },
    {
        "name": "gather: one coroutine short (off by one)",
        "cells": {"ex3-gather": gather("    return await asyncio.gather(*(coroutine(N) for _ in range(CALLS - 1)))\n")},
        "fails": {"ex3-gather-test": "should return fib(N) for each of the CALLS coroutines"},
    },
]
