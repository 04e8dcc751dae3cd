"""Wrong answers for notebooks/python/01-concurrency-vs-parallelism.ipynb (format: tests/test_exercises.py)."""

CHAIN_HEAD = "task = multiplexer.task\n\n\n"


def chain(*defs: str) -> str:
    return CHAIN_HEAD + "\n\n".join(defs) + "\n"


D = "@task\nasync def D():\n    return 1\n"
C4 = "@task\nasync def C4():\n    return 1 + await D()\n"
B4 = "@task\nasync def B4():\n    return 1 + await C4()\n"
A4 = "@task\nasync def A4():\n    return 1 + await B4()\n"
MAIN4 = "@task\nasync def main4():\n    return await A4()\n"

COUNTDOWN = """async def countdown(name, n):
    for _ in range(n):
        await asyncio.sleep(0.05)
    return name
"""
RUN_CELL = """

with trace("exercise 2") as t_ex2:
    counted = await run_three(t_ex2.task(countdown))
"""


def countdowns(countdown: str, run_three: str) -> str:
    return countdown + "\n\n" + run_three + RUN_CELL


GATHER = """async def run_three(count):
    return await asyncio.gather(count("x", 4), count("y", 6), count("z", 8))
"""

SORT_CALL = """

with trace("exercise 3") as t_ex3:
    sorted_arrays = sort_on_threads(t_ex3.task(numpy_sort), large[:4])
"""


def sorts(body: str) -> str:
    return "def sort_on_threads(sort, arrays):\n" + body + SORT_CALL


WRONG = [
    {
        "name": "chain one task short (C4 skipped)",
        "cells": {"ex1-chain": chain(D, "@task\nasync def B4():\n    return 1 + await D()\n", A4, MAIN4)},
        "fails": {"ex1-chain-test": "should return 1 + 1 + 1 + 1 = 4, got 3"},
    },
    {
        "name": "main4 adds one more (off by one)",
        "cells": {"ex1-chain": chain(D, C4, B4, A4, "@task\nasync def main4():\n    return 1 + await A4()\n")},
        "fails": {"ex1-chain-test": "got 5"},
    },
    {
        "name": "C4 not marked @task (awaited inline, invisible to the multiplexer)",
        "cells": {"ex1-chain": chain(D, "async def C4():\n    return 1 + await D()\n", B4, A4, MAIN4)},
        "fails": {"ex1-chain-test": "is every coroutine marked @task"},
    },
    {
        "name": "sequential awaits (one countdown after the other)",
        "cells": {
            "ex2-countdown": countdowns(
                COUNTDOWN,
                "async def run_three(count):\n"
                '    return [await count("x", 4), await count("y", 6), await count("z", 8)]\n',
            )
        },
        "fails": {"ex2-countdown-test": "never had 3 countdowns in progress at once: at most 1 countdown at a time"},
    },
    {
        "name": "start-then-join: each task created and awaited before the next",
        "cells": {
            "ex2-countdown": countdowns(
                COUNTDOWN,
                """async def run_three(count):
    results = []
    for name, n in [("x", 4), ("y", 6), ("z", 8)]:
        results.append(await asyncio.create_task(count(name, n)))
    return results
""",
            )
        },
        "fails": {"ex2-countdown-test": "never had 3 countdowns in progress at once"},
    },
    {
        "name": "lock-serialised gather",
        "cells": {
            "ex2-countdown": countdowns(
                COUNTDOWN,
                """async def run_three(count):
    lock = asyncio.Lock()

    async def one(name, n):
        async with lock:
            return await count(name, n)

    return await asyncio.gather(one("x", 4), one("y", 6), one("z", 8))
""",
            )
        },
        "fails": {"ex2-countdown-test": "at most 1 countdown at a time"},
    },
    {
        "name": "one long sleep instead of n short ones",
        "cells": {
            "ex2-countdown": countdowns(
                "async def countdown(name, n):\n    await asyncio.sleep(0.05 * n)\n    return name\n", GATHER
            )
        },
        "fails": {"ex2-countdown-test": "should await asyncio.sleep(0.05) 3 times"},
    },
    {
        "name": "countdown one sleep short (off by one)",
        "cells": {
            "ex2-countdown": countdowns(
                "async def countdown(name, n):\n    for _ in range(n - 1):\n        await asyncio.sleep(0.05)\n"
                "    return name\n",
                GATHER,
            )
        },
        "fails": {"ex2-countdown-test": "it slept [0.05, 0.05]"},
    },
    {
        "name": "typed-in results, nothing run",
        "cells": {"ex2-countdown": countdowns(COUNTDOWN, 'async def run_three(count):\n    return ["x", "y", "z"]\n')},
        "fails": {"ex2-countdown-test": "should call count three times, it called it 0 times"},
    },
    {
        "name": "start-then-join in the same loop",
        "cells": {
            "ex3-threads": sorts(
                """    results = [None] * len(arrays)

    def sort_one(i):
        results[i] = sort(arrays[i])

    for i in range(len(arrays)):
        thread = threading.Thread(target=sort_one, args=(i,))
        thread.start()
        thread.join()
    return results
"""
            )
        },
        "fails": {"ex3-threads-test": "never had 4 sorts in progress at once: at most 1 sort at a time"},
    },
    {
        "name": "one thread: a loop on the notebook's thread",
        "cells": {"ex3-threads": sorts("    return [sort(a) for a in arrays]\n")},
        "fails": {"ex3-threads-test": "must run on the new threads"},
    },
    {
        "name": "lock-serialised threads",
        "cells": {
            "ex3-threads": sorts(
                """    results = [None] * len(arrays)
    lock = threading.Lock()

    def sort_one(i):
        with lock:
            results[i] = sort(arrays[i])

    threads = [threading.Thread(target=sort_one, args=(i,)) for i in range(len(arrays))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
"""
            )
        },
        "fails": {"ex3-threads-test": "at most 1 sort at a time"},
    },
    {
        "name": "two threads for four arrays",
        "cells": {
            "ex3-threads": sorts(
                """    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(sort, arrays))
"""
            )
        },
        "fails": {"ex3-threads-test": "at most 2 sorts at a time"},
    },
    {
        "name": "off by one: the last array sorted on the notebook's thread",
        "cells": {
            "ex3-threads": sorts(
                """    results = [None] * len(arrays)

    def sort_one(i):
        results[i] = sort(arrays[i])

    threads = [threading.Thread(target=sort_one, args=(i,)) for i in range(len(arrays) - 1)]
    for thread in threads:
        thread.start()
    sort_one(len(arrays) - 1)
    for thread in threads:
        thread.join()
    return results
"""
            )
        },
        "fails": {"ex3-threads-test": "must run on the new threads"},
    },
    {
        "name": "typed-in results, sort never called",
        "cells": {"ex3-threads": sorts("    return [np.sort(a) for a in arrays]\n")},
        "fails": {"ex3-threads-test": "call sort once per array: it was called 0 times"},
    },
]
