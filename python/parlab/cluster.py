"""Tiles on a Dask cluster: the same image as `parlab.render`, one task per tile, with a
per-worker timeline read from Dask's task stream.

    from parlab import cluster
    with cluster.local(workers=2, threads_per_worker=1) as client:   # a real LocalCluster
        run = cluster.render(client, width=800, height=600, tile_w=100, tile_h=100)
    run.iterations      # the same counts as parlab.render, bit for bit
    run.to_frame()      # compute rows (one per tile), plus transfer and idle rows

`render` works with any `distributed.Client`: on a real cluster, connect to its scheduler
(``Client("tcp://scheduler:8786")``); every worker needs parlab installed, since each task
calls the core's tile renderer there. `distributed` is imported only when this module is
used, so `import parlab` stays light.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import numbers
import operator
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

import parlab as _tiles
from parlab._core import TaskRecord, render_tile

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client

_RECORD_COLUMNS = list(TaskRecord(*[0] * 10).to_dict())

#: At most this many tasks (tiles) in one render: a lesson's minute. A task costs Dask ~3.5 ms
#: from submission to its result here (10,000 tasks took 34.5 s on 2 CPUs; 100,000 were still
#: running after 120 s), so more is refused before the first is submitted.
MAX_TASKS = 10_000
#: At most this many workers (and threads per worker) for `local`: one machine's worth.
MAX_LOCAL_WORKERS = 64

#: How long `local` waits for its workers to start (seconds; 1-3 s is usual, more when busy).
STARTUP_TIMEOUT_S = 120
#: The kinds of rows of `ClusterRun.to_frame()`.
KINDS = ("compute", "transfer", "idle")


#: What Dask's task-stream actions other than compute and transfer mean.
_ACTIONS = {
    # Dask records any store of a result that took over 5 ms as "disk-write": a real spill
    # to disk, or a worker that the operating system paused (a busy machine).
    "disk-write": "disk-write (storing the result took over 5 ms: spilled, or the worker was paused)",
    "disk-read": "disk-read (a spilled input read back)",
    "deserialize": "deserialize (unpacking the task)",
}


# --- on the worker ---------------------------------------------------------------------


@functools.cache
def _kernel_name(kernel: str) -> str:
    """The concrete kernel `kernel` resolves to on this machine (cached per worker process):
    a one-pixel render says which one the core picks."""
    return _tiles.render(1, 1, 1, 1, 1, "sequential", kernel=kernel).kernel


def _render_tile(tile_x, tile_y, tile_w, tile_h, width, height, max_iter, viewport, kernel):
    """One task: a tile's escape counts, computed on the worker by the core (GIL released),
    the kernel that ran, and the CPU time the worker's thread spent on it (less than the
    wall time when the worker shared its CPU)."""
    cpu = time.thread_time()
    counts = render_tile(
        tile_x, tile_y, tile_w, tile_h, width=width, height=height, max_iter=max_iter, viewport=viewport, kernel=kernel
    )
    return counts, _kernel_name(kernel), time.thread_time() - cpu


def _assemble(width: int, height: int, placed: Sequence[tuple[int, int]], *results) -> np.ndarray:
    """The `assemble="cluster"` task: paste every tile into one image, on one worker."""
    image = np.zeros((height, width), dtype=np.uint32)
    for (x, y), (counts, *_) in zip(placed, results, strict=True):
        image[y : y + counts.shape[0], x : x + counts.shape[1]] = counts
    return image


# --- the cluster -----------------------------------------------------------------------


@contextlib.contextmanager
def local(workers: int = 2, threads_per_worker: int = 1, processes: bool = True) -> Iterator[Client]:
    """A real `distributed.LocalCluster` on this machine and a `Client` connected to it,
    both closed (worker processes ended, ports released) when the block ends, also on
    Ctrl-C, and also on a Ctrl-C while they start.

    workers: worker processes (each its own Python, like machines of a cluster).
    threads_per_worker: threads in each worker process.
    processes: False runs the workers as threads of this process (faster to start; a
        script read from standard input needs it, see below).

    The scheduler and workers listen on 127.0.0.1 only, on free ports. Where bokeh is
    installed, `client.dashboard_link` is Dask's dashboard. Dask starts worker processes by
    "spawn": each imports the main script again, so a script read from standard input
    (`python - <<EOF`) is refused at once with processes=True.
    """
    workers = _count("workers", workers, MAX_LOCAL_WORKERS)
    threads_per_worker = _count("threads_per_worker", threads_per_worker, MAX_LOCAL_WORKERS)
    if not isinstance(processes, bool):
        raise TypeError(f"processes: must be True or False, got {type(processes).__name__}")
    if processes:
        _check_main_importable()
    from distributed import Client, LocalCluster

    client: Client | None = None
    cluster: LocalCluster | None = None
    # A Ctrl-C in the middle of Dask's start-up (inside its event loop's calls) leaves worker
    # processes, ports and threads behind, and coroutines never awaited: while starting,
    # Ctrl-C is noted instead, looked at between the steps, and then everything is closed.
    with _interrupt_noted() as interrupted:
        try:
            cluster = LocalCluster(
                n_workers=0,
                threads_per_worker=threads_per_worker,
                processes=processes,
                # TCP on the loopback in both cases: with processes=False Dask would pick its
                # in-process transport, whose addresses "127.0.0.1" is not ("Scheduler failed
                # to start").
                protocol="tcp://",
                host="127.0.0.1",
                scheduler_port=0,
                # The scheduler always serves HTTP (health, metrics; the dashboard where bokeh
                # is installed): on a free port, never the default 8787 another cluster holds.
                dashboard_address=":0",
                # A killed worker (lesson 10 kills one) is a scene, not an error: quiet logs.
                silence_logs=logging.CRITICAL,
            )
            if not interrupted():
                # The client first: made after `scale`, it waits for the workers (seconds on
                # a busy machine) in one uninterruptible call.
                client = Client(cluster)
                cluster.scale(workers)
                _wait_for_workers(client, workers, interrupted)
        except BaseException:
            _close(client, cluster, hurry=True)
            raise
        if interrupted():
            _close(client, cluster, hurry=True)
            interrupted.reraise()
    assert client is not None and cluster is not None
    try:
        yield client
    except BaseException:
        # Ctrl-C or an error: close everything, and let that exception, not a complaint of
        # the interrupted cluster about its close, reach the caller.
        with _interrupt_noted():
            _close(client, cluster)
        raise
    with _interrupt_noted() as interrupted:
        _close(client, cluster)
    interrupted.reraise()


def _check_main_importable() -> None:
    """Dask's worker processes are started by "spawn" (its default), which imports the main
    script again in each: from standard input there is no file to import, every worker
    dies, and `wait_for_workers` would wait its whole timeout. Say so at once."""
    import sys

    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file is None or os.path.isfile(main_file):  # Jupyter, `python -c`, a script
        return
    import dask.config

    method = dask.config.get("distributed.worker.multiprocessing-method", "spawn")
    if method in ("spawn", "forkserver"):
        raise RuntimeError(
            f"processes: Dask starts its worker processes by {method!r}, which imports the main script "
            f"({main_file!r}) again in each, and a script read from standard input cannot be imported: "
            "use processes=False (workers as threads of this process), or save the script to a file"
        )


class _NotedInterrupt:
    """What `_interrupt_noted` hands out: call it to ask whether Ctrl-C came."""

    def __init__(self) -> None:
        self.frames: list[Any] = []
        self.previous: Any = None

    def __call__(self) -> bool:
        return bool(self.frames)

    def reraise(self) -> None:
        """The Ctrl-C noted, delivered now to the handler it was meant for."""
        if not self.frames:
            return
        previous = self.previous
        if callable(previous):
            previous(signal.SIGINT, self.frames[0])
        raise KeyboardInterrupt


@contextlib.contextmanager
def _interrupt_noted() -> Iterator[_NotedInterrupt]:
    """Within the block, SIGINT (Ctrl-C, Jupyter's "interrupt kernel") is noted, not raised
    wherever the code happens to be; the previous handler is back afterwards. Outside the
    main thread (where SIGINT never arrives) nothing changes."""
    noted = _NotedInterrupt()
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return
    noted.previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda number, frame: noted.frames.append(frame))
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, noted.previous)


def _wait_for_workers(client: Client, workers: int, interrupted: Callable[[], bool]) -> None:
    """Waits for `workers` workers, a short wait at a time, until Ctrl-C is noted."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not interrupted():
        try:
            client.wait_for_workers(workers, timeout=0.25)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                arrived = len(client.scheduler_info().get("workers", {}))
                raise TimeoutError(
                    f"workers: only {arrived} of {workers} started within {STARTUP_TIMEOUT_S} s "
                    "(a busy machine? ask for fewer)"
                ) from None


def _close(client: Client | None, cluster: Any, hurry: bool = False) -> None:
    """Closes the client, then the cluster (its worker processes end, its ports close).

    hurry (after Ctrl-C): the cluster's close waits for every worker still starting to
    finish starting (3-10 s on a busy machine), so while it runs (on a helper thread) each
    worker process is killed as soon as it exists; its nanny then gives up at once."""
    if client is not None:
        with contextlib.suppress(Exception):
            client.close()
    if cluster is None:
        return
    if not hurry:
        with contextlib.suppress(Exception):
            cluster.close()
        return

    def close() -> None:
        with contextlib.suppress(Exception):
            cluster.close()

    closing = threading.Thread(target=close, name="parlab-cluster-close")
    closing.start()
    killed: set[int] = set()
    while closing.is_alive():
        for process in _worker_processes(cluster):
            if process.pid is not None and process.pid not in killed:
                killed.add(process.pid)
                with contextlib.suppress(Exception):
                    process.kill()
        closing.join(0.05)


def _worker_processes(cluster: Any) -> list[Any]:
    """The `multiprocessing.Process` of each nanny's worker (Dask keeps them private: an
    attribute missing in another version yields nothing, and the close just takes longer)."""
    processes = []
    for nanny in list(getattr(cluster, "workers", {}).values()):
        process = getattr(getattr(getattr(nanny, "process", None), "process", None), "_process", None)
        if process is not None and hasattr(process, "kill"):
            processes.append(process)
    return processes


# --- the render ------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class ClusterRun:
    """`render`'s result: the fields of a `parlab.RenderRun` (iterations, one record per tile
    with `thread_id` = the worker thread's rank, times in µs since the run started on the
    scheduler's clock) plus what only a cluster has."""

    # The fields of parlab.RenderRun (the core's class, which knows only its own strategies
    # and kernels: "dask" and a list of kernels are not among them).
    iterations: np.ndarray
    records: list[TaskRecord]
    completed_tiles: int
    total_tiles: int
    time_limited: bool
    elapsed_us: float
    strategy: str
    threads: int
    kernel: str
    interior_shortcut: bool

    #: rank -> (worker address, thread ident): who each `thread_id` is.
    lanes: tuple[tuple[str, int], ...] = ()
    #: Rows besides the tiles' compute rows: transfers, idle gaps, work lost with a worker.
    extra_rows: tuple[dict[str, Any], ...] = ()
    #: Bytes of results sent over the network (Dask's sizes): with assemble="client" every
    #: tile to the client; with "cluster" the other workers' tiles to the assembling worker,
    #: then the image to the client.
    bytes_moved: int = 0
    #: Tiles computed more than once (their first result was lost with a worker).
    recomputed_tiles: int = 0
    #: The scheduler's address.
    scheduler: str = ""
    #: When the run started, on the client's clock (`time.time()`): an event the client saw at
    #: time t happened (t − started_at) × 1e6 µs into the run.
    started_at: float = 0.0
    #: The client's clock minus the scheduler's, measured before the run (seconds).
    clock_offset_s: float = 0.0
    #: From the client's first submission to the first task starting on a worker (µs).
    first_start_us: float = 0.0
    #: CPU time (µs) each tile's thread spent on it, by task id (NaN with assemble="cluster").
    #: Beside `duration_us` (wall time) it tells whether the worker had a CPU to itself.
    cpu_us: tuple[float, ...] = ()
    #: Every worker the run saw, by address (the order of the ranks).
    workers: tuple[str, ...] = field(default=())
    #: Workers that joined or left during the run, from the scheduler's event log: dicts of
    #: `time_us`, `action` ("add-worker" or "remove-worker"), `worker`, and for a removal the
    #: task ids it was computing (`processing_tiles`) and had computed but not yet delivered
    #: (`lost_tiles`): both run again elsewhere.
    worker_events: tuple[dict[str, Any], ...] = ()

    def tile(self, record: TaskRecord) -> np.ndarray:
        """The escape counts of one record's tile (a view into `iterations`)."""
        return self.iterations[
            record.tile_y : record.tile_y + record.tile_h, record.tile_x : record.tile_x + record.tile_w
        ]

    def to_frame(self) -> pd.DataFrame:
        """One row per tile (`kind` "compute", as in `RenderRun.to_frame`) plus rows of kind
        "transfer" (data moving: to a worker, into the assembled image, to or from disk) and
        "idle" (a worker thread waiting between tasks: scheduling, the network, no work
        left), each with its `worker` address and a `detail`, ordered by start. Compute rows
        also carry `cpu_us`, the tile's CPU time on its worker."""
        import pandas as pd

        frame = pd.DataFrame([r.to_dict() for r in self.records], columns=_RECORD_COLUMNS)
        frame["end_us"] = frame["start_us"] + frame["duration_us"]
        frame["kind"] = "compute"
        frame["worker"] = [self.lanes[t][0] for t in frame["thread_id"]]
        frame["detail"] = ""
        frame["cpu_us"] = [self.cpu_us[t] for t in frame["task_id"]] if self.cpu_us else np.nan
        if self.extra_rows:
            extra = pd.DataFrame(list(self.extra_rows))
            extra["end_us"] = extra["start_us"] + extra["duration_us"]
            frame = pd.concat([frame, extra.reindex(columns=frame.columns)], ignore_index=True)
        for column in ("task_id", "tile_x", "tile_y", "tile_w", "tile_h", "pixels", "iterations"):
            frame[column] = frame[column].fillna(-1 if column == "task_id" else 0).astype("int64")
        return frame.sort_values(["start_us", "thread_id"], kind="stable", ignore_index=True)

    def per_thread(self) -> pd.DataFrame:
        """One row per worker thread: tiles, busy, transfer and idle time (ms), iterations."""
        frame = self.to_frame()
        ranks = range(self.threads)
        compute = frame[(frame["kind"] == "compute") & (frame["task_id"] >= 0)]
        grouped = compute.groupby("thread_id").agg(
            tiles=("task_id", "size"), busy_ms=("duration_us", "sum"), iterations=("iterations", "sum")
        )
        grouped = grouped.reindex(ranks, fill_value=0)
        grouped.index.name = "thread_id"
        for kind in ("transfer", "idle"):
            rows = frame[frame["kind"] == kind].groupby("thread_id")["duration_us"].sum()
            grouped[f"{kind}_ms"] = rows.reindex(ranks, fill_value=0.0) / 1e3
        grouped["busy_ms"] = grouped["busy_ms"] / 1e3
        grouped["worker"] = [self.lanes[t][0] for t in ranks]
        return grouped

    def __repr__(self) -> str:
        height, width = self.iterations.shape
        return (
            f"ClusterRun(dask on {len(self.workers)} worker(s), {self.threads} thread(s), {self.kernel} kernel: "
            f"{width}×{height}, {self.total_tiles} tiles in {self.elapsed_us / 1e3:.1f} ms)"
        )


def render(
    client: Client,
    width: int = 800,
    height: int = 600,
    tile_w: int = 100,
    tile_h: int = 100,
    max_iter: int = 1000,
    viewport: Sequence[float] = _tiles.DEFAULT_VIEWPORT,
    kernel: str = "auto",
    on_tile: Callable[[int, np.ndarray], Any] | None = None,
    assemble: str = "client",
) -> ClusterRun:
    """Render the Mandelbrot set on a Dask cluster: one task per tile, each rendering its
    tile on a worker; the same counts as `parlab.render`, bit for bit.

    client: any `distributed.Client` (a `local()` cluster, or ``Client("tcp://host:8786")``).
    assemble: "client" gathers every tile here as it finishes; "cluster" pastes the tiles
        into one image on a worker (one more task, which fetches the other workers' tiles:
        transfer rows) and gathers only that image.
    on_tile: with assemble="client", called here as ``on_tile(task_id, counts)`` as each
        tile arrives. If it raises, the render's remaining tasks are cancelled.

    A worker that dies mid-render loses its tasks; the scheduler runs them again on the
    others, and the image stays exact. Ctrl-C cancels the remaining tasks and raises
    KeyboardInterrupt. Bad parameters raise TypeError or ValueError naming them.
    """
    client = _check_client(client)
    if not isinstance(assemble, str) or assemble not in ("client", "cluster"):
        raise ValueError(f"assemble: must be 'client' or 'cluster', got {assemble!r}")
    if on_tile is not None and (assemble != "client" or not callable(on_tile)):
        raise TypeError("on_tile: must be a function, and only with assemble='client'")
    # The core checks every parameter, naming it in its message; a zero time limit renders nothing.
    _tiles.render(width, height, tile_w, tile_h, max_iter, "sequential", time_limit_ms=0,
                  viewport=viewport, kernel=kernel)  # fmt: skip
    width, height, tile_w, tile_h, max_iter = map(operator.index, (width, height, tile_w, tile_h, max_iter))
    viewport = tuple(float(v) for v in viewport)
    grid = _tile_grid(width, height, tile_w, tile_h)
    if len(grid) > MAX_TASKS:
        raise ValueError(
            f"tile_w: {len(grid)} tiles of {tile_w}×{tile_h} is over the limit of {MAX_TASKS} tasks a render "
            "(cluster.MAX_TASKS: about a minute of Dask's overhead per task); use larger tiles"
        )

    offset = _clock_offset(client)
    workers_before = _workers(client)
    token = uuid.uuid4().hex[:12]
    keys = [f"parlab-tile-{token}-{i}" for i in range(len(grid))]
    image = np.zeros((height, width), dtype=np.uint32)
    kernels: set[str] = set()
    cpu = np.full(len(grid), np.nan)
    from distributed import as_completed, get_task_stream

    # Entering the task stream first makes the scheduler record from the first task on
    # (dask/distributed#9253: otherwise the first task can be missing).
    stream = get_task_stream(client)
    stream.__enter__()
    pending: dict[str, Any] = {}
    try:
        t0 = time.time()
        futures = client.map(
            _render_tile, *zip(*grid, strict=True), key=keys, pure=False,
            width=width, height=height, max_iter=max_iter, viewport=viewport, kernel=kernel,
        )  # fmt: skip
        pending.update(zip((f.key for f in futures), futures, strict=True))
        del futures
        if assemble == "client":
            index = {key: i for i, key in enumerate(keys)}
            for future, (counts, name, cpu_s) in as_completed(list(pending.values()), with_results=True):
                task_id = index[future.key]
                cpu[task_id] = cpu_s * 1e6
                x, y, _, _ = grid[task_id]
                image[y : y + counts.shape[0], x : x + counts.shape[1]] = counts
                kernels.add(name)
                # Releasing a gathered tile keeps the scheduler from recomputing it if its
                # worker dies later: only unfinished tiles are re-run.
                del pending[future.key]
                if on_tile is not None:
                    on_tile(task_id, counts)
        else:
            placed = [(x, y) for x, y, _, _ in grid]
            whole = client.submit(
                _assemble, width, height, placed, *pending.values(), key=f"parlab-assemble-{token}", pure=False
            )
            pending[whole.key] = whole
            image = whole.result()
            kernels.update(client.gather(client.map(_kernel_name, [kernel], pure=False)))
            pending.clear()
        t_end = time.time()
    except BaseException:
        # Ctrl-C, an error in a task or in on_tile: cancel what is left, and let that
        # exception, not a complaint of the interrupted client while cleaning up, propagate.
        with contextlib.suppress(Exception):
            client.cancel(list(pending.values()))
        with contextlib.suppress(Exception):
            stream.__exit__(None, None, None)
        raise
    stream.__exit__(None, None, None)
    entries = _stream_entries(client, stream.data, set(keys) | {f"parlab-assemble-{token}"}, len(keys))
    return _build_run(
        image, grid, keys, entries, workers_before | _workers(client), t0 - offset, t_end - offset,
        kernels, client, offset, cpu,
    )  # fmt: skip


def _check_client(client: object) -> Client:
    from distributed import Client

    if not isinstance(client, Client):
        raise TypeError(f"client: must be a distributed.Client, got {type(client).__name__}")
    if client.asynchronous:
        raise ValueError("client: is asynchronous; render needs a synchronous Client")
    if client.status != "running":
        raise ValueError(f"client: is {client.status}, not running (was it closed?)")
    if not client.scheduler_info().get("workers"):
        raise ValueError("client: the cluster has no workers")
    return client


def _count(name: str, value: object, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: must be an integer, got {type(value).__name__}")
    if not 1 <= value <= most:
        raise ValueError(f"{name}: must be between 1 and {most}, got {value}")
    return int(value)


def _tile_grid(width: int, height: int, tile_w: int, tile_h: int) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of every tile in row-major order, edge tiles clipped: the core's task ids."""
    return [
        (x, y, min(tile_w, width - x), min(tile_h, height - y))
        for y in range(0, height, tile_h)
        for x in range(0, width, tile_w)
    ]


def _clock_offset(client: Client) -> float:
    """The client's clock minus the scheduler's (seconds, within half a round trip): the task
    stream's times are on the scheduler's clock; the run's start and end on the client's."""
    # The sample with the shortest round trip bounds the error best (as NTP does). Within
    # that bound the clocks agree, as they do on one machine (a LocalCluster): then 0, so
    # that a slow round trip on a busy machine cannot push tiles outside the run.
    samples = []
    for _ in range(5):
        before = time.time()
        remote = client.run_on_scheduler(time.time)
        after = time.time()
        samples.append((after - before, (before + after) / 2 - remote))
    trip, offset = min(samples)
    return 0.0 if abs(offset) <= trip / 2 else offset


def _workers(client: Client) -> dict[str, int]:
    """address -> threads of every worker the scheduler knows now."""
    return {address: int(w.get("nthreads", 1)) for address, w in client.scheduler_info()["workers"].items()}


def _stream_entries(client: Client, data: list[dict], keys: set[str], tiles: int) -> list[dict]:
    """The task stream's entries for this run's keys. Should a tile be missing (a scheduler
    older than the fix of dask/distributed#9253 drops the first task), ask again."""
    entries = [e for e in data if e.get("key") in keys]
    if len({e["key"] for e in entries if e.get("status") == "OK"} & keys) < tiles:
        again = client.get_task_stream(count=max(2 * len(keys), 1000))
        entries = [e for e in again if e.get("key") in keys]
    return entries


def _address_order(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return (host, int(port)) if port.isdigit() else (address, 0)


def _build_run(image, grid, keys, entries, workers, start_s, end_s, kernels, client, offset, cpu) -> ClusterRun:
    """Records, lanes and extra rows from the task stream (times on the scheduler's clock)."""
    for entry in entries:
        workers.setdefault(entry["worker"], 1)
    seen: dict[str, set[int]] = {w: set() for w in workers}
    for entry in entries:
        seen[entry["worker"]].add(entry["thread"])
    lanes: list[tuple[str, int]] = []
    for worker in sorted(workers, key=_address_order):
        threads = sorted(seen[worker])
        threads += [-1] * (workers[worker] - len(threads))  # threads that ran nothing
        lanes += [(worker, t) for t in threads]
    rank = {lane: i for i, lane in enumerate(lanes) if lane[1] != -1}
    # The stream's times are the workers' clocks as the scheduler corrects them (from
    # heartbeats), which can stray by a few ms from the client's on a busy machine: the run
    # spans whichever is wider, so that every task lies inside it.
    stamps = [ss for entry in entries for ss in entry["startstops"]]
    start_s = min([start_s, *(ss["start"] for ss in stamps)])
    end_s = max([end_s, *(ss["stop"] for ss in stamps)])

    def us(t: float) -> float:
        return (t - start_s) * 1e6

    index = {key: i for i, key in enumerate(keys)}
    final: dict[str, dict] = {}
    for entry in entries:  # in finishing order: the last OK entry of a key is the result kept
        if entry.get("status") == "OK":
            final[entry["key"]] = entry
    missing = [k for k in keys if k not in final]
    if missing:
        raise RuntimeError(f"the task stream lacks {len(missing)} of {len(keys)} tiles (e.g. {missing[0]})")
    records, extra, busy = [], [], {}
    for entry in entries:
        lane = rank[(entry["worker"], entry["thread"])]
        for ss in entry["startstops"]:
            row = {"thread_id": lane, "worker": entry["worker"], "start_us": us(ss["start"]),
                   "duration_us": (ss["stop"] - ss["start"]) * 1e6}  # fmt: skip
            busy.setdefault(lane, []).append((row["start_us"], row["start_us"] + row["duration_us"]))
            task_id = index.get(entry["key"])
            if ss["action"] == "compute" and task_id is not None and final[entry["key"]] is entry:
                x, y, w, h = grid[task_id]
                tile = image[y : y + h, x : x + w]
                records.append(TaskRecord(
                    task_id=task_id, thread_id=lane, tile_x=x, tile_y=y, tile_w=w, tile_h=h,
                    start_us=row["start_us"], duration_us=row["duration_us"], pixels=w * h,
                    iterations=int(tile.sum(dtype=np.uint64)),
                ))  # fmt: skip
            elif ss["action"] == "compute" and task_id is not None:
                extra.append({**row, "kind": "compute", "task_id": task_id, "detail": "lost with its worker, re-run"})
            elif ss["action"] == "compute":
                extra.append({**row, "kind": "transfer", "detail": "assemble the tiles into one image"})
            else:
                source = ss.get("source", "")
                detail = f"{ss['action']} from {source}" if source else _ACTIONS.get(ss["action"], ss["action"])
                extra.append({**row, "kind": "transfer", "detail": detail})
    elapsed = us(end_s)
    events = _worker_events(client, index, start_s, end_s)
    for lane, (worker, _) in enumerate(lanes):
        # A lane exists from its worker's arrival (or the start) to its removal (or the end).
        joined = [e["time_us"] for e in events if e["worker"] == worker and e["action"] == "add-worker"]
        left = [e["time_us"] for e in events if e["worker"] == worker and e["action"] == "remove-worker"]
        window = (min(joined, default=0.0), min(left, default=elapsed))
        extra += _idle_rows(lane, worker, sorted(busy.get(lane, [])), window)
    records.sort(key=lambda r: (r.start_us, r.thread_id))
    final_tiles = [final[k] for k in keys]
    recomputed = sum(1 for e in entries if e.get("status") == "OK" and e["key"] in index) - len(keys)
    return ClusterRun(
        iterations=image, records=records, completed_tiles=len(keys), total_tiles=len(keys),
        time_limited=False, elapsed_us=elapsed, strategy="dask", threads=len(lanes),
        kernel=", ".join(sorted(kernels)), interior_shortcut=False, lanes=tuple(lanes),
        extra_rows=tuple(extra), bytes_moved=_bytes_moved(final_tiles, entries, index),
        recomputed_tiles=recomputed, scheduler=client.scheduler.address, clock_offset_s=offset,
        started_at=start_s + offset,
        first_start_us=min(r.start_us for r in records),
        workers=tuple(sorted(workers, key=_address_order)),
        worker_events=tuple(events), cpu_us=tuple(cpu.tolist()),
    )  # fmt: skip


def _bytes_moved(final_tiles: list[dict], entries: list[dict], index: dict[str, int]) -> int:
    """Bytes of results sent over the network: every tile to the client, or, when a worker
    assembled the image, the tiles of the other workers to it and the image to the client."""
    assembler = [e for e in entries if e["key"] not in index and e.get("status") == "OK"]
    if not assembler:
        return sum(int(e.get("nbytes", 0)) for e in final_tiles)
    fetched = sum(int(e.get("nbytes", 0)) for e in final_tiles if e["worker"] != assembler[-1]["worker"])
    return fetched + int(assembler[-1].get("nbytes", 0))


def _worker_events(client: Client, index: dict[str, int], start_s: float, end_s: float) -> list[dict]:
    """Workers added or removed between start and end (scheduler clock), from its event log."""
    events = []
    for stamp, message in client.get_events("all"):
        action = message.get("action") if isinstance(message, dict) else None
        if action in ("add-worker", "remove-worker") and start_s <= stamp <= end_s:
            tiles = {
                name: sorted(index[k] for k in message.get(what, ()) if k in index)
                for name, what in (("processing_tiles", "processing-tasks"), ("lost_tiles", "lost-computed-tasks"))
            }
            events.append({"time_us": (stamp - start_s) * 1e6, "action": action, "worker": message["worker"], **tiles})
    return events


def _idle_rows(lane: int, worker: str, busy: list[tuple[float, float]], window: tuple[float, float]) -> list[dict]:
    """The gaps of one lane within its window (µs) that no compute or transfer covers."""
    rows, (cursor, end_of_lane) = [], window
    for start, end in [*busy, (end_of_lane, math.inf)]:
        start = min(start, end_of_lane)
        if start > cursor:
            rows.append({"thread_id": lane, "worker": worker, "start_us": cursor, "duration_us": start - cursor,
                         "kind": "idle", "detail": "waiting"})  # fmt: skip
        cursor = max(cursor, end)
    return rows
