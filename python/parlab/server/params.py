"""The query parameters of the lab server's render endpoints, checked against its limits.

The limits keep one request from exhausting the machine: every render ends within
`time_limit_ms` plus the time of the tiles already started, and a tile is at most
`MAX_TILE_WORK` iterations (a few seconds on one core, however the parameters are chosen).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import parlab

MAX_PIXELS = 4_000_000  # width × height
MAX_TILES = 10_000  # tiles per image: one record (and one stream message) each
MAX_ITER = 100_000
MAX_THREADS = 64
MAX_TIME_LIMIT_MS = 60_000
MAX_TILE_WORK = 1_000_000_000  # tile_w × tile_h × max_iter, the worst case of one tile
MAX_PIXELS_IN_JSON = 1_000_000  # include_pixels: every count becomes JSON text

LIMITS = {
    "max_pixels": MAX_PIXELS,
    "max_tiles": MAX_TILES,
    "max_iter": MAX_ITER,
    "max_threads": MAX_THREADS,
    "max_time_limit_ms": MAX_TIME_LIMIT_MS,
    "max_tile_work": MAX_TILE_WORK,
    "max_pixels_with_include_pixels": MAX_PIXELS_IN_JSON,
}

REQUIRED = ("width", "height", "tile_w", "tile_h", "max_iter", "time_limit_ms")
MODES = ("sequential", "concurrent")
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class BadParameter(ValueError):
    """A query parameter the server refuses; the message starts with its name."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name


@dataclass(frozen=True)
class RenderParams:
    width: int
    height: int
    tile_w: int
    tile_h: int
    max_iter: int
    time_limit_ms: int
    num_threads: int
    mode: str
    strategy: str
    include_pixels: bool

    @property
    def total_tiles(self) -> int:
        return -(-self.width // self.tile_w) * -(-self.height // self.tile_h)

    def echo(self) -> dict[str, object]:
        """Every parameter, as the response's "params" (the original's, then parlab's)."""
        return asdict(self)

    def render_kwargs(self) -> dict[str, object]:
        return dict(
            width=self.width,
            height=self.height,
            tile_w=self.tile_w,
            tile_h=self.tile_h,
            max_iter=self.max_iter,
            time_limit_ms=self.time_limit_ms,
            threads=self.num_threads,
            strategy=self.strategy,
        )


def parse(mode: str, query: Mapping[str, list[str]]) -> RenderParams:
    """Reads the query of /api/compute/{mode}; raises BadParameter naming the first bad one.

    query maps each name to every value it was given (a repeated name is refused).
    """
    if mode not in MODES:
        raise BadParameter("mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
    allowed = {*REQUIRED, "num_threads", "strategy", "include_pixels"}
    for name, values in query.items():
        if name not in allowed:
            raise BadParameter(name, f"is not a parameter of /api/compute/{mode} (known: {', '.join(sorted(allowed))})")
        if len(values) != 1:
            raise BadParameter(name, f"given {len(values)} times; give it once")
    raw = {name: values[0] for name, values in query.items()}

    def integer(name: str, low: int, high: int, default: int | None = None) -> int:
        if name not in raw:
            if default is None:
                raise BadParameter(name, "missing; it is required")
            return default
        text = raw[name].strip()
        if not _INTEGER.fullmatch(text):
            raise BadParameter(name, f"must be an integer, got {raw[name]!r}")
        value = int(text)
        if not low <= value <= high:
            raise BadParameter(name, f"must be between {low} and {high}, got {value}")
        return value

    width = integer("width", 1, MAX_PIXELS)
    height = integer("height", 1, MAX_PIXELS)
    if width * height > MAX_PIXELS:
        raise BadParameter("width", f"width × height = {width} × {height} is over this server's {MAX_PIXELS} pixels")
    tile_w = integer("tile_w", 1, width)
    tile_h = integer("tile_h", 1, height)
    max_iter = integer("max_iter", 1, MAX_ITER)
    time_limit_ms = integer("time_limit_ms", 0, MAX_TIME_LIMIT_MS)

    if mode == "sequential":
        num_threads = integer("num_threads", 1, 1, default=1)
        strategy = raw.get("strategy", "sequential")
        if strategy != "sequential":
            raise BadParameter("strategy", f"the sequential mode has only the 'sequential' strategy, got {strategy!r}")
    else:
        num_threads = integer("num_threads", 1, MAX_THREADS)
        strategy = raw.get("strategy", "static")
        if strategy not in parlab.STRATEGIES:
            raise BadParameter("strategy", f"must be one of {', '.join(parlab.STRATEGIES)}, got {strategy!r}")
        if strategy == "sequential" and num_threads != 1:
            raise BadParameter("num_threads", f"the 'sequential' strategy uses 1 thread, got {num_threads}")

    include = raw.get("include_pixels", "false").strip().lower()
    if include not in _BOOLEANS:
        raise BadParameter("include_pixels", f"must be true or false, got {raw['include_pixels']!r}")
    include_pixels = _BOOLEANS[include]

    params = RenderParams(
        width, height, tile_w, tile_h, max_iter, time_limit_ms, num_threads, mode, strategy, include_pixels
    )
    if params.total_tiles > MAX_TILES:
        raise BadParameter(
            "tile_w", f"{params.total_tiles} tiles of {tile_w} × {tile_h} is over {MAX_TILES}; use larger tiles"
        )
    if tile_w * tile_h * max_iter > MAX_TILE_WORK:
        raise BadParameter(
            "max_iter",
            f"tile_w × tile_h × max_iter = {tile_w * tile_h * max_iter} is over this server's {MAX_TILE_WORK} "
            "iterations per tile; use smaller tiles or fewer iterations",
        )
    if include_pixels and width * height > MAX_PIXELS_IN_JSON:
        raise BadParameter(
            "include_pixels", f"only for images up to {MAX_PIXELS_IN_JSON} pixels; use the stream for larger ones"
        )
    return params
