"""A tracer for any code: every call of a wrapped function becomes a bar of a timeline.

    from concurrent.futures import ThreadPoolExecutor
    from parlab import plots, trace

    with trace("threads") as t:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(t.task(fib), [27] * 20))
    plots.worker_timeline(t.frame)

`t.task(f)` wraps `f` (a plain function or an `async def`); the wrapper returns what `f`
returns and raises what `f` raises, and records one row per call in `t.frame`:

    mode      the trace's name ("threads")
    task      the call's number, 0, 1, … in the order the calls started
    worker    who ran it, numbered 0..k−1 in the order the workers first started a call:
              a thread of this process, a child process (its thread), or, for asyncio, the
              thread running the event loop: every coroutine of one loop shares that
              worker, and coroutines in flight together overlap on it (plots draw them in
              lanes). The `coroutine` column names the asyncio task.
    start_s, end_s   seconds since the `with` block started, on the system-wide monotonic
              clock (`time.monotonic_ns`, CLOCK_MONOTONIC on Linux), which child
              processes share: their bars line up with the parent's.
    cpu_s     CPU time the call's own thread spent on it (`time.thread_time`). For a
              coroutine, only while it was running, not while it awaited. The rest of the
              bar, end_s − start_s − cpu_s, is time the call waited: for I/O, for a lock,
              for the GIL, or for a CPU the operating system gave to someone else.
    thread, tid, pid, function, coroutine, error   the thread's name and native id, the
              process id, the wrapped function's name, the asyncio task's name (or None),
              the exception's type name if the call raised (or None).

Processes: the wrapper pickles as a reference to `f` (so `f` must be importable or, with
the fork start method, defined before the pool starts), and a call in another process
sends its timings back *with its result*: the result travels inside a small carrier that
turns back into the plain result, recording the row, when the parent unpickles it
(`ProcessPoolExecutor`, `multiprocessing.Pool`). Exceptions carry their row the same way.
Called in a child for any other purpose, the wrapper's result is that carrier.

Combine traces with `trace.frame(t1, t2, …)` or `pd.concat([t1.frame, t2.frame])`;
`trace.summary(t1, t2, …)` gives per mode the calls, workers, CPU time and parallelism;
`parlab.to_trace(t, "run.json")` writes a Chrome/Perfetto trace (see `to_trace`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import threading
import time
import types
import uuid
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")

#: The columns of a trace's frame, in order.
COLUMNS = [
    "mode",
    "task",
    "worker",
    "start_s",
    "end_s",
    "thread",
    "pid",
    "cpu_s",
    "tid",
    "function",
    "coroutine",
    "error",
]

_clock = time.monotonic_ns  # system-wide on Linux: child processes read the same clock
_cpu = time.thread_time_ns
_thread_info = threading.local()  # per thread: (native id, name), read once (a system call)

#: Traces whose `with` block is open in this process, by id: where rows from other
#: processes are delivered.
_ACTIVE: dict[str, Trace] = {}

# One row per call, kept as a tuple until the frame is built (cheap to record):
# (function, start_ns, end_ns, pid, tid, thread name, cpu_ns, error, coroutine)
Row = tuple[str, int, int, int, int, str, int, "str | None", "str | None"]

_pid = os.getpid()


def _after_fork() -> None:
    global _pid
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):  # not on Windows, which only spawns
    os.register_at_fork(after_in_child=_after_fork)


def _this_thread() -> tuple[int, str]:
    """(native thread id, thread name), cached per thread: the id needs a system call.
    Native ids, unlike `threading.get_ident()`, are not reused as soon as a thread ends."""
    info = getattr(_thread_info, "info", None)
    if info is None:
        info = _thread_info.info = (threading.get_native_id(), threading.current_thread().name)
    return info


class Trace:
    """The calls of one `with trace(mode)` block. `task(f)` wraps a function; `frame` is
    the tidy frame of every call so far."""

    def __init__(self, mode: str) -> None:
        if not isinstance(mode, str):
            raise TypeError(f"mode: must be a string naming what runs, got {type(mode).__name__}")
        if not mode.strip():
            raise ValueError("mode: must not be empty")
        self.mode = mode
        self.id = uuid.uuid4().hex
        self.rows: list[Row] = []
        self.start_ns: int | None = None
        self.end_ns: int | None = None
        self._frame: pd.DataFrame | None = None
        self._framed_rows = -1

    def __enter__(self) -> Trace:
        if self.start_ns is not None:
            raise RuntimeError(f"trace({self.mode!r}) was already used: start a new trace for a new run")
        _ACTIVE[self.id] = self
        self.start_ns = _clock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.end_ns = _clock()
        _ACTIVE.pop(self.id, None)

    def task(self, function: Callable[..., T]) -> Callable[..., T]:
        """`function`, wrapped so that each call is recorded. Same arguments, same result,
        same exceptions. An `async def` function gives an `async def` wrapper."""
        if not callable(function):
            raise TypeError(f"function: must be callable, got {type(function).__name__}")
        if isinstance(function, Traced) or getattr(function, "__parlab_trace__", None) is not None:
            raise ValueError("function: already traced; wrap the original function instead")
        if inspect.iscoroutinefunction(function):
            return _traced_coroutine(self, function)  # type: ignore[return-value]
        return Traced(function, self.id, _pid, self.rows)

    @property
    def elapsed_s(self) -> float:
        """Seconds from the start of the block to its end (or to now, while it runs)."""
        if self.start_ns is None:
            return 0.0
        return ((self.end_ns if self.end_ns is not None else _clock()) - self.start_ns) / 1e9

    @property
    def frame(self) -> pd.DataFrame:
        """One row per call, in the order the calls started (see the module's doc)."""
        if self._frame is None or self._framed_rows != len(self.rows):
            rows = list(self.rows)  # a snapshot: workers may still be appending
            self._frame, self._framed_rows = _tidy(self.mode, rows, self.start_ns), len(rows)
        return self._frame.copy()

    def __repr__(self) -> str:
        calls = len(self.rows)
        workers = len({(row[3], row[4]) for row in self.rows})
        return f"trace({self.mode!r}): {calls} call(s) on {workers} worker(s) in {self.elapsed_s * 1e3:.1f} ms"


class Traced:
    """A traced plain function. A class, not a closure, so that it pickles (by a reference
    to the wrapped function) into child processes."""

    def __init__(self, function: Callable[..., Any], trace_id: str, owner_pid: int, rows: list[Row] | None) -> None:
        self.function = function
        self.trace_id = trace_id
        self.owner_pid = owner_pid
        self.rows = rows
        self.name = getattr(function, "__name__", type(function).__name__)
        self.__parlab_trace__ = trace_id
        functools.update_wrapper(self, function, updated=())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tid, thread = _this_thread()
        cpu = _cpu()
        start = _clock()
        try:
            value = self.function(*args, **kwargs)
        except BaseException as error:
            end = _clock()
            row = (self.name, start, end, _pid, tid, thread, _cpu() - cpu, type(error).__name__, None)
            if _pid == self.owner_pid:
                self._record(row)
            else:
                _attach(error, _RowCarrier(self.trace_id, row))
            raise
        end = _clock()
        row = (self.name, start, end, _pid, tid, thread, _cpu() - cpu, None, None)
        if _pid == self.owner_pid:
            self._record(row)
            return value
        return Returned(self.trace_id, row, value)

    def _record(self, row: Row) -> None:
        if self.rows is not None:
            self.rows.append(row)
        else:  # unpickled in the trace's own process
            _deliver(self.trace_id, row)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Traced, (self.function, self.trace_id, self.owner_pid, None))

    def __repr__(self) -> str:
        return f"<traced {self.name}>"


