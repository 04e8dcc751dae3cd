"""A tracer for any code: every call of a wrapped function becomes a bar of a timeline.

    from concurrent.futures import ThreadPoolExecutor
    from parlab import plots, trace

    with trace("threads") as t:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(t.task(fib), [27] * 20))
    plots.worker_timeline(t.frame)

`t.task(f)` wraps `f` (a plain function, an `async def`, a generator or an async
generator); the wrapper returns what `f` returns and raises what `f` raises, and records
one row per call in `t.frame`:

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

Generators: a generator's work runs while it is iterated, not when it is called, so its
bar spans its iteration: from the first `next()` to its end (exhausted, raised, or closed
by the consumer, e.g. a `break`), and `cpu_s` adds up the CPU time of its resumptions
only (the consumer's work between items is waiting, as for a coroutine). A generator
never iterated records nothing. Async generators the same, per `async for`.

Depth: a traced call adds one frame to the stack (the wrapper is a `functools.partial`
of one module function, which calls the function directly), so traced recursion reaches
about half the depth of plain recursion before `RecursionError` (~498 at the default
limit of 1000; plain: ~997). A coroutine adds two.

Processes: the wrapper pickles as a reference to `f` (so `f` must be importable or, with
the fork start method, defined before the pool starts), and a call in another process
sends its timings back *with its result*: when the call was made by a process pool's
worker (`ProcessPoolExecutor`, `multiprocessing.Pool`), its result travels inside a small
carrier that turns back into the plain result, recording the rows, when the parent
unpickles it. Exceptions carry their rows the same way. Any other call in a child (one
traced call inside another, or from a thread pool inside one) returns its plain result
and leaves its row with the process, to travel with the next carrier: nested calls show
up once their outer call's result arrives.

Combine traces with `trace.frame(t1, t2, …)` or `pd.concat([t1.frame, t2.frame])`;
`trace.summary(t1, t2, …)` gives per mode the calls, workers, CPU time and parallelism;
`parlab.to_trace(t, "run.json")` writes a Chrome/Perfetto trace (see `to_trace`).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import inspect
import math
import os
import sys
import threading
import time
import types
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Hashable
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
    global _pid, _held_lock
    _pid = os.getpid()
    _held.clear()  # the parent's rows are the parent's to send
    _held_lock = threading.Lock()  # another thread may have held the parent's at the fork


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
        self.pid = _pid
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
        same exceptions. An `async def` function gives an `async def` wrapper; a generator
        function (plain or async) a wrapper whose generators are timed while iterated."""
        if not callable(function):
            raise TypeError(f"function: must be callable, got {type(function).__name__}")
        if isinstance(function, Traced) or getattr(function, "__parlab_trace__", None) is not None:
            raise ValueError("function: already traced; wrap the original function instead")
        if inspect.iscoroutinefunction(function):
            return _traced_coroutine(self, function)  # type: ignore[return-value]
        if inspect.isasyncgenfunction(function):
            return _traced_async_generator(self, function)  # type: ignore[return-value]
        # A partial of a module function, not an object with __call__: a partial call adds no
        # frame of its own (calling an instance costs two), and it pickles as its parts.
        wrapper = functools.partial(_call, Traced(function, self.id, self.pid, self.rows))
        functools.update_wrapper(wrapper, function, updated=())
        wrapper.__parlab_trace__ = self.id  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

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
    """What a traced plain or generator function knows: the function, its trace, and where
    rows go. It pickles (by a reference to the function) into child processes."""

    def __init__(self, function: Callable[..., Any], trace_id: str, owner_pid: int, rows: list[Row] | None) -> None:
        self.function = function
        self.trace_id = trace_id
        self.owner_pid = owner_pid
        self.rows = rows
        self.name = getattr(function, "__name__", type(function).__name__)
        self.generator = inspect.isgeneratorfunction(function)

    def record(self, row: Row) -> None:
        """Keep a row: in the trace's process, in the trace; elsewhere, until a carrier leaves."""
        if _pid != self.owner_pid:
            _hold(self.trace_id, row)
        elif self.rows is not None:
            self.rows.append(row)
        else:  # unpickled in the trace's own process
            _deliver([(self.trace_id, row)])

    def __reduce__(self) -> tuple[Any, ...]:
        return (Traced, (self.function, self.trace_id, self.owner_pid, None))

    def __repr__(self) -> str:
        return f"<traced {self.name}>"


