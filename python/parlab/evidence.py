"""Evidence that a grade can rest on: the same verdict on a quiet, a busy and a 1-CPU machine.

A wall-clock time says little about concurrency: on a busy machine a parallel program can be
as slow as a sequential one, and on a quiet one a sequential program can look fast. What does
not depend on the machine is *what happened*: whether two calls were in progress at the same
time, how many units of work each thread did, which threads did them.

    meet = evidence.rendezvous(3, what="tiles")
    image = queue_render(meet.task(render_tile), 3)   # the student's scheduler
    meet.check()          # AssertionError, in plain words, unless 3 tiles ran at once

`rendezvous(k)` wraps a task function so that each call waits (up to `timeout_s`) until k calls
are in progress together. Code that really runs k calls at once meets at once, on any machine:
threads that share one CPU are all *in progress* while they take turns. Code that runs the
calls one after another, or inside one lock, or starts a thread and joins it before starting
the next, never gets there: the first call waits out the timeout, every later call runs
straight through, and `check()` says what was seen ("at most 1 tile in progress at once").

`paced(fn, cost, seconds_per_unit)` makes a call's duration proportional to its counted work
(a sleep, which needs no CPU), so that a scheduler's balance is the same however busy the CPUs
are: `meet.work_by_thread()` then tells how much work each thread did, counted, not timed.

Threads are told apart by a token given to each new thread (`threading.local`), never by
`threading.get_ident()`, which Python reuses once a thread has ended.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from parlab.checks import check_int, check_number

__all__ = ["NotConcurrent", "Rendezvous", "list_schedule_bound", "paced", "rendezvous", "thread_token"]

_tokens = itertools.count(1)
_local = threading.local()


def thread_token() -> int:
    """A number for the calling thread that no other thread of this process ever gets (1, 2, …)."""
    token = getattr(_local, "token", None)
    if token is None:
        token = _local.token = next(_tokens)
    return token


class NotConcurrent(AssertionError):
    """A rendezvous was never reached: the calls it saw did not run at the same time."""


class Rendezvous:
    """Counts the calls of the functions it wraps that are in progress, and holds each call
    until `k` are in progress together (or `timeout_s` has passed once; see the module)."""

    def __init__(self, k: int, timeout_s: float = 5.0, what: str = "calls") -> None:
        self.k = check_int("k", k, 1, 1024)
        self.timeout_s = check_number("timeout_s", timeout_s, 0.01, 600)
        self.what = str(what)
        self._lock = threading.Condition()
        self._in_progress = 0
        self.peak = 0  #: the most calls ever in progress at once
        self.calls = 0  #: calls started
        self.reached = self.k <= 1  #: k calls were in progress together at least once
        self.timed_out = False  #: a call waited `timeout_s` without meeting k − 1 others
        self._work: dict[int, float] = {}
        self._calls_by: dict[int, int] = {}
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []

    # -- recording --------------------------------------------------------------------------
    def _enter(self) -> int:
        token = thread_token()
        with self._lock:
            self._in_progress += 1
            self.calls += 1
            self._calls_by[token] = self._calls_by.get(token, 0) + 1
            self.peak = max(self.peak, self._in_progress)
            if self._in_progress >= self.k and not self.reached:
                self.reached = True
                self._wake()
        return token

    def _leave(self, token: int, work: float) -> None:
        with self._lock:
            self._in_progress -= 1
            self._work[token] = self._work.get(token, 0.0) + work

    def _done_waiting(self) -> bool:
        return self.reached or self.timed_out

    def _wake(self) -> None:
        """Wakes every waiting call, threads and coroutines (called with the lock held)."""
        self._lock.notify_all()
        for loop, future in self._waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_resolve, future)
        self._waiters.clear()

    def _wait(self) -> None:
        with self._lock:
            if not self._lock.wait_for(self._done_waiting, self.timeout_s):
                self.timed_out = True
                self._wake()

    async def _await(self) -> None:
        # A future of the calling loop, resolved from whichever thread (or loop) completes the
        # rendezvous: the calls may come from several threads' event loops.
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            if self._done_waiting():
                return
            self._waiters.append((loop, future))
        try:
            await asyncio.wait_for(future, self.timeout_s)
        except TimeoutError:
            with self._lock:
                self.timed_out = True
                self._wake()

    def task(self, fn: Callable[..., Any], cost: Callable[..., float] | None = None) -> Callable[..., Any]:
        """`fn` wrapped: each call is counted, waits for the rendezvous, then runs `fn`.

        cost: the work a call did, from its result (`cost(result)`), added to the calling
        thread's total in `work_by_thread()`; default 1 per call."""
        if not callable(fn):
            raise TypeError(f"fn: must be callable, got {type(fn).__name__}")
        measure = cost or (lambda _result: 1.0)
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def waiting_coroutine(*args: Any, **kwargs: Any) -> Any:
                token, work = self._enter(), 0.0
                try:
                    await self._await()
                    result = await fn(*args, **kwargs)
                    work = float(measure(result))
                    return result
                finally:
                    self._leave(token, work)

            return waiting_coroutine

        @functools.wraps(fn)
        def waiting(*args: Any, **kwargs: Any) -> Any:
            token, work = self._enter(), 0.0
            try:
                self._wait()
                result = fn(*args, **kwargs)
                work = float(measure(result))
                return result
            finally:
                self._leave(token, work)

        return waiting

    # -- what was seen ----------------------------------------------------------------------
    def threads(self) -> int:
        """How many distinct threads made calls."""
        with self._lock:
            return len(self._calls_by)

    def calls_by_thread(self) -> list[int]:
        """Calls per thread, in the order the threads first called."""
        with self._lock:
            return list(self._calls_by.values())

    def work_by_thread(self) -> list[float]:
        """The work (`cost`) each thread did, in the order the threads first called."""
        with self._lock:
            return [self._work.get(token, 0.0) for token in self._calls_by]

    def check(self, threads: int | None = None) -> None:
        """Raise `NotConcurrent` unless k calls were in progress at once (and, when `threads`
        is given, unless exactly that many threads made calls). The message says what was seen."""
        seen = self.threads()
        if not self.reached:
            one = self.what.rstrip("s") if self.peak == 1 else self.what
            if self.calls == 0:
                raise NotConcurrent(f"no {self.what} were made through the function the test handed in")
            if self.peak <= 1:
                hint = (
                    f"{self.calls} {self.what} ran on {seen} thread(s), each finished before the next started. "
                    "Start every thread (or task) before you join (or await) any, and do not hold a lock "
                    "around the work itself."
                )
            else:
                hint = f"{self.k} were expected to run together."
            raise NotConcurrent(
                f"your code never had {self.k} {self.what} in progress at once: at most {self.peak} {one} "
                f"at a time. {hint}"
            )
        if threads is not None and seen != threads:
            raise NotConcurrent(f"{self.what} ran on {seen} thread(s), expected {threads}")

    def __repr__(self) -> str:
        return (
            f"Rendezvous(k={self.k}, reached={self.reached}, peak={self.peak}, calls={self.calls}, "
            f"threads={self.threads()})"
        )


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def rendezvous(k: int, timeout_s: float = 5.0, what: str = "calls") -> Rendezvous:
    """A `Rendezvous` of k calls (see the module): `meet.task(fn)`, then `meet.check()`."""
    return Rendezvous(k, timeout_s, what)


def paced(fn: Callable[..., Any], cost: Callable[[Any], float], seconds_per_unit: float) -> Callable[..., Any]:
    """`fn` followed by a sleep of `cost(result) × seconds_per_unit`: a call whose duration is
    its counted work and needs no CPU, so that how a scheduler shares such calls between
    threads does not depend on how busy the CPUs are."""
    if not callable(fn) or not callable(cost):
        raise TypeError("fn and cost: must be callable")
    seconds_per_unit = check_number("seconds_per_unit", seconds_per_unit, 0, 1)

    @functools.wraps(fn)
    def slow(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        time.sleep(float(cost(result)) * seconds_per_unit)
        return result

    return slow


def list_schedule_bound(costs: Sequence[float], threads: int) -> float:
    """The most work any of `threads` threads can get from a shared queue of tasks with these
    costs (Graham's bound for list scheduling): a fair share plus the largest task, since a
    thread takes a new task only when it is free, so no thread is still busy when another
    starts its last task while more than one task's work remains for it."""
    threads = check_int("threads", threads, 1, 1024)
    if not costs:
        return 0.0
    return sum(costs) / threads + max(costs)