def _traced_coroutine(trace: Trace, function: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    name = getattr(function, "__name__", "coroutine")
    rows = trace.rows

    import asyncio  # here, not at the top: `import parlab` stays light

    current_task = asyncio.current_task

    @functools.wraps(function)
    async def call(*args: Any, **kwargs: Any) -> Any:
        try:
            task = current_task()
        except RuntimeError:  # driven without an event loop (e.g. by lesson 01's multiplexer)
            task = None
        tid, thread = _this_thread()
        cpu = [0]
        start = _clock()
        where = task and task.get_name()
        try:
            value = await _metered(function(*args, **kwargs), cpu)
        except BaseException as error:
            rows.append((name, start, _clock(), _pid, tid, thread, cpu[0], type(error).__name__, where))
            raise
        rows.append((name, start, _clock(), _pid, tid, thread, cpu[0], None, where))
        return value

    call.__parlab_trace__ = trace.id  # type: ignore[attr-defined]
    return call


@types.coroutine
def _metered(coroutine: Any, cpu: list[int]) -> Generator[Any, Any, Any]:
    """Awaits `coroutine` step by step, adding up in cpu[0] the CPU time of its steps only:
    the time it spends suspended (awaiting I/O, or while other coroutines run) is not its
    own. (`yield from coroutine` would do the same without the clock readings.)"""
    send, throw = coroutine.send, coroutine.throw
    value: Any = None
    error: BaseException | None = None
    while True:
        before = _cpu()
        try:
            step = send(value) if error is None else throw(error)
        except StopIteration as stop:
            cpu[0] += _cpu() - before
            return stop.value
        except BaseException:
            cpu[0] += _cpu() - before
            raise
        cpu[0] += _cpu() - before
        try:
            value, error = (yield step), None
        except GeneratorExit:
            coroutine.close()
            raise
        except BaseException as thrown:  # e.g. CancelledError: hand it to the coroutine
            value, error = None, thrown


# --- rows from other processes ------------------------------------------------------------


def _deliver(trace_id: str, row: Row) -> None:
    trace = _ACTIVE.get(trace_id)
    if trace is not None:
        trace.rows.append(row)


def _deliver_result(trace_id: str, row: Row, value: Any) -> Any:
    _deliver(trace_id, row)
    return value


class Returned:
    """A result computed in another process, with its row: unpickled in the process that
    opened the trace, it records the row and becomes the plain result again."""

    def __init__(self, trace_id: str, row: Row, value: Any) -> None:
        self.trace_id, self.row, self.value = trace_id, row, value

    def __reduce__(self) -> tuple[Any, ...]:
        return (_deliver_result, (self.trace_id, self.row, self.value))

    def __repr__(self) -> str:
        return f"<result of traced {self.row[0]} in process {self.row[3]}: {self.value!r}>"


class _RowCarrier:
    """Rides on an exception raised in another process; unpickled, it records its row."""

    def __init__(self, trace_id: str, row: Row) -> None:
        self.trace_id, self.row = trace_id, row

    def __reduce__(self) -> tuple[Any, ...]:
        return (_deliver, (self.trace_id, self.row))


def _attach(error: BaseException, carrier: _RowCarrier) -> None:
    with contextlib.suppress(AttributeError):  # a type without a __dict__: the row is lost
        error.__parlab_row__ = carrier  # type: ignore[attr-defined]


# --- the frame ------------------------------------------------------------------------------


def _tidy(mode: str, rows: list[Row], start_ns: int | None) -> pd.DataFrame:
    import pandas as pd

    raw = pd.DataFrame(rows, columns=["function", "start", "end", "pid", "tid", "thread", "cpu", "error", "coroutine"])
    if raw.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c.endswith("_s") else "object") for c in COLUMNS})
    raw = raw.sort_values("start", kind="stable").reset_index(drop=True)
    origin = raw["start"].min() if start_ns is None else start_ns
    keys = list(zip(raw["pid"], raw["tid"], strict=True))
    order = {key: i for i, key in enumerate(dict.fromkeys(keys))}
    frame = pd.DataFrame(
        {
            "mode": mode,
            "task": range(len(raw)),
            "worker": [order[key] for key in keys],
            "start_s": (raw["start"] - origin) / 1e9,
            "end_s": (raw["end"] - origin) / 1e9,
            "thread": raw["thread"],
            "pid": raw["pid"],
            "cpu_s": raw["cpu"] / 1e9,
            "tid": raw["tid"],
            "function": raw["function"],
            "coroutine": raw["coroutine"],
            "error": raw["error"].astype(object).where(raw["error"].notna(), None),
        }
    )
    frame.attrs["mode"] = mode
    return frame


