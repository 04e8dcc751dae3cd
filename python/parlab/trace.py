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
import contextvars
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
import weakref
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
        #: The task graph's records: every traced call, task and join (see `task_graph`).
        self.frames: list[_Frame] = []
        self._root = _new_frame("root", "trace", 0)
        self._root_token: contextvars.Token[_Frame | None] | None = None
        self.start_ns: int | None = None
        self.end_ns: int | None = None
        self._frame: pd.DataFrame | None = None
        self._framed_rows = -1

    def __enter__(self) -> Trace:
        if self.start_ns is not None:
            raise RuntimeError(f"trace({self.mode!r}) was already used: start a new trace for a new run")
        _ACTIVE[self.id] = self
        _hooks_on()
        self._root[_TID] = _this_thread()[0]
        self._root_token = _current.set(self._root)
        self.start_ns = _clock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.end_ns = _clock()
        self._root[_DONE] = True
        if self._root_token is not None:
            try:
                _current.reset(self._root_token)
            except ValueError:  # left in another context than it was entered (a notebook's cells)
                if _current.get() is self._root:
                    _current.set(None)
        _ACTIVE.pop(self.id, None)
        _hooks_off()

    def task_graph(self) -> Any:
        """The trace as a `parlab.TaskGraph` of strands, for `parlab.work_span(t)`: each
        traced call cut at every spawn, join and nested call it made, with the CPU time
        between them as work (seconds); the block itself is the first and last strand.
        A ValueError says when the block or a call has not finished."""
        return _task_graph(self)

    def links(self) -> pd.DataFrame:
        """One row per traced call (index `task`, as in `frame`): the call that called,
        spawned or submitted it (`parent`, a task number, or None for the block's own code),
        `how` ("called" in its own thread or task, "spawned" on another, None), and the call
        that waited for it (`joined_by`: its result(), join() or gather), or None."""
        return _links(self)

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
        wrapper = functools.partial(_call, Traced(function, self.id, self.pid, self.rows, self.frames))
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

    def __init__(
        self,
        function: Callable[..., Any],
        trace_id: str,
        owner_pid: int,
        rows: list[Row] | None,
        frames: list[_Frame] | None = None,
    ) -> None:
        self.function = function
        self.trace_id = trace_id
        self.owner_pid = owner_pid
        self.rows = rows
        self.frames = frames  # None in another process: its calls' rows travel, not their graph
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
    frames = traced.frames if _pid == traced.owner_pid else None
    cpu = _cpu()
    if frames is not None:  # its node of the task graph: a plain list, the cheapest to make (see _new_frame)
        parent = _current.get()
        frame = [0, -cpu, "call", traced.name, tid, parent, 0, None, False, None]
        frames.append(frame)
        token = _current.set(frame)
    start = _clock()
    try:
        value = traced.function(*args, **kwargs)
    except BaseException as error:
        end = _clock()
        used = _cpu()
        if frames is not None:
            _ended(frame, token, start, used - cpu)
        row = (traced.name, start, end, _pid, tid, thread, used - cpu, type(error).__name__, None)
        if _pid != traced.owner_pid and _called_by_pool(sys._getframe(1)):
            _attach(error, _RowCarrier(_collect(traced.trace_id, row)))
        else:
            traced.record(row)
        raise
    end = _clock()
    used = _cpu()
    if frames is not None:  # _ended(frame, token, start, used - cpu), inlined (slot numbers too): every call runs it
        _current.reset(token)
        frame[0] = used - cpu  # _TOTAL
        frame[7] = start  # _START
        frame[8] = True  # _DONE
        if parent is not None and parent[1] is not None and parent[4] == tid:  # _OFF, _TID
            frame[6] = parent[1] + cpu  # _AT: how far the caller had got when this call began
    row = (traced.name, start, end, _pid, tid, thread, used - cpu, None, None)
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
    consumer = _current.get() if traced.frames is not None and _pid == traced.owner_pid else None

    def record(failed: BaseException | None) -> None:
        if traced.frames is not None and _pid == traced.owner_pid:
            _leaf(traced.frames, traced.name, tid, start, cpu, consumer)
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
    rows, frames = trace.rows, trace.frames

    import asyncio  # here, not at the top: `import parlab` stays light

    current_task = asyncio.current_task

    @functools.wraps(function)
    async def call(*args: Any, **kwargs: Any) -> Any:
        try:
            task = current_task()
        except RuntimeError:  # driven without an event loop (e.g. by lesson 01's multiplexer)
            task = None
        tid, thread = _this_thread()
        start = _clock()
        where = task and task.get_name()
        # Its node of the task graph, and its meter: _metered adds up its CPU time in it.
        if task is not None:
            parent = _current.get()
            frame = [0, 0, "coroutine", name, tid, parent, 0, None, False, None]
            token = _current.set(frame)
        else:  # driven without an event loop (by hand), coroutines share one context: no nesting
            parent = token = None
            frame = [0, 0, "leaf", name, tid, None, 0, None, False, None]
        frames.append(frame)
        try:
            value = await _metered(function(*args, **kwargs), frame)
        except BaseException as error:
            _ended(frame, token, start, frame[_TOTAL])
            rows.append((name, start, _clock(), _pid, tid, thread, frame[_TOTAL], type(error).__name__, where))
            raise
        # _ended(frame, token, start, frame[_TOTAL]), inlined (slot numbers too): every call runs it
        total = frame[0]
        frame[7] = start  # _START
        frame[8] = True  # _DONE
        if token is not None:
            try:
                _current.reset(token)
            except ValueError:  # reset in another context than it was set in: put the parent back
                _current.set(parent)
            if parent is not None and parent[1] is not None and parent[4] == tid and frame[1]:  # _OFF, _TID
                frame[6] = max(parent[1] - frame[1], 0)  # _AT, as in _ended
        rows.append((name, start, _clock(), _pid, tid, thread, total, None, where))
        return value

    call.__parlab_trace__ = trace.id  # type: ignore[attr-defined]
    return call


