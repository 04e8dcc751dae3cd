"""The lab server: the original course page's HTTP API, its live stream and the demo page.

    GET /                                   the demo page (static/index.html)
    GET /api/compute/health                 {"status": "ok", "active_renders": ..., "limits": ...}
    GET /api/compute/{mode}                 one render as JSON, mode "sequential" or "concurrent"
    GET /api/compute/{mode}/stream          the same render as Server-Sent Events, tile by tile
    GET /pages/{n}                          the download experiment's pages (a known latency)

Renders run in worker threads (the Rust core releases the GIL), at most `max_renders` at once;
a request waits up to `slot_wait_s` for a slot, then gets 503 with Retry-After. A client that
disconnects cancels its render: `on_tile` raises once a cancel flag is set, which stops every
worker at the next finished tile.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

import parlab
from parlab.experiments.pages import page_routes
from parlab.server.params import LIMITS, MODES, BadParameter, RenderParams, parse

STATIC = Path(__file__).parent / "static"
DEFAULT_MAX_RENDERS = 4
DEFAULT_SLOT_WAIT_S = 5.0


class Busy(Exception):
    """Every render slot stayed taken for the whole wait."""


class _ClientGone(Exception):
    """Raised from on_tile after the client disconnected: it stops every worker of the render."""


class RenderSlots:
    """At most `size` renders at once; `hold()` waits up to `wait_s` for one, else raises Busy."""

    def __init__(self, size: int, wait_s: float) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"max_renders: must be a positive integer, got {size!r}")
        if isinstance(wait_s, bool) or not isinstance(wait_s, int | float) or not 0 <= wait_s <= 3600:
            raise ValueError(f"slot_wait_s: must be between 0 and 3600 seconds, got {wait_s!r}")
        self.size = size
        self.wait_s = float(wait_s)
        self.active = 0  # renders whose thread is running now
        self.waiting = 0
        self._semaphore: anyio.Semaphore | None = None  # made on the serving event loop

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        if self._semaphore is None:
            self._semaphore = anyio.Semaphore(self.size)
        semaphore = self._semaphore
        self.waiting += 1
        try:
            with anyio.move_on_after(self.wait_s) as waited:
                await semaphore.acquire()
        finally:
            self.waiting -= 1
        if waited.cancelled_caught:
            raise Busy(f"all {self.size} render slots stayed busy for {self.wait_s:g} s")
        try:
            yield
        finally:
            semaphore.release()

    async def run(self, job: Callable[[], Any]) -> Any:
        """Runs `job` in a worker thread, counted in `active` until the thread returns."""
        self.active += 1
        try:
            return await anyio.to_thread.run_sync(job)  # not abandoned: waits for the thread
        finally:
            self.active -= 1


def record_json(record: parlab.TaskRecord) -> dict[str, int | float]:
    """A tile's record in the original API's names (times in ms, as floats), plus parlab's µs."""
    return {
        "task_id": record.task_id,
        "thread_id": record.thread_id,
        "tile_x": record.tile_x,
        "tile_y": record.tile_y,
        "tile_w": record.tile_w,
        "tile_h": record.tile_h,
        "start_time_ms": round(record.start_us / 1e3, 6),
        "duration_ms": round(record.duration_us / 1e3, 6),
        "pixels_computed": record.pixels,
        "start_us": record.start_us,
        "duration_us": record.duration_us,
        "iterations": record.iterations,
    }


def error_response(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"success": False, "error": error, "message": message}, status_code=status, headers=headers)


def bad_parameter(error: Exception) -> JSONResponse:
    message = str(error)
    if message.startswith("threads:"):  # parlab.render's name for the API's num_threads
        message = "num_threads:" + message.removeprefix("threads:")
    return error_response(400, "bad parameter", message)


def busy(error: Busy) -> JSONResponse:
    return error_response(503, "busy", f"{error}; retry in a moment", headers={"Retry-After": "1"})


def _finish_message(params: RenderParams, run: parlab.RenderRun) -> str:
    message = f"{params.mode.capitalize()} tasks executed successfully"
    if run.time_limited:
        message += f" (time limit of {params.time_limit_ms} ms reached: {run.completed_tiles}/{run.total_tiles} tiles)"
    return message


def _render(params: RenderParams, cancel: threading.Event, deliver: Callable[..., None] | None) -> parlab.RenderRun:
    """parlab.render on this (worker) thread; raises _ClientGone at the first tile after `cancel`."""

    def on_tile(record: parlab.TaskRecord, pixels: np.ndarray | None = None) -> None:
        if cancel.is_set():
            raise _ClientGone
        if deliver is not None:
            deliver(record, pixels)

    return parlab.render(**params.render_kwargs(), on_tile=on_tile, tile_pixels=deliver is not None)


def _json_body(params: RenderParams, run: parlab.RenderRun) -> bytes:
    data = []
    for record in run.records:
        item = record_json(record)
        if params.include_pixels:
            item["counts"] = run.tile(record).tolist()
        data.append(item)
    body = {
        "success": True,
        "data": data,
        "params": params.echo(),
        "message": _finish_message(params, run),
        "time_limited": run.time_limited,
        "completed_tiles": run.completed_tiles,
        "total_tiles": run.total_tiles,
        "elapsed_ms": round(run.elapsed_us / 1e3, 6),
        "num_threads": run.threads,
        "strategy": run.strategy,
    }
    return json.dumps(body, separators=(",", ":")).encode()


