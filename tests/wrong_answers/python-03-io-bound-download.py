"""Wrong answers for notebooks/python/03-io-bound-download.ipynb (format: tests/test_exercises.py)."""

RESULTS, RESPECTED, THREADS_TEST = "ex1-limit-results", "ex1-limit-respected", "ex2-threads-test"


def at_most(body: str) -> str:
    return "async def download_at_most(urls, limit):\n" + body


def on_threads(body: str) -> str:
    return (
        "THREADS = 4\n\n\ndef download_on_threads(urls, threads, fetch):\n"
        + body
        + '\n\nwith trace("exercise 2") as t_ex2:\n'
        + "    pool_sizes = download_on_threads(urls, THREADS, t_ex2.task(download))\n"
    )


def gated(gate_line: str, around: str = "async with gate:") -> str:
    return at_most(
        f"""    {gate_line}
    async with httpx.AsyncClient() as client:

        async def one(url):
            {around}
                return await get(url, client)

        return list(await asyncio.gather(*(one(url) for url in urls)))
"""
    )


WRONG = [
    {
        "name": "no limit: every download at once",
        "cells": {
            "ex1-limit": at_most(
                """    async with httpx.AsyncClient() as client:
        return list(await asyncio.gather(*(get(url, client) for url in urls)))
"""
            )
        },
        "fails": {RESPECTED: "at most 3 at a time: 12 downloads were in flight at once"},
    },
    {
        "name": "a new semaphore in every coroutine (no limit at all)",
        "cells": {
            "ex1-limit": at_most(
                """    async with httpx.AsyncClient() as client:

        async def one(url):
            async with asyncio.Semaphore(limit):
                return await get(url, client)

        return list(await asyncio.gather(*(one(url) for url in urls)))
"""
            )
        },
        "fails": {RESPECTED: "12 downloads were in flight at once"},
    },
    {
        "name": "sequential: one download after the other",
        "cells": {
            "ex1-limit": at_most(
                """    async with httpx.AsyncClient() as client:
        return [await get(url, client) for url in urls]
"""
            )
        },
        "fails": {RESPECTED: "never had 3 downloads in progress at once: at most 1 download at a time"},
    },
    {
        "name": "semaphore one place short (off by one)",
        "cells": {"ex1-limit": gated("gate = asyncio.Semaphore(limit - 1)")},
        "fails": {RESPECTED: "at most 2 downloads at a time"},
    },
    {
        "name": "a lock instead of a semaphore (serialised)",
        "cells": {"ex1-limit": gated("gate = asyncio.Lock()")},
        "fails": {RESPECTED: "at most 1 download at a time"},
    },
    {
        "name": "check-then-act race on a hand-made counter",
        "cells": {
            "ex1-limit": at_most(
                """    in_flight = 0
    async with httpx.AsyncClient() as client:

        async def one(url):
            nonlocal in_flight
            while in_flight >= limit:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0)  # anything that awaits between the check and the act
            in_flight += 1
            try:
                return await get(url, client)
            finally:
                in_flight -= 1

        return list(await asyncio.gather(*(one(url) for url in urls)))
"""
            )
        },
        "fails": {RESPECTED: "at most 3 at a time: 12 downloads were in flight at once"},
    },
    {
        "name": "typed-in sizes, nothing downloaded",
        "cells": {"ex1-limit": at_most("    return [PAGE_BYTES] * len(urls)\n")},
        "fails": {RESULTS: "0 of 12 were", RESPECTED: "download every page with get(url, client)"},
    },
    {
        "name": "threads: one thread",
        "cells": {
            "ex2-threads": on_threads(
                """    with httpx.Client() as client, ThreadPoolExecutor(max_workers=1) as pool:
        return list(pool.map(fetch, urls, [client] * len(urls)))
"""
            )
        },
        "fails": {THREADS_TEST: "never had 4 downloads in progress at once: at most 1 download at a time"},
    },
    {
        "name": "threads: start-then-join (each result waited for before the next submit)",
        "cells": {
            "ex2-threads": on_threads(
                """    with httpx.Client() as client, ThreadPoolExecutor(max_workers=threads) as pool:
        return [pool.submit(fetch, url, client).result() for url in urls]
"""
            )
        },
        "fails": {THREADS_TEST: "at most 1 download at a time"},
    },
    {
        "name": "threads: lock-serialised downloads",
        "cells": {
            "ex2-threads": on_threads(
                """    import threading

    lock = threading.Lock()
    with httpx.Client() as client, ThreadPoolExecutor(max_workers=threads) as pool:

        def one(url):
            with lock:
                return fetch(url, client)

        return list(pool.map(one, urls))
"""
            )
        },
        "fails": {THREADS_TEST: "at most 1 download at a time"},
    },
    {
        "name": "threads: one thread per URL (no limit)",
        "cells": {
            "ex2-threads": on_threads(
                """    with httpx.Client() as client, ThreadPoolExecutor(max_workers=len(urls)) as pool:
        return list(pool.map(fetch, urls, [client] * len(urls)))
"""
            )
        },
        "fails": {THREADS_TEST: "downloads ran on 20 thread(s), expected 4"},
    },
    {
        "name": "threads: pool one thread short (off by one)",
        "cells": {
            "ex2-threads": on_threads(
                """    with httpx.Client() as client, ThreadPoolExecutor(max_workers=threads - 1) as pool:
        return list(pool.map(fetch, urls, [client] * len(urls)))
"""
            )
        },
        "fails": {THREADS_TEST: "at most 3 downloads at a time"},
    },
    {
        "name": "threads: typed-in sizes",
        "cells": {"ex2-threads": on_threads("    return [PAGE_BYTES] * len(urls)\n")},
        "fails": {THREADS_TEST: "0 of 20 calls"},
    },
]