def _traced_async_generator(trace: Trace, function: Callable[..., AsyncGenerator[Any, Any]]) -> Callable[..., Any]:
    name = getattr(function, "__name__", "async generator")
    rows, frames = trace.rows, trace.frames

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        return _aiterate(name, rows, function(*args, **kwargs), frames)

    call.__parlab_trace__ = trace.id  # type: ignore[attr-defined]
    return call


async def _aiterate(
    name: str, rows: list[Row], generator: AsyncGenerator[Any, Any], frames: list[_Frame] | None = None
) -> AsyncGenerator[Any, Any]:
    """Runs a traced async generator: its bar spans its iteration, its CPU time is that of
    its own steps (not its awaits, not the consumer's work between items)."""
    import asyncio

    try:
        task = asyncio.current_task()
    except RuntimeError:
        task = None
    where = task and task.get_name()
    tid, thread = _this_thread()
    cpu = [0, 0]  # a meter for _metered: [CPU ns so far, offset]
    start = _clock()
    consumer = _current.get()

    def leaf() -> None:
        if frames is not None:
            _leaf(frames, name, tid, start, cpu[0], consumer)

    step = generator.asend(None)
    while True:
        try:
            item = await _metered(step, cpu)
        except StopAsyncIteration:
            leaf()
            rows.append((name, start, _clock(), _pid, tid, thread, cpu[0], None, where))
            return
        except BaseException as error:
            leaf()
            rows.append((name, start, _clock(), _pid, tid, thread, cpu[0], type(error).__name__, where))
            raise
        try:
            value = yield item
        except GeneratorExit:  # the consumer let go (`break`, `aclose()`): the bar ends here
            try:
                await _metered(generator.aclose(), cpu)
            finally:
                leaf()
                rows.append((name, start, _clock(), _pid, tid, thread, cpu[0], None, where))
            raise
        except BaseException as thrown:  # `athrow()`: hand it to the generator
            step = generator.athrow(thrown)
        else:
            step = generator.asend(value)