async def _cancel_on_disconnect(receive: Receive, cancel: threading.Event, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    cancel.set()
    scope.cancel()


class LabServer:
    """The state of one app: its render slots and its endpoints."""

    def __init__(self, max_renders: int, slot_wait_s: float) -> None:
        self.slots = RenderSlots(max_renders, slot_wait_s)

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "version": parlab.__version__,
                "active_renders": self.slots.active,
                "waiting_renders": self.slots.waiting,
                "max_renders": self.slots.size,
                "strategies": list(parlab.STRATEGIES),
                "limits": LIMITS,
            }
        )

    async def compute(self, mode: str, request: Request) -> Response:
        try:
            params = parse(mode, _query(request))
        except BadParameter as error:
            return bad_parameter(error)
        cancel = threading.Event()

        def job() -> bytes:
            return _json_body(params, _render(params, cancel, None))

        body: bytes | None = None
        try:
            async with self.slots.hold(), anyio.create_task_group() as watch:
                watch.start_soon(_cancel_on_disconnect, request.receive, cancel, watch.cancel_scope)
                try:
                    body = await self.slots.run(job)
                except _ClientGone:
                    pass
                except (TypeError, ValueError) as error:
                    return bad_parameter(error)
                finally:
                    watch.cancel_scope.cancel()
        except Busy as error:
            return busy(error)
        if body is None:
            return Response(status_code=499)  # the client has gone: nobody will read this
        return Response(body, media_type="application/json")

    async def stream(self, mode: str, request: Request) -> Response | EventStream:
        try:
            params = parse(mode, _query(request))
        except BadParameter as error:
            return bad_parameter(error)
        return EventStream(self.slots, params)


class EventStream:
    """An ASGI response streaming one render as Server-Sent Events:

    start {total_tasks, num_threads, params}, then progress {current, total, task, counts_base64}
    per tile as it finishes, then complete
    {total_tasks, completed_tasks, was_time_limited, num_threads, strategy, elapsed_ms}, or
    error {success: false, error, message}.

    counts_base64 is the tile's escape counts, tile_h rows of tile_w little-endian uint32, in
    base64: twenty times cheaper to encode than a JSON list, and this encoding runs on the
    render's calling thread, which shares the CPUs with the workers being measured.
    """

    def __init__(self, slots: RenderSlots, params: RenderParams) -> None:
        self.slots = slots
        self.params = params

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with self.slots.hold():
                await self._stream(receive, send)
        except Busy as error:
            await busy(error)(scope, receive, send)

    async def _stream(self, receive: Receive, send: Send) -> None:
        params = self.params
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        cancel = threading.Event()
        delivered = 0

        def deliver(record: parlab.TaskRecord, pixels: np.ndarray) -> None:  # on the render's thread
            nonlocal delivered
            delivered += 1
            counts = base64.b64encode(pixels.astype("<u4", copy=False).tobytes()).decode()
            message = {"current": delivered, "total": params.total_tiles, "task": record_json(record)}
            message["counts_base64"] = counts
            loop.call_soon_threadsafe(queue.put_nowait, _event("progress", message))

        async def render() -> None:
            try:
                run = await self.slots.run(partial(_render, params, cancel, deliver))
            except _ClientGone:
                return
            except (TypeError, ValueError) as error:
                queue.put_nowait(_event("error", json.loads(bad_parameter(error).body)))
            except Exception as error:  # reported to the client, whose stream would otherwise just stop
                message = {"success": False, "error": "internal error", "message": f"{type(error).__name__}: {error}"}
                queue.put_nowait(_event("error", message))
            else:
                complete = {
                    "total_tasks": run.total_tiles,
                    "completed_tasks": run.completed_tiles,
                    "was_time_limited": run.time_limited,
                    "num_threads": run.threads,
                    "strategy": run.strategy,
                    "elapsed_ms": round(run.elapsed_us / 1e3, 6),
                    "message": _finish_message(params, run),
                }
                queue.put_nowait(_event("complete", complete))
            queue.put_nowait(None)

        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(render)
            tasks.start_soon(_cancel_on_disconnect, receive, cancel, tasks.cancel_scope)
            try:
                start = {"total_tasks": params.total_tiles, "num_threads": params.num_threads, "params": params.echo()}
                await send({"type": "http.response.body", "body": _event("start", start), "more_body": True})
                while (chunk := await queue.get()) is not None:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            except OSError:
                pass  # the client has gone; the render is cancelled below
            finally:
                cancel.set()  # harmless once the render has finished
                tasks.cancel_scope.cancel()


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _query(request: Request) -> dict[str, list[str]]:
    query = request.query_params
    return {name: query.getlist(name) for name in query}


async def _index(request: Request) -> FileResponse:
    return FileResponse(STATIC / "index.html")


async def _server_error(request: Request, error: Exception) -> JSONResponse:
    return error_response(500, "internal error", f"{type(error).__name__}: {error}")


def create_app(max_renders: int = DEFAULT_MAX_RENDERS, slot_wait_s: float = DEFAULT_SLOT_WAIT_S) -> Starlette:
    """The lab server's ASGI app. `max_renders` renders run at once; others wait `slot_wait_s`, then get 503."""
    server = LabServer(max_renders, slot_wait_s)
    routes = [
        Route("/", _index),
        Route("/api/compute/health", server.health),
        *[Route(f"/api/compute/{mode}", partial(server.compute, mode)) for mode in MODES],
        *[Route(f"/api/compute/{mode}/stream", partial(server.stream, mode)) for mode in MODES],
        *page_routes(),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={500: _server_error})
    app.state.lab = server
    return app