def _call(traced: Traced, /, *args: Any, **kwargs: Any) -> Any:
    """One traced call of a plain function. The only frame tracing adds to the stack: the
    function is called from here, not through further helpers (recursion stays deep)."""
    if traced.generator:  # the generator is made now (argument errors surface now), timed later
        return _iterate(traced, traced.function(*args, **kwargs))
    tid, thread = _this_thread()
    cpu = _cpu()
    start = _clock()
    try:
        value = traced.function(*args, **kwargs)
    except BaseException as error:
        end = _clock()
        row = (traced.name, start, end, _pid, tid, thread, _cpu() - cpu, type(error).__name__, None)
        if _pid != traced.owner_pid and _called_by_pool(sys._getframe(1)):
            _attach(error, _RowCarrier(_collect(traced.trace_id, row)))
        else:
            traced.record(row)
        raise
    end = _clock()
    row = (traced.name, start, end, _pid, tid, thread, _cpu() - cpu, None, None)
    if _pid != traced.owner_pid and _called_by_pool(sys._getframe(1)):
        return Returned(_collect(traced.trace_id, row), value)
    traced.record(row)
    return value


def _iterate(traced: Traced, generator: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
    """Runs a traced generator step by step: its bar spans its iteration, its CPU time is
    that of its resumptions. (`yield from generator`, plus clock readings.)"""
    send, throw = generator.send, generator.throw
    value: Any = None
    error: BaseException | None = None
    tid, thread = _this_thread()
    cpu = 0
    start = _clock()

    def record(failed: BaseException | None) -> None:
        traced.record((traced.name, start, _clock(), _pid, tid, thread, cpu, failed and type(failed).__name__, None))

    while True:
        before = _cpu()
        try:
            item = send(value) if error is None else throw(error)
        except StopIteration as stop:
            cpu += _cpu() - before
            record(None)
            return stop.value
        except BaseException as failed:
            cpu += _cpu() - before
            record(failed)
            raise
        cpu += _cpu() - before
        try:
            value, error = (yield item), None
        except GeneratorExit:  # the consumer let go (a `break`, `close()`): the bar ends here
            before = _cpu()
            try:
                generator.close()
            finally:
                cpu += _cpu() - before
                record(None)
            raise
        except BaseException as thrown:  # `throw()`: hand it to the generator
            value, error = None, thrown


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


def _traced_async_generator(trace: Trace, function: Callable[..., AsyncGenerator[Any, Any]]) -> Callable[..., Any]:
    name = getattr(function, "__name__", "async generator")
    rows = trace.rows

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        return _aiterate(name, rows, function(*args, **kwargs))

    call.__parlab_trace__ = trace.id  # type: ignore[attr-defined]
    return call


async def _aiterate(name: str, rows: list[Row], generator: AsyncGenerator[Any, Any]) -> AsyncGenerator[Any, Any]:
    """Runs a traced async generator: its bar spans its iteration, its CPU time is that of
    its own steps (not its awaits, not the consumer's work between items)."""
    import asyncio

    try:
        task = asyncio.current_task()
    except RuntimeError:
        task = None
    where = task and task.get_name()
    tid, thread = _this_thread()
    cpu = [0]
    start = _clock()
    step = generator.asend(None)
    while True:
        try:
            item = await _metered(step, cpu)
        except StopAsyncIteration:
            rows.append((name, start, _clock(), _pid, tid, thread, cpu[0], None, where))
            return
        except BaseException as error:
            rows.append((name, start, _clock(), _pid, tid, thread, cpu[0], type(error).__name__, where))
            raise
        try:
            value = yield item
        except GeneratorExit:  # the consumer let go (`break`, `aclose()`): the bar ends here
            try:
                await _metered(generator.aclose(), cpu)
            finally:
                rows.append((name, start, _clock(), _pid, tid, thread, cpu[0], None, where))
            raise
        except BaseException as thrown:  # `athrow()`: hand it to the generator
            step = generator.athrow(thrown)
        else:
            step = generator.asend(value)


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

#: The modules whose workers send a call's result back to the parent by pickling it: a
#: traced call made by one of them returns its result in a carrier (see the module's doc).
_POOL_MODULES = frozenset({"concurrent.futures.process", "multiprocessing.pool"})
#: At most this many rows wait in a child for a carrier (rows of calls no pool made).
HELD_ROWS = 100_000

_held: list[tuple[str, Row]] = []  # in a child: rows waiting for the next carrier
_held_lock = threading.Lock()


def _called_by_pool(caller: Any) -> bool:
    """Whether the frame that made a call is a process pool's worker sending results back."""
    return caller is not None and caller.f_globals.get("__name__") in _POOL_MODULES


def _hold(trace_id: str, row: Row) -> None:
    with _held_lock:
        if len(_held) < HELD_ROWS:
            _held.append((trace_id, row))


def _collect(trace_id: str, row: Row) -> list[tuple[str, Row]]:
    """The rows a carrier takes along: those held in this process, and its own."""
    with _held_lock:
        rows = [*_held, (trace_id, row)]
        _held.clear()
    return rows


def _deliver(rows: list[tuple[str, Row]]) -> None:
    """Rows unpickled from a carrier: into their trace if it is open in this process; held
    for the next carrier if this is itself a child (a pool inside a pool's task)."""
    for trace_id, row in rows:
        trace = _ACTIVE.get(trace_id)
        if trace is not None and trace.pid == _pid:
            trace.rows.append(row)
        elif _is_child():
            _hold(trace_id, row)


def _is_child() -> bool:
    if "multiprocessing" not in sys.modules:
        return False
    return sys.modules["multiprocessing"].parent_process() is not None


def _deliver_result(rows: list[tuple[str, Row]], value: Any) -> Any:
    _deliver(rows)
    return value


class Returned:
    """A result computed in another process, with its rows: unpickled in the process that
    opened the trace, it records the rows and becomes the plain result again."""

    def __init__(self, rows: list[tuple[str, Row]], value: Any) -> None:
        self.rows, self.value = rows, value

    def __reduce__(self) -> tuple[Any, ...]:
        return (_deliver_result, (self.rows, self.value))

    def __repr__(self) -> str:
        return f"<result of traced {self.rows[-1][1][0]} in process {self.rows[-1][1][3]}: {self.value!r}>"


class _RowCarrier:
    """Rides on an exception raised in another process; unpickled, it records its rows."""

    def __init__(self, rows: list[tuple[str, Row]]) -> None:
        self.rows = rows

    def __reduce__(self) -> tuple[Any, ...]:
        return (_deliver, (self.rows,))


def _attach(error: BaseException, carrier: _RowCarrier) -> None:
    with contextlib.suppress(AttributeError):  # a type without a __dict__: the rows are lost
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

#: The process id of a render, or of a tidy frame's first mode (see `to_trace`).
FIRST_PID = 1001
#: At most this many tracks per worker of a tidy frame: calls beyond this many in flight
#: at once are drawn merged on one more track (see `to_trace`).
MAX_LANES = 64


def to_trace(obj: Any, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """A Chrome trace-event document (what ui.perfetto.dev and chrome://tracing open) for
    a `RenderRun` (or `ClusterRun`), a `Trace`, or a frame (a run's `to_frame()`, or any
    tidy frame with mode, worker, start_s and end_s); written as JSON to `path` (a file
    path: a str or an os.PathLike) if given, and returned.

    Each tile or call is a complete event (`"ph": "X"`, `ts` and `dur` in µs) on its
    worker's track: one `tid` per worker (per thread of a render), named by thread-name
    metadata events; each mode of a tidy frame is its own process, named after the mode.
    Workers may be numbers or names. Calls that overlap on one worker (coroutines awaiting
    together) cannot nest on one track, so they go to extra tracks named "worker k · lane
    j", a lane reused as soon as its last call ended: as many tracks as calls were in
    flight at once, up to `MAX_LANES`; the calls beyond those are drawn on one more track,
    merged into bars named "n calls" (every moment at least one of them was in flight).
    Rows of a `ClusterRun` other than tiles are named by their kind and detail ("idle:
    waiting"). Process ids start at 1001 (`FIRST_PID`) and thread ids at 1 (a render's
    thread t is tid t + 1): Perfetto takes tid 0, or a tid equal to its pid, for the
    process's main thread.

    The document is strict JSON. Times must be finite numbers and no row may end before
    it starts, every row needs its mode and worker (thread_id for a render): a ValueError
    names the column and the row (its index label). NaN elsewhere (a missing value) is
    written as null; an infinite value is refused.
    """
    import json

    import pandas as pd

    if path is not None and not isinstance(path, str | os.PathLike):
        raise TypeError(f"path: must be a file path (a str or os.PathLike), got {type(path).__name__}")
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
        text = json.dumps(document, ensure_ascii=False, allow_nan=False)  # viewers show names as written
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    return document


def _meta(name: str, pid: int, tid: int | None, value: Any) -> dict[str, Any]:
    """A metadata event: a process's or thread's name, or its place in the list."""
    key = "sort_index" if name.endswith("sort_index") else "name"
    event: dict[str, Any] = {"ph": "M", "name": name, "pid": pid, "args": {key: value}}
    if tid is not None:
        event["tid"] = tid
    return event


def _plain(value: Any, column: str, row: Any) -> Any:
    """A JSON-ready version of a cell (numpy numbers, NaN and tuples are not): NaN, None,
    pd.NA and NaT are missing (null); infinity has no JSON, so it is refused."""
    import numpy as np
    import pandas as pd

    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if math.isinf(value):
            raise ValueError(f"{column}: row {row!r} is {value}, which JSON cannot hold; give a finite number")
        return None if math.isnan(value) else value
    with contextlib.suppress(TypeError, ValueError):  # a list or an array is not "missing"
        if pd.isna(value):
            return None
    return str(value)


def _times(frame: pd.DataFrame, column: str) -> Any:
    """A column of times as floats; a ValueError names the first row that is not finite."""
    import numpy as np
    import pandas as pd

    numbers = pd.to_numeric(frame[column], errors="coerce")
    if np.iscomplexobj(numbers):
        raise TypeError(f"{column}: complex numbers are no times; give real numbers")
    values = numbers.to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{column}: row {frame.index[i]!r} is {frame[column].iloc[i]!r}, not a finite number "
            f"({bad.size} row(s) like it); a trace needs finite times"
        )
    return values


def _ordered_after(frame: pd.DataFrame, column: str, starts: Any, ends: Any) -> None:
    """Refuses a row that ends before it starts (a negative duration), naming it."""
    import numpy as np

    bad = np.flatnonzero(ends < starts)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{column}: row {frame.index[i]!r} ends before it starts ({ends[i]!r} < {starts[i]!r}; "
            f"{bad.size} row(s) like it); a duration cannot be negative"
        )


def _present(frame: pd.DataFrame, column: str) -> None:
    """Refuses a row without a value in `column` (NaN or None), naming it."""
    import numpy as np

    bad = np.flatnonzero(frame[column].isna().to_numpy())
    if bad.size:
        raise ValueError(
            f"{column}: row {frame.index[int(bad[0])]!r} has none (NaN or None; {bad.size} row(s) like it); "
            f"every row of a trace needs its {column}"
        )


def _render_events(frame: pd.DataFrame, title: str, threads: int) -> list[dict[str, Any]]:
    import numpy as np

    starts = _times(frame, "start_us")
    durations = _times(frame, "duration_us")
    _ordered_after(frame, "duration_us", np.zeros(len(frame)), durations)
    thread_ids = _times(frame, "thread_id")
    bad = np.flatnonzero((thread_ids < 0) | (thread_ids != np.round(thread_ids)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"thread_id: row {frame.index[i]!r} is {thread_ids[i]!r}; a thread id is an integer ≥ 0")
    events = [_meta("process_name", FIRST_PID, None, title)]
    for t in sorted({*range(threads), *map(int, thread_ids)}):  # no track per absent id up to a big one
        events += [
            _meta("thread_name", FIRST_PID, t + 1, f"thread {t}"),
            _meta("thread_sort_index", FIRST_PID, t + 1, t),
        ]
    skip = {"start_us", "duration_us", "end_us"}
    for i, (label, row) in enumerate(zip(frame.index, frame.to_dict("records"), strict=True)):
        events.append(
            {
                "name": _tile_name(row),
                "cat": str(row.get("kind") or "tile"),
                "ph": "X",
                "pid": FIRST_PID,
                "tid": int(thread_ids[i]) + 1,
                "ts": float(starts[i]),
                "dur": float(durations[i]),
                "args": {str(k): _plain(v, str(k), label) for k, v in row.items() if k not in skip},
            }
        )
    return events


def _tile_name(row: dict[str, Any]) -> str:
    """A tile's place, or for a `ClusterRun`'s other rows their kind and detail (their
    tile columns are only filled in with 0)."""
    kind, detail = row.get("kind"), row.get("detail")
    detail = detail if isinstance(detail, str) else ""
    if kind in (None, "compute") and not detail:
        return f"tile ({row.get('tile_x')}, {row.get('tile_y')})"
    if kind == "compute":  # a tile computed again: its first result was lost
        return f"task {row.get('task_id')}: {detail}"
    return f"{kind}: {detail}" if detail else str(kind)


def _tidy_events(frame: pd.DataFrame) -> list[dict[str, Any]]:
    import numpy as np

    starts, ends = _times(frame, "start_s"), _times(frame, "end_s")
    _ordered_after(frame, "end_s", starts, ends)
    _present(frame, "mode")
    _present(frame, "worker")
    label = next((c for c in ("function", "step", "kind") if c in frame.columns), None)
    skip = {"mode", "worker", "start_s", "end_s"}
    records = frame.to_dict("records")
    groups: dict[Any, dict[Any, list[int]]] = {}
    for i, (mode, worker) in enumerate(zip(frame["mode"].tolist(), frame["worker"].tolist(), strict=True)):
        for column, value in (("mode", mode), ("worker", worker)):
            if not isinstance(value, Hashable):  # a list or an array cannot name a track
                raise TypeError(f"{column}: row {frame.index[i]!r} is {value!r}; give a number or a name")
        groups.setdefault(mode, {}).setdefault(worker, []).append(i)
    events: list[dict[str, Any]] = []
    for pid, (mode, workers) in enumerate(groups.items(), start=FIRST_PID):
        events += [_meta("process_name", pid, None, str(mode)), _meta("process_sort_index", pid, None, pid)]
        tid = 0
        for worker in _in_order(workers):
            rows = np.array(workers[worker])
            lanes = overlap_lanes(starts[rows], ends[rows])
            name = f"worker {_worker_name(worker)}"
            tracks = []
            for lane in range(min(int(lanes.max()) + 1, MAX_LANES)):
                tid += 1
                tracks.append(tid)
                track = name + (f" · lane {lane}" if lane else "")
                events += [_meta("thread_name", pid, tid, track), _meta("thread_sort_index", pid, tid, tid)]
            for i, lane in zip(rows.tolist(), lanes.tolist(), strict=True):
                if lane >= MAX_LANES:
                    continue
                row, index = records[i], frame.index[i]
                text = _plain(row[label], label, index) if label is not None else None
                events.append(
                    {
                        "name": str(text) if text is not None else f"task {row.get('task', '')}".strip(),
                        "cat": str(mode),
                        "ph": "X",
                        "pid": pid,
                        "tid": tracks[lane],
                        "ts": float(starts[i]) * 1e6,
                        "dur": float(ends[i] - starts[i]) * 1e6,
                        "args": {str(k): _plain(v, str(k), index) for k, v in row.items() if k not in skip},
                    }
                )
            beyond = rows[lanes >= MAX_LANES]
            if beyond.size:
                tid += 1
                track = f"{name} · lanes {MAX_LANES}–{int(lanes.max())}, merged"
                events += [_meta("thread_name", pid, tid, track), _meta("thread_sort_index", pid, tid, tid)]
                for start, end, calls in _merged(starts[beyond], ends[beyond]):
                    events.append(
                        {
                            "name": f"{calls} calls",
                            "cat": str(mode),
                            "ph": "X",
                            "pid": pid,
                            "tid": tid,
                            "ts": start * 1e6,
                            "dur": (end - start) * 1e6,
                            "args": {"calls": calls},
                        }
                    )
    return events


def _in_order(workers: dict[Any, Any]) -> list[Any]:
    """Workers sorted (numbers, or names), or in order of appearance if they do not sort."""
    try:
        return sorted(workers)
    except TypeError:  # numbers and names mixed
        return list(workers)


def _worker_name(worker: Any) -> str:
    value = worker.item() if hasattr(worker, "item") else worker
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # worker 1, not worker 1.0 (a column that held a NaN once)
    return str(value)


def _merged(starts: Any, ends: Any) -> list[tuple[float, float, int]]:
    """The intervals' union as disjoint (start, end, how many intervals) bars."""
    import numpy as np

    bars: list[tuple[float, float, int]] = []
    order = np.argsort(starts, kind="stable")
    for start, end in zip(starts[order].tolist(), ends[order].tolist(), strict=True):
        if bars and start <= bars[-1][1]:
            first, last, calls = bars[-1]
            bars[-1] = (first, max(last, end), calls + 1)
        else:
            bars.append((start, end, 1))
    return bars


def overlap_lanes(starts: Any, ends: Any) -> Any:
    """Greedy interval colouring: overlapping calls of one worker get separate lanes. In
    order of start, each call takes the lowest-numbered lane whose last call has ended by
    its start (or a new lane): as many lanes as calls were in flight at once.

    O(n log n): the lanes in use wait in a heap by their end time, the free ones in a heap
    by their number (not a scan of every lane for every call: quadratic when thousands of
    coroutines are in flight together)."""
    import numpy as np

    starts = np.asarray(starts, dtype=float)
    ends = np.asarray(ends, dtype=float)
    if starts.shape != ends.shape:
        raise ValueError(f"ends: {len(ends)} values for {len(starts)} starts")
    lanes = np.zeros(len(starts), dtype=int)
    begin, finish = starts.tolist(), ends.tolist()
    busy: list[tuple[float, int]] = []  # (end, lane) of lanes in use
    free: list[int] = []  # lanes whose last call has ended
    count = 0
    for i in np.argsort(starts, kind="stable").tolist():
        start = begin[i]
        while busy and busy[0][0] <= start + 1e-12:  # a NaN start frees nothing
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free and start == start:
            lane = heapq.heappop(free)
        else:
            lane, count = count, count + 1
        end = finish[i]
        heapq.heappush(busy, (end if end == end else math.inf, lane))  # a NaN end never frees its lane
        lanes[i] = lane
    return lanes
