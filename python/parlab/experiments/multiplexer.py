"""Cooperative multitasking, step by step (seed 001): real Python coroutines run by a
single-threaded multiplexer, or by a pool of k workers sharing one queue.

A coroutine hands control back to the multiplexer when it awaits another task. Mark the
coroutine functions with `@task` so that awaiting one creates a task the multiplexer sees
(a plain `await` of a coroutine would run it inline, invisibly):

    @task
    async def C():
        return 1

    @task
    async def B():
        return 1 + await C()

    trace = run(B())              # single-threaded: iterations over the queue
    trace = run(B(), workers=2)   # a pool of two threads taking turns on a FIFO queue

The two schedulers follow the seed's rules exactly:

- single-threaded: each iteration walks the queue; a ready task runs until it awaits (the
  task it awaits joins the end of the queue) or completes (it leaves the queue); a task
  whose awaited task is unfinished is "not ready". Iterations repeat until the queue empties.
- pool: in turn, each worker takes the first task of the queue. A ready task runs; if it
  awaits, the awaited task goes to the front of the queue and the task itself to the back.
  A task that is not ready goes to the back. Finished tasks leave.
"""

from __future__ import annotations

import functools
import itertools
import types
from array import array
from collections import deque
from collections.abc import Callable, Coroutine, Generator, Iterable
from typing import Any

import numpy as np
import pandas as pd

from parlab import _core
from parlab.checks import check_int

#: The most task names a row's `queue` shows; `queue_length` has the full length.
QUEUE_SHOWN = 20
#: The most steps of one run: every step is a row of the trace, ~200 bytes at the peak
#: with the rows kept as columns (10⁶ steps of `chain(1400)`: 0.19 GB; one dict per row took
#: ~1 KB a step, 1.55 GB at 10⁶ steps, so the old limit of 10⁷ would have needed ~14 GB).
#: A program that never finishes also keeps its own live coroutines, ~0.5 KB a step.
MAX_STEPS = 1_000_000