def combine(*traces: Trace | pd.DataFrame) -> pd.DataFrame:
    """One frame from several traces (or trace frames), for plots that compare modes."""
    import pandas as pd

    if len(traces) == 1 and isinstance(traces[0], list | tuple):
        traces = tuple(traces[0])
    if not traces:
        raise ValueError("traces: give at least one trace")
    frames = []
    for item in traces:
        if isinstance(item, Trace):
            frames.append(item.frame)
        elif isinstance(item, pd.DataFrame):
            frames.append(item)
        else:
            raise TypeError(f"traces: expected traces or DataFrames, got {type(item).__name__}")
    modes = [m for f in frames for m in dict.fromkeys(f["mode"])] if all("mode" in f for f in frames) else []
    repeated = sorted({m for m in modes if modes.count(m) > 1})
    if repeated:
        raise ValueError(f"traces: the mode {repeated[0]!r} appears in more than one trace; give each its own name")
    return pd.concat([f for f in frames if not f.empty] or frames[:1], ignore_index=True)


def summary(*traces: Trace | pd.DataFrame) -> pd.DataFrame:
    """One row per mode of the traces (or frames), in order:

    calls, workers  how many calls, on how many distinct workers
    first_start_s   when the first call started (a pool's start-up shows here)
    total_s         when the last call ended, since the block started
    cpu_s           CPU time of all calls together
    parallelism     cpu_s per second from the first call's start to the last one's end:
                    how many CPUs computed at once, on average (1.0 = one at a time)
    concurrency     the most calls in progress at the same moment
    waiting         the share of the calls' wall time not spent on a CPU (GIL, I/O, …)
    """
    frame = combine(*traces)
    rows = {}
    for mode, part in frame.groupby("mode", sort=False):
        busy = float(part["end_s"].max() - part["start_s"].min())
        wall = float((part["end_s"] - part["start_s"]).sum())
        cpu = float(part["cpu_s"].sum()) if "cpu_s" in part else float("nan")
        rows[mode] = {
            "calls": len(part),
            "workers": part["worker"].nunique(),
            "first_start_s": float(part["start_s"].min()),
            "total_s": float(part["end_s"].max()),
            "cpu_s": cpu,
            "parallelism": cpu / busy if busy > 0 else float("nan"),
            "concurrency": peak_concurrency(part["start_s"], part["end_s"]),
            "waiting": 1 - cpu / wall if wall > 0 else float("nan"),
        }
    import pandas as pd

    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("mode")


