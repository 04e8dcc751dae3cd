"""parlab: see concurrency and parallelism.

The Mandelbrot set rendered in tiles under several scheduling strategies by a Rust core,
with a record of what every thread did, to the microsecond::

    import parlab
    run = parlab.render(strategy="dynamic", threads=2)
    run.iterations      # escape counts, numpy uint32 (height, width)
    run.to_frame()      # one row per tile: thread, start, duration, work
"""

try:
    from parlab._core import (
        DEFAULT_VIEWPORT,
        KERNELS,
        MAX_FIB_N,
        MAX_TILES,
        STRATEGIES,
        HardwareInfo,
        RenderRun,
        TaskGraph,
        TaskRecord,
        WorkSpan,
        __version__,
        available_kernels,
        default_threads,
        escape_time,
        fib_join_graph,
        hardware,
        render_tile,
        tile_count,
        work_span,
    )
except (ImportError, SystemError) as _error:  # 3.13t loads the abi3 module, whose init refuses
    import sysconfig

    if not sysconfig.get_config_var("Py_GIL_DISABLED"):
        raise  # a normal interpreter must load the native module: a broken build is an error
    # The native module cannot load here: PyO3 supports the free-threaded build from 3.14 only
    # (python/11 runs in a free-threaded 3.13). The pure-Python modules still work: trace,
    # evidence, measure, plots, free_threading.
    native_error: str | None = str(_error)
else:
    native_error = None
    from parlab.contention import Contention, contention
    from parlab.render import calibrated_size, render  # the function, not the module of its name
from parlab.trace import to_trace, trace

_SUBMODULES = {"bench", "cluster", "evidence", "experiments", "measure", "plots", "shared", "speedup", "widgets"}


def __getattr__(name: str):
    """`parlab.experiments`, `parlab.plots`, … load on first use, keeping `import parlab` light."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"parlab.{name}")
    raise AttributeError(f"module 'parlab' has no attribute {name!r}")


__all__ = [
    "DEFAULT_VIEWPORT",
    "KERNELS",
    "MAX_FIB_N",
    "MAX_TILES",
    "STRATEGIES",
    "Contention",
    "HardwareInfo",
    "RenderRun",
    "TaskGraph",
    "TaskRecord",
    "WorkSpan",
    "__version__",
    "available_kernels",
    "calibrated_size",
    "contention",
    "default_threads",
    "escape_time",
    "fib_join_graph",
    "hardware",
    "render",
    "render_tile",
    "tile_count",
    "to_trace",
    "trace",
    "work_span",
]