@types.coroutine
def _metered(coroutine: Any, meter: list[Any]) -> Generator[Any, Any, Any]:
    """Awaits `coroutine` step by step, adding up in meter[0] the CPU time of its steps only:
    the time it spends suspended (awaiting I/O, or while other coroutines run) is not its
    own. (`yield from coroutine` would do the same without the clock readings.) At each
    step's start meter[1] becomes the offset from the CPU clock to how far it has got
    (CPU time so far = clock + offset while the step runs): the task graph's `_OFF`."""
    send, throw = coroutine.send, coroutine.throw
    value: Any = None
    error: BaseException | None = None
    while True:
        before = _cpu()
        meter[1] = meter[0] - before
        try:
            step = send(value) if error is None else throw(error)
        except StopIteration as stop:
            meter[0] += _cpu() - before
            return stop.value
        except BaseException:
            meter[0] += _cpu() - before
            raise
        meter[0] += _cpu() - before
        try:
            value, error = (yield step), None
        except GeneratorExit:
            coroutine.close()
            raise
        except BaseException as thrown:  # e.g. CancelledError: hand it to the coroutine
            value, error = None, thrown


# --- the task graph: who spawned and who joined each call --------------------------------------

# A node of the task graph ("frame") is a plain list, the cheapest object to make: one is made on
# every traced call, so its slots are numbered. `_new_frame` names them in order:
_TOTAL = 0  # its own CPU time, ns: a call's once it ended, a coroutine's steps so far
_OFF = 1  # while it runs, how far it has got = the CPU clock + this; None for tasks and the block
_KIND = 2  # "call", "coroutine", "leaf" (a generator), "task", "root" (the block) or "join"
_NAME = 3
_TID = 4  # the thread it ran in
_PARENT = 5  # the frame it was called in (a task's: its spawner; a join's: the one that waited)
_AT = 6  # how far the parent had got when it began (a join: when it waited), in its CPU ns
_START = 7  # its row's start_ns once it ended (calls, coroutines, leaves)
_DONE = 8
_OTHER = 9  # a task: the frames that joined it; a join: the task joined

_Frame = list[Any]

#: The traced call (or spawned task, or trace block) running in this thread or asyncio task.
_current: contextvars.ContextVar[_Frame | None] = contextvars.ContextVar("parlab_trace_current", default=None)


def _new_frame(kind: str, name: str, tid: int, parent: _Frame | None = None, at: int = 0) -> _Frame:
    """A frame of a task, the block or a leaf (calls and coroutines make theirs inline). Tasks
    and blocks have no offset: their own code is not traced, only the calls they make."""
    return [0, None, kind, name, tid, parent, at, None, False, [] if kind == "task" else None]


def _progress(frame: _Frame, running: bool = True) -> int:
    """How far `frame` has got (ns of its own CPU time): while it runs, read on its own thread;
    otherwise a coroutine's steps so far. 0 for tasks and blocks."""
    if frame[_OFF] is None:
        return 0
    if running and frame[_TID] == _this_thread()[0]:
        return _cpu() + frame[_OFF]
    return frame[_TOTAL]


def _ended(frame: _Frame, token: contextvars.Token[_Frame | None] | None, start_ns: int, total: int) -> None:
    """Ends a call's or a coroutine's frame: its CPU time, and how far its caller had got when it
    began. (For a coroutine that is how far the caller has got now, less the coroutine's own
    time: the caller's progress includes it, as its steps ran inside the caller's.)"""
    frame[_TOTAL], frame[_START], frame[_DONE] = total, start_ns, True
    parent = frame[_PARENT]
    if token is not None:
        try:
            _current.reset(token)
        except ValueError:  # reset in another context than it was set in: put the parent back
            _current.set(parent)
    if parent is not None and parent[_OFF] is not None and parent[_TID] == frame[_TID]:
        if frame[_OFF]:  # = (its clock at the end − its time) + the caller's offset
            frame[_AT] = max(parent[_OFF] - frame[_OFF], 0)
        else:  # a coroutine that never ran a step
            frame[_AT] = _progress(parent)