class Task:
    """A coroutine the multiplexer schedules, and what it is waiting for."""

    def __init__(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        self.coroutine = coroutine
        self.name = name
        self.awaiting: Task | None = None
        self.done = False
        self.result: Any = None
        self.started = False

    @property
    def ready(self) -> bool:
        return self.awaiting is None or self.awaiting.done

    def step(self) -> Task | None:
        """Runs until the coroutine awaits another task (returned) or finishes (None)."""
        value = self.awaiting.result if self.awaiting is not None else None
        self.started = True
        try:
            awaited = self.coroutine.send(value)
        except StopIteration as stop:
            self.done, self.result, self.awaiting = True, stop.value, None
            return None
        if not isinstance(awaited, TaskCall):
            self.coroutine.close()
            raise TypeError(f"{self.name} awaited {awaited!r}: only @task coroutines can be awaited here")
        self.awaiting = Task(awaited.coroutine, awaited.name)
        return self.awaiting


class TaskCall:
    """What calling a `@task` function returns: awaiting it yields it to the multiplexer."""

    def __init__(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        self.coroutine = coroutine
        self.name = name

    def __await__(self) -> Generator[TaskCall, Any, Any]:
        return (yield self)

    def close(self) -> None:
        self.coroutine.close()


def task(function: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., TaskCall]:
    """Marks an `async def` function as a task of the multiplexer."""
    if not isinstance(function, types.FunctionType) or not _is_coroutine_function(function):
        raise TypeError(f"@task needs an async def function, got {function!r}")

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> TaskCall:
        return TaskCall(function(*args, **kwargs), function.__name__)

    return call


def _is_coroutine_function(function: Callable[..., Any]) -> bool:
    import inspect

    return inspect.iscoroutinefunction(function)


def _root(main: TaskCall | Coroutine[Any, Any, Any]) -> Task:
    if isinstance(main, TaskCall):
        return Task(main.coroutine, main.name)
    if isinstance(main, types.CoroutineType):
        return Task(main, main.__name__)
    raise TypeError(f"main: must be a coroutine (call your async function), got {type(main).__name__}")


def _event(task: Task, awaited: Task | None, root: Task, first: bool) -> tuple[str, str]:
    """The (kind, text) of one step, worded as in the seed's traces."""
    if awaited is not None:
        prefix = "" if (task is root and first) else " ready -->"
        return "awaits", f"{task.name}{prefix} awaits {awaited.name}"
    return "complete", f"{task.name} ready --> complete!"


def run(
    main: TaskCall | Coroutine[Any, Any, Any], workers: int | None = None, max_steps: int = 100_000
) -> pd.DataFrame:
    """Runs `main` to completion and returns its trace, one row per step.

    workers=None: the single-threaded multiplexer; workers=k: a pool of k workers.
    Columns: mode, task, worker, start_s, end_s (in steps: each step takes one unit),
    iteration, event ("awaits", "complete", "not ready"), awaiting, text, queue (the first
    `QUEUE_SHOWN` task names of the queue after the step), queue_length, result (the value
    a task completed with). The frame's attrs hold the result of `main` and the steps per
    worker. Memory grows linearly with the steps (a few hundred bytes each), whatever the
    length of the queue; max_steps is at most MAX_STEPS.
    """
    root = _root(main)
    try:
        if workers is not None:
            workers = check_int("workers", workers, 1, _core.MAX_THREADS)
        max_steps = check_int("max_steps", max_steps, 1, MAX_STEPS)
    except (TypeError, ValueError):
        root.coroutine.close()  # never started: close it so Python does not warn
        raise
    queue: deque[Task] = deque([root])
    try:
        trace = _pool(root, queue, workers, max_steps) if workers else _single(root, queue, max_steps)
    except BaseException:  # an error, max_steps or Ctrl-C: close every coroutine left
        for task in queue:
            task.coroutine.close()
        raise
    frame = trace.frame()
    frame.attrs["result"] = root.result
    frame.attrs["steps_per_worker"] = frame.groupby("worker").size().to_dict()
    return frame


class _Trace:
    """The trace's rows kept as columns: a few pointers per step, the texts and task names
    shared between the steps that repeat them, the numbers in compact arrays."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.numbers = {name: array("q") for name in ("worker", "start", "end", "iteration", "queue_length")}
        self.objects: dict[str, list[Any]] = {name: [] for name in ("task", "event", "awaiting", "text", "queue")}
        self.results: dict[int, Any] = {}  # step -> the value a task completed with
        self._shared: dict[str, str] = {}
        self._last_shown: list[str] = []

    def __len__(self) -> int:
        return len(self.numbers["worker"])

    def _one(self, text: str) -> str:
        """The same string object for the same text (each step's f-string is a new one)."""
        return self._shared.setdefault(text, text)

    def add(
        self,
        span: tuple[int, int],
        worker: int,
        iteration: int,
        task: Task,
        kind: str,
        text: str,
        queue: Iterable[Task],
        length: int,
    ) -> None:
        shown = [t.name for t in itertools.islice(queue, QUEUE_SHOWN + 1)]
        if len(shown) > QUEUE_SHOWN:  # a long queue: its head, and how long it is
            shown[QUEUE_SHOWN] = "…"
        if shown == self._last_shown:  # a long queue's head often stays the same: one list
            shown = self._last_shown
        self._last_shown = shown
        if kind == "complete":
            self.results[len(self)] = task.result
        waiting = task.awaiting.name if task.awaiting is not None and not task.awaiting.done else None
        for name, value in zip(self.numbers, (worker, *span, iteration, length), strict=True):
            self.numbers[name].append(value)
        for name, value in zip(self.objects, (task.name, kind, waiting, self._one(text), shown), strict=True):
            self.objects[name].append(value)

    def frame(self) -> pd.DataFrame:
        """The rows as a frame. Each column list is released once it is an array, and the
        frame keeps those arrays (copy=False): the peak stays near the final frame's size."""
        steps = len(self)
        result = np.full(steps, None, dtype=object)  # keep ints as ints
        for step, value in self.results.items():
            result[step] = value

        def objects(name: str) -> pd.Series:
            return pd.Series(self.objects.pop(name), dtype=object)

        def numbers(name: str) -> np.ndarray:
            return np.array(self.numbers.pop(name), dtype=np.int64)

        columns = {
            "mode": pd.Series(np.full(steps, self.mode, dtype=object), dtype=object),
            "task": objects("task"),
            "worker": numbers("worker"),
            "start_s": numbers("start").astype(float),
            "end_s": numbers("end").astype(float),
            "iteration": numbers("iteration"),
            "event": objects("event"),
            "awaiting": objects("awaiting"),
            "text": objects("text"),
            "queue": objects("queue"),
            "queue_length": numbers("queue_length"),
            "result": result,
        }
        return pd.DataFrame(columns, copy=False)


def _single(root: Task, queue: deque[Task], max_steps: int) -> _Trace:
    """Each iteration walks the queue once: `done` holds the tasks already walked this
    iteration, `queue` the ones still ahead (tasks awaited now join its end)."""
    rows = _Trace("single")
    iteration = 0
    while queue:
        iteration += 1
        done: list[Task] = []
        while queue:
            task = queue.popleft()
            if task.ready:
                first = not task.started
                awaited = task.step()
                kind, text = _event(task, awaited, root, first)
                if awaited is not None:
                    done.append(task)
                    queue.append(awaited)
            else:
                kind, text = "not ready", f"{task.name} not ready, awaiting {task.awaiting.name}"
                done.append(task)
            after = itertools.chain(done, queue)
            step = len(rows)
            rows.add((step, step + 1), 0, iteration, task, kind, text, after, len(done) + len(queue))
            if len(rows) >= max_steps and (done or queue):
                queue.extendleft(reversed(done))  # closed by run()
                raise RuntimeError(f"max_steps: the tasks did not finish within {max_steps} steps")
        queue.extend(done)
    return rows


def _pool(root: Task, queue: deque[Task], workers: int, max_steps: int) -> _Trace:
    rows = _Trace(f"pool of {workers}")
    round_ = 0
    while queue:
        round_ += 1
        for worker in range(workers):
            if not queue:
                break
            task = queue.popleft()
            if task.ready:
                first = not task.started
                awaited = task.step()
                kind, text = _event(task, awaited, root, first)
                if awaited is not None:
                    queue.appendleft(awaited)
                    queue.append(task)
            else:
                kind, text = "not ready", f"{task.name} not ready"
                queue.append(task)
            rows.add((round_ - 1, round_), worker, round_, task, kind, text, queue, len(queue))
            if len(rows) >= max_steps and queue:
                raise RuntimeError(f"max_steps: the tasks did not finish within {max_steps} steps")
    return rows


def format_trace(frame: pd.DataFrame) -> str:
    """The trace as text, in the seed's layout."""
    lines = []
    if frame["mode"].iloc[0] == "single":
        for iteration, steps in frame.groupby("iteration", sort=True):
            lines.append(f"Iteration {iteration}:")
            lines += [f"{r.text:<32}| queue: [{', '.join(r.queue)}]" for r in steps.itertuples()]
            lines.append("")
        lines.append("DONE!")
    else:
        for r in frame.itertuples():
            lines.append(f"Thread {r.worker + 1} | {r.text:<26}| Queue: [{', '.join(r.queue)}]")
            if r.worker == frame["worker"].max():
                lines.append("")
        lines.append("DONE!")
    return "\n".join(lines)


# The seed's example, ready to run: `run(example())`.
@task
async def C() -> int:
    return 1


@task
async def B() -> int:
    return 1 + await C()


@task
async def A() -> int:
    return 1 + await B()


@task
async def main() -> None:
    await A()


def example() -> TaskCall:
    """main awaits A awaits B awaits C, exactly as in seed 001 (A completes with 3)."""
    return main()
