"""Type stub of the native module `parlab._core` (built from python/src/lib.rs)."""

from collections.abc import Callable
from typing import Any, final

__all__ = ["STRATEGIES", "TaskRecord", "__version__", "default_threads", "escape_time", "render"]

STRATEGIES: tuple[str, ...]
__version__: str

@final
class TaskRecord:
    """One rendered tile: which thread ran it, when (µs since the run started), and its work."""

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
    def end_us(self) -> float: ...
    def to_dict(self) -> dict[str, int | float]: ...

def render(
    width: int,
    height: int,
    tile_w: int,
    tile_h: int,
    max_iter: int,
    strategy: str,
    threads: int | None,
    time_limit_ms: float | None,
    viewport: tuple[float, float, float, float],
    on_tile: Callable[..., Any] | None,
    tile_pixels: bool,
) -> dict[str, Any]: ...
def escape_time(cr: float, ci: float, max_iter: int) -> int: ...
def default_threads() -> int: ...
