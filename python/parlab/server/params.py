"""The query parameters of the lab server's render endpoints, read as the original course
API read them, and checked against this server's limits.

As in the original Flask API, a missing parameter takes the original default and an
unknown one (a `_=` cache-buster, say) is ignored; parlab lists the ignored ones in the
answer's `warnings`. Unlike the original, a value that is not an integer is refused with a
400 naming the parameter (the original silently used the default). Whether a strategy
exists and how many threads it may use is the render core's rule: `parlab.render` checks
those, not this module.

The limits keep one request from exhausting the machine: every render ends within
`time_limit_ms` plus the time of the tiles already started, a tile is at most
`MAX_TILE_WORK` iterations (a fraction of a second on one core, however the parameters are
chosen, so that a cancelled render stops within one), and a render has at most
`MAX_TILES` tiles.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from parlab.checks import check_int

MAX_PIXELS = 4_000_000  # width × height
MAX_TILES = 10_000  # tiles per image: one record (and one stream message) each
MAX_ITER = 100_000
MAX_THREADS = 64
MAX_TIME_LIMIT_MS = 60_000
MAX_TILE_WORK = 250_000_000  # tile_w × tile_h × max_iter, the worst case of one tile
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

#: The original Flask API's defaults (its docstrings: width 800, height 600, 64 × 64 tiles,
#: max_iter 256, 2000 ms, 4 threads).
DEFAULTS = {"width": 800, "height": 600, "tile_w": 64, "tile_h": 64, "max_iter": 256, "time_limit_ms": 2000}
DEFAULT_THREADS = 4
MODES = ("sequential", "concurrent")
KNOWN = (*DEFAULTS, "num_threads", "strategy", "include_pixels")
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


def parse(mode: str, query: Mapping[str, list[str]]) -> tuple[RenderParams, list[str]]:
    """Reads the query of /api/compute/{mode}: the parameters, and a warning for each
    unknown one (ignored). Raises BadParameter naming the first bad one.

    query maps each name to every value it was given (a repeated known name is refused).
    """
    if mode not in MODES:
        raise BadParameter("mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
    warnings = [
        f"{name}: not a parameter of /api/compute/{mode}; ignored (known: {', '.join(KNOWN)})"
        for name in query
        if name not in KNOWN
    ]
    raw = {}
    for name in KNOWN:
        if name in query:
            if len(query[name]) != 1:
                raise BadParameter(name, f"given {len(query[name])} times; give it once")
            raw[name] = query[name][0]

    def integer(name: str, low: int, high: int, default: int) -> int:
        if name not in raw:
            return min(max(default, low), high)
        text = raw[name].strip()
        if not _INTEGER.fullmatch(text):
            raise BadParameter(name, f"must be an integer, got {raw[name][:40]!r}")
        try:
            return check_int(name, int(text), low, high)
        except ValueError as error:
            raise BadParameter(name, str(error).removeprefix(f"{name}: ")) from None

    width = integer("width", 1, MAX_PIXELS, DEFAULTS["width"])
    height = integer("height", 1, MAX_PIXELS, DEFAULTS["height"])
    if width * height > MAX_PIXELS:
        raise BadParameter("width", f"width × height = {width} × {height} is over this server's {MAX_PIXELS} pixels")
    tile_w = integer("tile_w", 1, width, DEFAULTS["tile_w"])  # a default tile never exceeds the image
    tile_h = integer("tile_h", 1, height, DEFAULTS["tile_h"])
    max_iter = integer("max_iter", 1, MAX_ITER, DEFAULTS["max_iter"])
    time_limit_ms = integer("time_limit_ms", 0, MAX_TIME_LIMIT_MS, DEFAULTS["time_limit_ms"])

    if mode == "sequential":
        num_threads = integer("num_threads", 1, 1, 1)
        strategy = raw.get("strategy", "sequential")
        if strategy != "sequential":
            raise BadParameter("strategy", f"the sequential mode has only the 'sequential' strategy, got {strategy!r}")
    else:
        num_threads = integer("num_threads", 1, MAX_THREADS, DEFAULT_THREADS)
        strategy = raw.get("strategy", "static")  # checked by the render core

    include = raw.get("include_pixels", "false").strip().lower()
    if include not in _BOOLEANS:
        raise BadParameter("include_pixels", f"must be true or false, got {raw['include_pixels'][:40]!r}")
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
    return params, warnings
