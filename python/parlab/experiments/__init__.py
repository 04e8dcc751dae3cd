"""The course's experiments beyond the tiles. Each `run` returns a tidy pandas DataFrame with
at least the columns mode, task, worker, start_s and end_s; `parlab.plots` draws them.

- `fib`: CPU-bound Fibonacci under sync, asyncio, threads, processes and Rust (seed 002).
- `download`: I/O-bound downloads from a local server with a known latency (seed 002).
- `pixels`: the load-then-render image model, io / cpu / mixed (seed 002).
- `multiplexer`: cooperative multitasking traced step by step (seed 001).
- `lists`: building and searching lists from 10³ to 10⁷ items (seed 003).
"""

from parlab.experiments import download, fib, lists, multiplexer, pixels
from parlab.experiments.frames import peak_concurrency, summary

__all__ = ["download", "fib", "lists", "multiplexer", "peak_concurrency", "pixels", "summary"]
