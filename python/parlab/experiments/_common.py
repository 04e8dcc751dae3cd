"""What every experiment shares: argument checks that name the parameter, pools that clean
up after themselves (even on Ctrl-C), running asyncio code from inside Jupyter, and turning
raw timings into the tidy frame every plot reads."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

import pandas as pd

T = TypeVar("T")

#: The columns every experiment's frame starts with.
COLUMNS = ["mode", "task", "worker", "start_s", "end_s"]

now = time.perf_counter  # monotonic, and on Linux/macOS the same clock in every process


def check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def check_number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name}: must be a number, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name}: must be between {low} and {high}, got {value}")
    return float(value)


def check_modes(modes: object, allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(modes, str):
        modes = (modes,)
    if not isinstance(modes, Iterable):
        raise TypeError(f"modes: must be a sequence of mode names, got {type(modes).__name__}")
    modes = tuple(modes)
    unknown = [m for m in modes if m not in allowed]
    if unknown or not modes:
        raise ValueError(f"modes: unknown or empty {unknown or list(modes)}; choose from {list(allowed)}")
    if len(set(modes)) != len(modes):
        raise ValueError(f"modes: each mode at most once, got {list(modes)}")
    return modes


def check_workers(workers: object, default: int, name: str = "workers", high: int = 1024) -> int:
    return default if workers is None else check_int(name, workers, 1, high)


def default_workers() -> int:
    """The effective parallelism: what this process may really run at once."""
    from parlab import default_threads

    return default_threads()


@contextlib.contextmanager
def thread_pool(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that, on an exception or Ctrl-C, drops queued tasks and waits only
    for the ones already running."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="parlab")
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
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


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Runs a coroutine to completion on a fresh event loop in a helper thread.

    Jupyter already runs an event loop in the kernel's thread, where `asyncio.run` refuses
    to start; a helper thread works everywhere. Ctrl-C cancels the coroutine and waits for
    it to unwind before raising KeyboardInterrupt.
    """
    loop = asyncio.new_event_loop()
    outcome: dict[str, Any] = {}
    task_box: list[asyncio.Task[T]] = []

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

    thread = threading.Thread(target=main, name="parlab-asyncio", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(timeout=0.05)
    except BaseException:
        if task_box:
            loop.call_soon_threadsafe(task_box[0].cancel)
        thread.join(timeout=10)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def tidy(mode: str, rows: list[dict[str, Any]], t0: float, worker_key: str = "worker") -> pd.DataFrame:
    """Rows with absolute `start`/`end` clock readings and a raw worker key (thread ident,
    pid) → the standard frame: times in seconds since `t0`, workers numbered 0..k−1 in the
    order they first started work."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame = frame.sort_values("start", kind="stable")
    order = {key: i for i, key in enumerate(dict.fromkeys(frame[worker_key]))}
    frame["worker"] = frame[worker_key].map(order)
    frame["start_s"] = frame.pop("start") - t0
    frame["end_s"] = frame.pop("end") - t0
    frame.insert(0, "mode", mode)
    if worker_key != "worker":
        frame = frame.drop(columns=[worker_key])
    rest = [c for c in frame.columns if c not in COLUMNS]
    return frame[COLUMNS + rest].reset_index(drop=True)


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Total wall time and worker count per mode, in the order the modes ran."""
    grouped = frame.groupby("mode", sort=False)
    out = pd.DataFrame(
        {
            "total_s": grouped["end_s"].max(),  # times count from the start of each mode
            "tasks": grouped["task"].nunique(),
            "workers": grouped["worker"].nunique(),
        }
    )
    return out


def peak_concurrency(frame: pd.DataFrame) -> int:
    """The most tasks (rows) in progress at the same moment: what a limit caps."""
    events = sorted([(s, 1) for s in frame["start_s"]] + [(e, -1) for e in frame["end_s"]])
    running = peak = 0
    for _, change in events:  # at equal times an end (-1) sorts before a start (+1)
        running += change
        peak = max(peak, running)
    return peak


def cpu_count() -> int:
    return os.cpu_count() or 1
