"""Type stub of the native module `parlab._core` (built from python/src/lib.rs)."""

from collections.abc import Callable, Sequence
from typing import Any, Protocol, SupportsIndex, final

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]

__all__ = [
    "DEFAULT_VIEWPORT",
    "KERNELS",
    "MAX_FIB_N",
    "MAX_THREADS",
    "MAX_TILES",
    "STRATEGIES",
    "HardwareInfo",
    "RenderRun",
    "TaskRecord",
    "__version__",
    "available_kernels",
    "default_threads",
    "escape_time",
    "fib",
    "fib_nogil",
    "fib_rayon",
    "hardware",
    "render",
    "render_tile",
    "tile_count",
]

STRATEGIES: tuple[str, ...]
KERNELS: tuple[str, ...]
__version__: str
MAX_TILES: int
MAX_THREADS: int
"""The most threads a render may start (the core's `MAX_THREADS`)."""
MAX_FIB_N: int
DEFAULT_VIEWPORT: tuple[float, float, float, float]

_Viewport = Sequence[float] | npt.NDArray[np.floating[Any]]

@final
class TaskRecord:
    """One rendered tile: which thread ran it, when (µs since the run started), and its work."""

    def __new__(
        cls,
        task_id: int,
        thread_id: int,
        tile_x: int,
        tile_y: int,
        tile_w: int,
        tile_h: int,
        start_us: float,
        duration_us: float,
        pixels: int,
        iterations: int,
        cpu_us: float | None = None,
        lane_steps: int | None = None,
        useful_lane_steps: int | None = None,
    ) -> TaskRecord: ...
    def __reduce__(
        self,
    ) -> tuple[
        type[TaskRecord], tuple[int, int, int, int, int, int, float, float, int, int, float | None, int, int]
    ]: ...
    @property
    def task_id(self) -> int: ...
    @property
    def thread_id(self) -> int: ...
    @property
    def tile_x(self) -> int: ...
    @property
    def tile_y(self) -> int: ...
    @property
    def tile_w(self) -> int: ...
    @property
    def tile_h(self) -> int: ...
    @property
    def start_us(self) -> float: ...
    @property
    def duration_us(self) -> float: ...
    @property
    def pixels(self) -> int: ...
    @property
    def iterations(self) -> int: ...
    @property
    def lane_steps(self) -> int: ...
    @property
    def useful_lane_steps(self) -> int: ...
    @property
    def lane_utilization(self) -> float: ...
    @property
    def cpu_us(self) -> float | None:
        """CPU time the rendering thread got during the tile (µs); None where unreadable."""
    @property
    def end_us(self) -> float: ...
    def to_dict(self) -> dict[str, int | float | None]: ...

def render(
    width: SupportsIndex = 800,
    height: SupportsIndex = 600,
    tile_w: SupportsIndex = 50,
    tile_h: SupportsIndex = 50,
    max_iter: SupportsIndex = 1000,
    strategy: str = "dynamic",
    threads: SupportsIndex | None = None,
    time_limit_ms: float | None = None,
    viewport: _Viewport = ...,
    on_tile: Callable[..., Any] | None = None,
    tile_pixels: bool = False,
    kernel: str = "auto",
    interior_shortcut: bool = False,
) -> RenderRun:
    """Renders the Mandelbrot set in tiles, recording what every thread did."""

def render_tile(
    tile_x: SupportsIndex,
    tile_y: SupportsIndex,
    tile_w: SupportsIndex,
    tile_h: SupportsIndex,
    *,
    width: SupportsIndex = 800,
    height: SupportsIndex = 600,
    max_iter: SupportsIndex = 1000,
    viewport: _Viewport = ...,
    kernel: str = "auto",
    interior_shortcut: bool = False,
) -> npt.NDArray[np.uint32]:
    """The escape counts of one tile, (tile_h, tile_w) uint32, computed with the GIL released."""

def tile_count(width: SupportsIndex, height: SupportsIndex, tile_w: SupportsIndex, tile_h: SupportsIndex) -> int:
    """How many tiles of tile_w × tile_h cover a width × height image."""

@final
class RenderRun:
    """The result of `render`: the image, the timeline and how the run ended."""

    def __new__(
        cls,
        iterations: npt.NDArray[np.uint32],
        records: Sequence[TaskRecord],
        total_tiles: int,
        time_limited: bool,
        elapsed_us: float,
        strategy: str,
        threads: int,
        kernel: str,
        interior_shortcut: bool,
    ) -> RenderRun: ...
    @property
    def iterations(self) -> npt.NDArray[np.uint32]: ...
    @property
    def records(self) -> list[TaskRecord]: ...
    @property
    def completed_tiles(self) -> int: ...
    @property
    def total_tiles(self) -> int: ...
    @property
    def time_limited(self) -> bool: ...
    @property
    def elapsed_us(self) -> float: ...
    @property
    def strategy(self) -> str: ...
    @property
    def threads(self) -> int: ...
    @property
    def kernel(self) -> str: ...
    @property
    def interior_shortcut(self) -> bool: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    def tile(self, record: TaskRecord) -> npt.NDArray[np.uint32]: ...
    def to_frame(self) -> pd.DataFrame: ...
    def per_thread(self) -> pd.DataFrame: ...
    def imbalance(self) -> float: ...
    def work_imbalance(self) -> float: ...
    def lane_utilization(self) -> float: ...
    def __reduce__(self) -> tuple[type[RenderRun], tuple[Any, ...]]: ...

def escape_time(cr: float, ci: float, max_iter: SupportsIndex) -> int: ...
def default_threads() -> int: ...
def available_kernels() -> list[str]: ...

