"""Pools that clean up after themselves, even on Ctrl-C, and running asyncio code from
inside Jupyter: what the experiments use to run work at the same time."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
#: numbers the thread pools, so that each one's threads carry a name of their own
_POOLS = itertools.count()


def default_workers() -> int:
    """The effective parallelism: what this process may really run at once."""
    from parlab import default_threads

    return default_threads()


def cpu_count() -> int:
    return os.cpu_count() or 1


@contextlib.contextmanager
def thread_pool(workers: int, abort: Callable[[], None] | None = None) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that, on an exception or Ctrl-C, drops queued tasks, calls `abort()`
    (which must make the running tasks end soon: set their stop flag, close what they
    wait on) and waits for the running ones: no thread outlives the block."""
    # A name of its own: a worker whose start() Ctrl-C cut short runs, but the pool never
    # counted it (it adds a thread to its set after start() returns), so shutdown() does not
    # wait for it. The name finds it.
    prefix = f"parlab-pool-{next(_POOLS)}"
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=prefix)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        if abort is not None:
            abort()
        pool.shutdown(wait=True)
        for thread in threading.enumerate():
            if thread.name.startswith(prefix + "_") and thread is not threading.current_thread():
                thread.join()  # it finds the queue closed and ends
        raise
    pool.shutdown(wait=True)


@contextlib.contextmanager
def process_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool that, on an exception or Ctrl-C, terminates its children at once."""
    pool = ProcessPoolExecutor(max_workers=workers)
    try:
        yield pool
    except BaseException:
        # ProcessPoolExecutor has no public way to stop running children: terminate them
        # (they only run our own short, side-effect-free functions).
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)
        raise
    pool.shutdown(wait=True)


def results(futures: Iterable[Future[T]]) -> list[T]:
    """Waits for every future, in order, staying interruptible (Ctrl-C reaches the caller)."""
    return [f.result() for f in futures]


class Countdown:
    """How many workers are still running: each calls `done()` when it ends, and `wait()`
    returns when all have. Waiting stays interruptible by Ctrl-C and, unlike `Thread.join`
    after an interrupted join (CPython ≤ 3.12 then marks a thread finished while it still
    runs), never returns before the workers have ended."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._zero = threading.Condition()

    def done(self) -> None:
        with self._zero:
            self._count -= 1
            self._zero.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        with self._zero:
            return self._zero.wait_for(lambda: self._count <= 0, timeout)


def run_async(make: Callable[[], Coroutine[Any, Any, T]], abort: Callable[[], None] | None = None) -> T:
    """Runs a coroutine to completion on a fresh event loop in a helper thread.

    Jupyter already runs an event loop in the kernel's thread, where `asyncio.run` refuses
    to start; a helper thread works everywhere. Ctrl-C calls `abort()` (for code that
    blocks the loop: set its stop flag), cancels the coroutine and waits for it to unwind
    before raising KeyboardInterrupt.
    """
    loop = asyncio.new_event_loop()
    outcome: dict[str, Any] = {}
    task_box: list[asyncio.Task[T]] = []
    finished = Countdown(1)

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            task = loop.create_task(make())
            task_box.append(task)
            outcome["value"] = loop.run_until_complete(task)
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            finished.done()

    thread = threading.Thread(target=main, name="parlab-asyncio", daemon=True)
    thread.start()
    try:
        finished.wait()
    except BaseException:
        if abort is not None:
            abort()
        if task_box:
            loop.call_soon_threadsafe(task_box[0].cancel)
        finished.wait(timeout=10)
        thread.join(timeout=1)  # its last steps after done()
        raise
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
