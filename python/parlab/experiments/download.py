"""I/O-bound: downloading pages that each take `latency_ms` to arrive (seed 002's 50 pages:
sync 15.7 s, asyncio 1.4 s, threads 1.9 s, processes 4.9 s).

There is no internet in a course sandbox or CI, so the pages come from `PageServer`, a real
asynchronous HTTP server on 127.0.0.1 with a known latency, started and stopped around the
experiment. The clients are httpx's, blocking and async.

    frame = parlab.experiments.download.run(pages=20, latency_ms=200)
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Sequence

import httpx
import pandas as pd

from parlab.checks import check_int, check_modes, check_workers
from parlab.experiments.frames import concat, now, tidy
from parlab.experiments.pages import PageServer, check_latency, check_page_bytes
from parlab.experiments.pools import cpu_count, process_pool, results, run_async, thread_pool

MODES = ("sync", "asyncio", "threads", "processes")
TIMEOUT_S = 60.0


def fetch(url: str, client: httpx.Client | None = None) -> dict:
    """One blocking download, with who ran it and when. Top-level so processes can run it."""
    start = now()
    response = httpx.get(url, timeout=TIMEOUT_S) if client is None else client.get(url)
    return {
        "start": start,
        "end": now(),
        "who": (os.getpid(), threading.get_ident()),
        "bytes": len(response.content),
        "status": response.status_code,
    }


# Each runner takes the URLs, the limit, and `abort`: a function that makes every download
# in flight fail at once (it stops the page server), for Ctrl-C.


def _sync(urls: list[str], limit: int | None, abort: Callable[[], None]) -> list[dict]:
    with httpx.Client(timeout=TIMEOUT_S) as client:
        return [fetch(url, client) for url in urls]


def _asyncio(urls: list[str], limit: int | None, abort: Callable[[], None]) -> list[dict]:
    async def everything() -> list[dict]:
        gate = asyncio.Semaphore(limit or len(urls))
        limits = httpx.Limits(max_connections=limit or len(urls), max_keepalive_connections=limit or len(urls))
        async with httpx.AsyncClient(timeout=TIMEOUT_S, limits=limits) as client:

            async def one(url: str) -> dict:
                async with gate:
                    start = now()
                    response = await client.get(url)
                    return {
                        "start": start,
                        "end": now(),
                        "who": threading.get_ident(),  # every coroutine shares one thread
                        "bytes": len(response.content),
                        "status": response.status_code,
                    }

            return list(await asyncio.gather(*(one(url) for url in urls)))

    return run_async(everything)


def _threads(urls: list[str], limit: int | None, abort: Callable[[], None]) -> list[dict]:
    workers = limit or len(urls)
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    with httpx.Client(timeout=TIMEOUT_S, limits=limits) as client, thread_pool(workers, abort=abort) as pool:
        return results([pool.submit(fetch, url, client) for url in urls])


def _processes(urls: list[str], limit: int | None, abort: Callable[[], None]) -> list[dict]:
    # Without a limit, as many processes as ProcessPoolExecutor starts by default.
    with process_pool(limit or cpu_count()) as pool:
        return results([pool.submit(fetch, url) for url in urls])


RUNNERS = {"sync": _sync, "asyncio": _asyncio, "threads": _threads, "processes": _processes}


def run(
    pages: int = 50,
    latency_ms: float = 500,
    modes: Sequence[str] = MODES,
    limit: int | None = None,
    page_bytes: int = 10_000,
) -> pd.DataFrame:
    """Downloads `pages` pages in each mode from a local server with the given latency.

    limit: at most this many downloads at once (a semaphore for asyncio, the pool size for
        threads and processes): the "real world limits" of seed 002. None: no limit, except
        that "processes" uses one process per CPU, as ProcessPoolExecutor does by default.

    Columns: mode, task, worker, start_s, end_s, bytes, status. One row per request.
    """
    modes = check_modes(modes, MODES)
    pages = check_int("pages", pages, 1, 10_000)
    latency_ms = check_latency(latency_ms)
    page_bytes = check_page_bytes(page_bytes)
    limit = None if limit is None else check_workers(limit, 1, name="limit", high=10_000)
    frames = []
    with PageServer(latency_ms=latency_ms, page_bytes=page_bytes) as server:
        urls = [server.page_url(i) for i in range(pages)]
        for mode in modes:
            t0 = now()
            rows = RUNNERS[mode](urls, limit, server.stop)
            for task, row in enumerate(rows):
                row["task"] = task
            frames.append(tidy(mode, rows, t0, worker_key="who"))
    return concat(frames)