@final
class HardwareInfo:
    """This machine's hardware card: fields are attributes (None where the OS does not say).

    Among them: cpu_model, cpu_vendor, architecture, logical_cpus, physical_cores,
    threads_per_core, sockets, numa_nodes, affinity_cpus, cpu_quota, effective_parallelism,
    base/max/current_frequency_mhz, caches, memory_total, memory_available, memory_limit,
    simd, os, os_name, kernel, in_container, in_ci, on_binder, python, max_speedup, summary.
    """

    logical_cpus: int
    physical_cores: int | None
    threads_per_core: int | None
    sockets: int | None
    numa_nodes: int | None
    affinity_cpus: int | None
    cpu_quota: float | None
    effective_parallelism: int
    memory_total: int | None
    memory_available: int | None
    memory_limit: int | None
    max_speedup: float
    summary: str
    def to_dict(self) -> dict[str, Any]: ...
    def _repr_html_(self) -> str: ...

def hardware() -> HardwareInfo: ...
def fib(n: int) -> int:
    """fib(n) in Rust, keeping the GIL (other Python threads wait)."""

class _StopFlag(Protocol):
    def is_set(self) -> bool: ...

def fib_nogil(n: int, stop: _StopFlag | None = None) -> int:
    """fib(n) in Rust with the GIL released (other Python threads run meanwhile); Ctrl-C, or
    `stop.is_set()` on any thread, raises KeyboardInterrupt within a few milliseconds."""

def fib_rayon(n: int, calls: int, workers: int) -> list[tuple[int, int, float, float, int]]:
    """`calls` calls of fib(n) spread by rayon over `workers` threads: (call, worker, start_us, duration_us, value)."""

# Shared data (python/src/shared.rs; `parlab.shared` wraps these).
__all__ += [
    "COUNTERS",
    "LOCK_ORDERS",
    "SHARED_MAX_RUN_S",
    "SHARED_MAX_THREADS",
    "cache_line_bytes",
    "shared_count",
    "shared_false_sharing",
    "shared_lock_timeline",
    "shared_two_locks",
]

COUNTERS: tuple[str, ...]
"""The ways `shared_count` counts (the core's `shared::Counter`), the racy one first."""
LOCK_ORDERS: tuple[str, ...]
"""The orders `shared_two_locks` takes its two locks in (the core's `shared::LockOrder`)."""
SHARED_MAX_THREADS: int
"""The most threads of one shared-data run (the core's `shared::MAX_THREADS`)."""
SHARED_MAX_RUN_S: float
"""The longest a lock run may be sure to take, in seconds (the core's `shared::MAX_RUN`)."""

def shared_count(counter: str, threads: int, increments: int) -> dict[str, Any]:
    """`threads` Rust threads each increment one shared counter `increments` times, the `counter` way."""

def shared_lock_timeline(threads: int, rounds: int, work_us: float, hold_us: float) -> dict[str, Any]:
    """Rounds of work, then a wait for one lock and a hold of it, every span recorded."""

def shared_two_locks(order: str, rounds: int, hold_us: float, timeout_ms: float) -> dict[str, Any]:
    """Two threads take locks A and B in `order` ("opposite" or "same"); every wait times out."""

def shared_false_sharing(padded: bool, threads: int, increments: int) -> dict[str, Any]:
    """Each thread increments its own counter: all in one cache line, or padded apart."""

def cache_line_bytes() -> int | None:
    """The CPU's cache line size in bytes, where the operating system says."""

# Work and span (python/src/work_span.rs; `parlab.work_span` analyses traces, runs and graphs).
__all__ += ["TaskGraph", "WorkSpan", "fib_join_graph", "work_span"]

@final
class TaskGraph:
    """A task graph: nodes 0..n with their work, edges (from, to, kind), kind "spawn", "join" or "continue"."""

    def __new__(
        cls,
        work: Sequence[float],
        edges: Sequence[tuple[SupportsIndex, SupportsIndex] | tuple[SupportsIndex, SupportsIndex, str]],
        labels: Sequence[str] | None = None,
        unit: str = "work",
    ) -> TaskGraph: ...
    @property
    def work(self) -> list[float]: ...
    @property
    def edges(self) -> list[tuple[int, int, str]]: ...
    @property
    def labels(self) -> list[str]: ...
    @property
    def unit(self) -> str: ...
    def __len__(self) -> int: ...

@final
class WorkSpan:
    """T₁ (work), T∞ (span) and what they imply: the result of `work_span(source)`."""

    @property
    def work(self) -> float: ...
    @property
    def span(self) -> float: ...
    @property
    def parallelism(self) -> float: ...
    @property
    def unit(self) -> str: ...
    @property
    def critical_path(self) -> list[int]: ...
    @property
    def spawns_on_critical_path(self) -> int: ...
    @property
    def graph(self) -> TaskGraph: ...
    def burdened_span(self, spawn_cost: float) -> float: ...
    def burdened_parallelism(self, spawn_cost: float) -> float: ...
    def bounds(self, p: SupportsIndex) -> tuple[float, float]: ...
    def speedup_bounds(self, p: SupportsIndex) -> tuple[float, float]: ...

def work_span(source: Any) -> WorkSpan:
    """Work, span, parallelism and Brent's bounds of a finished trace, a RenderRun or a TaskGraph."""

def fib_join_graph(n: SupportsIndex, cutoff: SupportsIndex) -> TaskGraph:
    """The task graph of the core's fib_join(n, cutoff), fib calls as work."""