def peak_concurrency(starts: Any, ends: Any) -> int:
    """The most intervals [start, end) in progress at the same moment."""
    events = sorted([(float(e), -1) for e in ends] + [(float(s), 1) for s in starts])
    running = peak = 0
    for _, change in events:  # at equal times an end (-1) sorts before a start (+1)
        running += change
        peak = max(peak, running)
    return peak


class _Tracer:
    """`trace(mode)` opens a trace; `trace.frame(t1, t2, …)` combines traces' frames and
    `trace.summary(t1, t2, …)` sums them up per mode."""

    def __call__(self, mode: str) -> Trace:
        return Trace(mode)

    @staticmethod
    def frame(*traces: Trace | pd.DataFrame) -> pd.DataFrame:
        return combine(*traces)

    @staticmethod
    def summary(*traces: Trace | pd.DataFrame) -> pd.DataFrame:
        return summary(*traces)

    def __repr__(self) -> str:
        return "parlab.trace"


#: `with trace("threads") as t: ... t.task(f) ...`; `trace.frame(t1, t2)` combines.
trace = _Tracer()


# --- Chrome / Perfetto trace files ----------------------------------------------------------


def to_trace(obj: Any, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """A Chrome trace-event document (what ui.perfetto.dev and chrome://tracing open) for
    a `RenderRun`, a `Trace`, or a frame (a run's `to_frame()`, or any tidy frame with
    mode, worker, start_s and end_s); written as JSON to `path` if given, and returned.

    Each tile or call is a complete event (`"ph": "X"`, `ts` and `dur` in µs) on its
    worker's track: one `tid` per worker (per thread of a render), named by thread-name
    metadata events; each mode of a tidy frame is its own process, named after the mode.
    Calls that overlap on one worker (coroutines awaiting together) cannot nest on one
    track, so they go to extra tracks named "worker k · lane j". Process ids start at
    1001 (`FIRST_PID`) and thread ids at 1 (a render's thread t is tid t + 1): Perfetto
    takes tid 0, or a tid equal to its pid, for the process's main thread.
    """
    import pandas as pd

    if isinstance(obj, Trace):
        frame, title = obj.frame, None
    elif isinstance(obj, pd.DataFrame):
        frame, title = obj, None
    elif hasattr(obj, "to_frame"):
        frame, title = obj.to_frame(), repr(obj)
    else:
        raise TypeError(f"obj: expected a RenderRun, a trace or a DataFrame, got {type(obj).__name__}")
    if {"thread_id", "start_us", "duration_us"} <= set(frame.columns):
        events = _render_events(frame, title or "render", int(getattr(obj, "threads", 0)))
    elif {"mode", "worker", "start_s", "end_s"} <= set(frame.columns):
        events = _tidy_events(frame)
    else:
        raise ValueError(
            "obj: the frame needs either thread_id, start_us, duration_us (a render) "
            "or mode, worker, start_s, end_s (an experiment or a trace)"
        )
    document = {"traceEvents": events, "displayTimeUnit": "ms"}
    if path is not None:
        import json

        with open(path, "w", encoding="utf-8") as out:
            json.dump(document, out, ensure_ascii=False)  # viewers show names as written
    return document


#: The process id of a render, or of a tidy frame's first mode (see `to_trace`).
FIRST_PID = 1001


def _meta(name: str, pid: int, tid: int | None, value: Any) -> dict[str, Any]:
    """A metadata event: a process's or thread's name, or its place in the list."""
    key = "sort_index" if name.endswith("sort_index") else "name"
    event: dict[str, Any] = {"ph": "M", "name": name, "pid": pid, "args": {key: value}}
    if tid is not None:
        event["tid"] = tid
    return event


def _plain(value: Any) -> Any:
    """A JSON-ready version of a cell (numpy numbers, NaN and tuples are not)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _render_events(frame: pd.DataFrame, title: str, threads: int) -> list[dict[str, Any]]:
    count = max(threads, int(frame["thread_id"].max()) + 1 if len(frame) else 1)
    events = [_meta("process_name", FIRST_PID, None, title)]
    for t in range(count):
        events += [
            _meta("thread_name", FIRST_PID, t + 1, f"thread {t}"),
            _meta("thread_sort_index", FIRST_PID, t + 1, t),
        ]
    for row in frame.itertuples(index=False):
        events.append(
            {
                "name": f"tile ({row.tile_x}, {row.tile_y})",
                "cat": "tile",
                "ph": "X",
                "pid": FIRST_PID,
                "tid": int(row.thread_id) + 1,
                "ts": float(row.start_us),
                "dur": float(row.duration_us),
                "args": {
                    k: _plain(v) for k, v in row._asdict().items() if k not in ("start_us", "duration_us", "end_us")
                },
            }
        )
    return events


def _tidy_events(frame: pd.DataFrame) -> list[dict[str, Any]]:
    label = next((c for c in ("function", "step", "kind") if c in frame.columns), None)
    skip = {"mode", "worker", "start_s", "end_s"}
    events: list[dict[str, Any]] = []
    for pid, (mode, part) in enumerate(frame.groupby("mode", sort=False), start=FIRST_PID):
        events += [_meta("process_name", pid, None, str(mode)), _meta("process_sort_index", pid, None, pid)]
        tids: dict[tuple[int, int], int] = {}
        for worker, bars in part.groupby("worker", sort=True):
            lanes = overlap_lanes(bars["start_s"].to_numpy(float), bars["end_s"].to_numpy(float))
            for lane in sorted(set(lanes.tolist())):
                tid = tids.setdefault((int(worker), lane), len(tids) + 1)
                name = f"worker {worker}" + (f" · lane {lane}" if lane else "")
                events += [_meta("thread_name", pid, tid, name), _meta("thread_sort_index", pid, tid, tid)]
            for lane, row in zip(lanes, bars.to_dict("records"), strict=True):
                start, end = float(row["start_s"]), float(row["end_s"])
                name = row[label] if label is not None else f"task {row.get('task', '')}".strip()
                events.append(
                    {
                        "name": str(name),
                        "cat": str(mode),
                        "ph": "X",
                        "pid": pid,
                        "tid": tids[(int(worker), int(lane))],
                        "ts": start * 1e6,
                        "dur": max(end - start, 0.0) * 1e6,
                        "args": {k: _plain(v) for k, v in row.items() if k not in skip},
                    }
                )
    return events


def overlap_lanes(starts: Any, ends: Any) -> Any:
    """Greedy interval colouring: overlapping calls of one worker get separate lanes."""
    import numpy as np

    lanes = np.zeros(len(starts), dtype=int)
    lane_ends: list[float] = []
    for i in np.argsort(starts, kind="stable"):
        free = next((k for k, end in enumerate(lane_ends) if end <= starts[i] + 1e-12), None)
        if free is None:
            free = len(lane_ends)
            lane_ends.append(0.0)
        lane_ends[free] = ends[i]
        lanes[i] = free
    return lanes