def _leaf(frames: list[_Frame], name: str, tid: int, start_ns: int, cpu_ns: int, consumer: _Frame | None) -> None:
    """A generator's iteration: a strand of `cpu_ns` inside the frame that consumed it."""
    frame = _new_frame("leaf", name, tid)
    frame[_TOTAL], frame[_START], frame[_DONE] = cpu_ns, start_ns, True
    if consumer is not None and consumer[_TID] == tid:
        frame[_PARENT] = consumer
        frame[_AT] = max(_progress(consumer) - cpu_ns, 0)
    frames.append(frame)


def _record(frame: _Frame) -> None:
    """Adds a task or a join to every open trace of this process (which traces its frames
    belong to is not known here; the analysis keeps the ones whose frames it has)."""
    for trace in list(_ACTIVE.values()):
        if trace.pid == _pid:
            trace.frames.append(frame)


def _spawn(kind: str) -> _Frame | None:
    """A task spawned by the running frame (a thread, a future, an asyncio task), recorded
    in every open trace; None when no traced code is running here."""
    parent = _current.get()
    if parent is None or not _ACTIVE:
        return None
    task = _new_frame("task", kind, _this_thread()[0], parent, _progress(parent))
    _record(task)
    return task


def _run_in(task: _Frame, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Runs a spawned task's function with the task as the running frame."""
    task[_TID] = _this_thread()[0]
    token = _current.set(task)
    try:
        return function(*args, **kwargs)
    finally:
        task[_DONE] = True
        _current.reset(token)


def _joined(task: _Frame | None, frame: _Frame | None = None, running: bool = True) -> None:
    """The running frame (or `frame`, suspended unless `running`) waited for `task`, which has
    finished."""
    frame = frame if frame is not None else _current.get()
    if task is None or frame is None or frame is task or not task[_DONE]:
        return
    if any(j is frame for j in task[_OTHER]):
        return  # result() asked again, or a pool's shutdown after its results
    task[_OTHER].append(frame)
    join = _new_frame("join", "join", frame[_TID], frame, _progress(frame, running))
    join[_DONE], join[_OTHER] = True, task
    _record(join)


def _task_done(task: _Frame, _: Any) -> None:
    task[_DONE] = True


# The hooks: while a trace is open, spawning and joining record themselves (see `_hooks_on`).
_ORIGINALS: dict[tuple[Any, str], Any] = {}
_hook_users = 0
_hook_lock = threading.Lock()
_TASKS: weakref.WeakKeyDictionary[Any, _Frame] = weakref.WeakKeyDictionary()  # asyncio task → its frame


def _thread_start(self: threading.Thread) -> None:
    task = _spawn("thread")
    if task is not None:
        self._parlab_task = task  # type: ignore[attr-defined]
        self.run = functools.partial(_run_in, task, self.run)  # type: ignore[method-assign]
    _ORIGINALS[threading.Thread, "start"](self)


def _thread_join(self: threading.Thread, timeout: float | None = None) -> None:
    _ORIGINALS[threading.Thread, "join"](self, timeout)
    if not self.is_alive():
        _joined(getattr(self, "_parlab_task", None))


def _submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    task = _spawn("future")
    if task is None:
        return _ORIGINALS[_POOL, "submit"](self, fn, *args, **kwargs)
    future = _ORIGINALS[_POOL, "submit"](self, functools.partial(_run_in, task, fn), *args, **kwargs)
    future._parlab_task = task
    self.__dict__.setdefault("_parlab_tasks", []).append(task)
    return future


def _shutdown(self: Any, wait: bool = True, **kwargs: Any) -> None:
    _ORIGINALS[_POOL, "shutdown"](self, wait, **kwargs)
    if wait:
        for task in self.__dict__.get("_parlab_tasks", ()):
            if not task[_OTHER]:  # the ones nobody asked for: the pool's end waited for them
                _joined(task)


def _result(self: Any, timeout: float | None = None) -> Any:
    try:
        return _ORIGINALS[_FUTURE, "result"](self, timeout)
    finally:
        if self.done():
            _joined(getattr(self, "_parlab_task", None))


def _create_task(self: Any, coro: Any, **kwargs: Any) -> Any:
    task = _spawn("asyncio task")
    if task is None:
        return _ORIGINALS[_LOOP, "create_task"](self, coro, **kwargs)
    given = kwargs.get("context")
    context = given.copy() if given is not None else contextvars.copy_context()
    context.run(_current.set, task)
    kwargs["context"] = context
    made = _ORIGINALS[_LOOP, "create_task"](self, coro, **kwargs)
    made.add_done_callback(functools.partial(_task_done, task))
    with contextlib.suppress(TypeError):
        _TASKS[made] = task
    return made


def _gather(*aws: Any, return_exceptions: bool = False) -> Any:
    outer = _ORIGINALS[_ASYNCIO, "gather"](*aws, return_exceptions=return_exceptions)
    frame = _current.get()
    if frame is not None:
        tasks = [_TASKS.get(child) for child in getattr(outer, "_children", ())]
        outer.add_done_callback(functools.partial(_gathered, frame, tasks))
    return outer


def _gathered(frame: _Frame, tasks: list[_Frame | None], _: Any) -> None:
    for task in tasks:
        _joined(task, frame, running=False)  # a callback of the loop: the frame is suspended


def _group_create_task(self: Any, coro: Any, **kwargs: Any) -> Any:
    made = _ORIGINALS[_GROUP, "create_task"](self, coro, **kwargs)
    task = _TASKS.get(made)
    if task is not None:
        self.__dict__.setdefault("_parlab_tasks", []).append(task)
    return made


async def _group_exit(self: Any, *exc: Any) -> Any:
    try:
        return await _ORIGINALS[_GROUP, "__aexit__"](self, *exc)
    finally:
        for task in self.__dict__.get("_parlab_tasks", ()):
            _joined(task)


_POOL: Any = None
_FUTURE: Any = None
_LOOP: Any = None
_ASYNCIO: Any = None
_GROUP: Any = None


def _hooks_on() -> None:
    """Wraps, while any trace is open, what spawns and joins: `Thread.start` and `join`,
    `ThreadPoolExecutor.submit` and `shutdown`, `Future.result`, the event loop's
    `create_task`, `asyncio.gather` and `TaskGroup`. Each wrapper does what the original
    does, and records the spawn or join in the running frame."""
    global _hook_users, _POOL, _FUTURE, _LOOP, _ASYNCIO, _GROUP
    with _hook_lock:
        _hook_users += 1
        if _hook_users > 1:
            return
        import asyncio
        import concurrent.futures

        _POOL, _FUTURE = concurrent.futures.ThreadPoolExecutor, concurrent.futures.Future
        _LOOP, _ASYNCIO, _GROUP = asyncio.BaseEventLoop, asyncio, getattr(asyncio, "TaskGroup", None)
        hooks = [
            (threading.Thread, "start", _thread_start),
            (threading.Thread, "join", _thread_join),
            (_POOL, "submit", _submit),
            (_POOL, "shutdown", _shutdown),
            (_FUTURE, "result", _result),
            (_LOOP, "create_task", _create_task),
            (_ASYNCIO, "gather", _gather),
        ]
        if _GROUP is not None:
            hooks += [(_GROUP, "create_task", _group_create_task), (_GROUP, "__aexit__", _group_exit)]
        for owner, name, hook in hooks:
            _ORIGINALS[owner, name] = getattr(owner, name)
            setattr(owner, name, hook)


def _hooks_off() -> None:
    global _hook_users
    with _hook_lock:
        _hook_users = max(_hook_users - 1, 0)
        if _hook_users:
            return
        for (owner, name), original in list(_ORIGINALS.items()):
            setattr(owner, name, original)


def _events(trace: Trace) -> dict[int, list[tuple[Any, ...]]]:
    """For each frame (by id), what happened in it, in order: ("call", at, until, frame) for
    a call nested in it (in its own thread or asyncio task), ("spawn", at, task) and
    ("join", at, task), where `at` is how far it had got then, in ns of its own CPU time
    (0 for tasks and blocks, whose own code is not traced). The trace's frames are in the
    order these happened: a call's at its start, a spawn's or a join's when it was made."""
    events: dict[int, list[tuple[Any, ...]]] = {}
    for frame in trace.frames:
        parent, kind = frame[_PARENT], frame[_KIND]
        if parent is None:
            continue
        if kind == "join":
            event: tuple[Any, ...] = ("join", frame[_AT], frame[_OTHER])
        elif kind == "task":
            event = ("spawn", frame[_AT], frame)
        elif parent[_TID] == frame[_TID]:
            event = ("call", frame[_AT], frame[_AT] + frame[_TOTAL], frame)
        else:  # a context carried into another thread untracked (e.g. asyncio.to_thread): not nested
            continue
        events.setdefault(id(parent), []).append(event)
    return events


def _caller(frame: _Frame) -> _Frame | None:
    """The frame `frame` ran nested in, if in the same thread (a task's: its spawner)."""
    parent = frame[_PARENT]
    if parent is not None and frame[_KIND] != "task" and parent[_TID] != frame[_TID]:
        return None
    return parent


def _task_graph(trace: Trace) -> Any:
    from parlab._core import TaskGraph

    if trace.end_ns is None:
        raise ValueError(f"source: trace({trace.mode!r}) is still open: analyse it after its with block")
    running = [f for f in trace.frames if f[_KIND] in ("call", "coroutine") and not f[_DONE]]
    if running:
        raise ValueError(
            f"source: {len(running)} call(s) of trace({trace.mode!r}) had not finished, e.g. {running[0][_NAME]}; "
            "wait for every call (result(), join(), gather) before analysing the trace"
        )
    numbers = _task_numbers(trace)
    happened = _events(trace)
    frames = [trace._root, *(f for f in trace.frames if f[_KIND] not in ("task", "join") or id(f) in happened)]
    frames = [f for f in frames if f[_KIND] != "join"]
    framed = {(f[_START], f[_TID]) for f in frames if f[_START] is not None}
    for k, row in enumerate(sorted(trace.rows, key=lambda r: r[1])):  # calls of other processes
        if row[3] != trace.pid or (row[1], row[4]) not in framed:
            leaf = _new_frame("leaf", f"{row[0]} #{k} (pid {row[3]})", row[4])
            leaf[_TOTAL], leaf[_DONE], leaf[_START] = row[6], True, row[1]
            frames.append(leaf)
    alive = {id(f) for f in frames}
    work: list[float] = []
    labels: list[str] = []
    edges: list[tuple[int, int, str]] = []
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    later: list[tuple[_Frame, str, int, str]] = []  # (frame, "first" | "last", the other node, kind)
    attached: set[int] = set()

    def node(label: str) -> int:
        work.append(0.0)
        labels.append(label)
        return len(work) - 1

    alias: dict[int, _Frame] = {}  # a task that only ran one call: drawn as that call

    for frame in frames:
        events = [e for e in happened.get(id(frame), ()) if id(e[-1]) in alive]
        if frame[_KIND] == "task" and len(events) == 1 and events[0][0] == "call":
            alias[id(frame)] = events[0][-1]
            attached.add(id(events[0][-1]))
            continue
        name = _frame_label(frame, numbers)
        parts = len(events) + 1
        strand = first[id(frame)] = node(name if parts == 1 else f"{name} · 1/{parts}")
        at = 0
        for i, event in enumerate(events, start=2):
            kind, child = event[0], event[-1]
            work[strand] = max(event[1] - at, 0) / 1e9
            at = max(at, event[2] if kind == "call" else event[1])
            after = node(f"{name} · {i}/{parts}")
            if kind == "call":
                later += [(child, "first", strand, "continue"), (child, "last", after, "continue")]
            else:
                edges.append((strand, after, "continue"))
                later.append(
                    (child, "first" if kind == "spawn" else "last", strand if kind == "spawn" else after, kind)
                )
            attached.add(id(child))
            strand = after
        work[strand] = max(frame[_TOTAL] - at, 0) / 1e9
        last[id(frame)] = strand
    end = node("end of trace")
    edges.append((last[id(trace._root)], end, "continue"))
    start = first[id(trace._root)]

    def begins(frame: _Frame) -> int:
        while id(frame) in alias:
            frame = alias[id(frame)]
        return first[id(frame)]

    def ends(frame: _Frame) -> int:
        while id(frame) in alias:
            frame = alias[id(frame)]
        return last[id(frame)]

    for child, side, other, kind in later:
        if side == "first":
            edges.append((other, begins(child), kind))
        else:
            edges.append((ends(child), other, kind))
    for frame in frames[1:]:
        if frame[_KIND] != "task" and id(frame) not in attached:  # nobody traced called it
            edges += [(start, first[id(frame)], "spawn"), (last[id(frame)], end, "join")]
        if frame[_KIND] == "task" and not any(id(j) in alive for j in frame[_OTHER]):
            edges.append((ends(frame), end, "join"))  # waited for by the block's end, if at all
    return TaskGraph(work, edges, labels, unit="CPU seconds")


def _task_numbers(trace: Trace) -> dict[tuple[int | None, int], int]:
    """(start_ns, tid) of each call of this process → its `task` number in the frame."""
    order = sorted(range(len(trace.rows)), key=lambda i: trace.rows[i][1])
    return {(trace.rows[i][1], trace.rows[i][4]): k for k, i in enumerate(order) if trace.rows[i][3] == trace.pid}


def _frame_label(frame: _Frame, numbers: dict[tuple[int | None, int], int]) -> str:
    if frame[_KIND] == "root":
        return "trace"
    if frame[_KIND] == "task":
        return frame[_NAME]
    k = numbers.get((frame[_START], frame[_TID]))
    return frame[_NAME] if k is None else f"{frame[_NAME]} #{k}"


def _calling(frame: _Frame | None) -> _Frame | None:
    """The traced call a frame stands for: itself, or for a task the call that spawned it."""
    while frame is not None and frame[_KIND] in ("task", "root"):
        frame = frame[_PARENT] if frame[_KIND] == "task" else None
    return frame


def _links(trace: Trace) -> pd.DataFrame:
    import pandas as pd

    numbers = _task_numbers(trace)
    rows = {}
    for frame in trace.frames:
        k = numbers.get((frame[_START], frame[_TID]))
        if k is None or frame[_KIND] in ("task", "join", "root"):
            continue
        parent = _caller(frame)
        if parent is None:
            how, joiner = None, None
        elif parent[_KIND] == "task":
            how, joiner = "spawned", _calling(next(iter(parent[_OTHER]), None))
        else:  # called in its caller's thread or task, which waited for it
            how, joiner = "called", _calling(parent)
        caller = _calling(parent)
        rows[k] = {
            "function": frame[_NAME],
            "parent": numbers.get((caller[_START], caller[_TID])) if caller is not None else None,
            "how": how,
            "joined_by": numbers.get((joiner[_START], joiner[_TID])) if joiner is not None else None,
        }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["function", "parent", "how", "joined_by"])
    frame = frame.sort_index().rename_axis("task")
    for column in ("parent", "joined_by"):
        frame[column] = frame[column].astype("Int64")
    return frame


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
