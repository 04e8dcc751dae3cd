"""The lab server: the original course page's HTTP API, its live stream and the demo page.

    GET /                                   the demo page (static/index.html)
    GET /api/compute/health                 {"status": "ok", "active_renders": ..., "limits": ...}
    GET /api/compute/{mode}                 one render as JSON, mode "sequential" or "concurrent"
    GET /api/compute/{mode}/stream          the same render as Server-Sent Events, tile by tile
    GET /pages/{n}                          the download experiment's pages (a known latency)

Every API path also answers with a trailing slash. Renders run in worker threads (the Rust
core releases the GIL), at most `max_renders` at once: a render holds its slot exactly as
long as its thread runs, whatever its client does. A request waits up to `slot_wait_s` for
a slot, then gets 503 with Retry-After. A render is cancelled when its client disconnects,
when a stream's client stops reading for `send_timeout_s`, and when the server shuts down
(`cancel_all`): `on_tile` raises once the render's cancel flag is set, which stops every
worker at once.

Browsers on other origins may call the API (CORS) if their origin matches `cors_origins`;
by default any port of http://localhost and http://127.0.0.1, where the course page is
developed. `allowed_hosts` refuses requests whose Host header names another machine, which
is what a DNS-rebinding page would send. CORS only stops a foreign page from reading an
answer, not from running the request: `ForeignPages` refuses (403), before it takes a slot,
any request that a browser says comes from a page on another site (`Sec-Fetch-Site`) or
that names an origin (`Origin`) that `cors_origins` does not allow.

What one client may hold. On the loopback every client is 127.0.0.1 (behind a course hub's
proxy too, which uvicorn's `proxy_headers` then resolves from X-Forwarded-For), and nothing
a local program sends can be trusted, so no identity stops a local program that wants the
whole server. What the server can bound is what an honest but greedy or broken client
holds: a client is the peer address, the page a browser request comes from (Origin, else
Referer: the demo page at / is its own origin) and the User-Agent, and one client holds at
most half the render slots and half the streams. Beyond that, cost decides rather than
identity: a stream whose render ended `stale_stream_s` ago and that its client still has
not read to the end (an idle, slow or stopped reader) gives up its place to a new stream,
and the server's `ServerLimits` bound every connection (header, write and request timeouts,
a connection cap; see parlab.web).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

import parlab
from parlab.checks import check_int, check_number
from parlab.experiments.pages import page_routes
from parlab.server.params import LIMITS, MAX_TIME_LIMIT_MS, MODES, BadParameter, RenderParams, parse
from parlab.web import ServerLimits, SingleValueQuery, TimedStreamingResponse, fd_share, release_memory

STATIC = Path(__file__).parent / "static"
DEFAULT_MAX_RENDERS = 4
DEFAULT_SLOT_WAIT_S = 5.0
DEFAULT_SEND_TIMEOUT_S = 10.0
#: A stream this long past the end of its render, still not read to the end, may be evicted.
DEFAULT_STALE_STREAM_S = 2.0
#: Connections at most: a share of the file descriptors (read when the app is made), so
#: that a flood cannot take them all.
DEFAULT_MAX_CONNECTIONS = 256
#: How long after the last render or stream ended its memory is given back.
SETTLE_S = 0.5
#: Time to read one whole answer, beyond the longest render and its wait for a slot.
DELIVERY_S = 60.0
#: How often a JSON request looks whether its client is still there.
DISCONNECT_POLL_S = 0.05
#: Host headers accepted by default: this machine's own names.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
#: Origins allowed by default: any port of http://localhost, http://127.0.0.1, http://[::1].
LOOPBACK_ORIGINS = r"http://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?"


class Busy(Exception):
    """Every render slot stayed taken for the whole wait."""


class ShuttingDown(Exception):
    """The server is stopping: no new render, and running ones are cancelled."""


class _Cancelled(Exception):
    """Raised from on_tile once a render's cancel flag is set: it stops every worker."""


class RenderSlots:
    """At most `size` renders at once, and at most `per_client` for one client; `acquire()`
    waits up to `wait_s` for a slot, else raises Busy."""

    def __init__(self, size: int, wait_s: float) -> None:
        self.size = check_int("max_renders", size, 1, 1024)
        self.per_client = max(1, self.size // 2)
        self.wait_s = check_number("slot_wait_s", wait_s, 0, 3600)
        self.waiting = 0
        self._semaphore: anyio.Semaphore | None = None  # made on the serving event loop
        self._clients: dict[str, anyio.Semaphore] = {}
        self._users: dict[str, int] = {}  # holders and waiters of each client's semaphore

    @property
    def active(self) -> int:
        """Slots held now: one per render whose thread is running."""
        return 0 if self._semaphore is None else self.size - self._semaphore.value

    async def acquire(self, client: str = "") -> None:
        if self._semaphore is None:
            self._semaphore = anyio.Semaphore(self.size)
        mine = self._clients.setdefault(client, anyio.Semaphore(self.per_client))
        self._users[client] = self._users.get(client, 0) + 1
        self.waiting += 1
        got_mine = False
        try:
            with anyio.move_on_after(self.wait_s) as waited:
                await mine.acquire()
                got_mine = True
                await self._semaphore.acquire()
        except BaseException:
            self._give_back(client, got_mine)
            raise
        finally:
            self.waiting -= 1
        if waited.cancelled_caught:
            self._give_back(client, got_mine)
            if not got_mine:
                raise Busy(
                    f"this client held {self.per_client} of the {self.size} render slots, the most one client "
                    f"may, for {self.wait_s:g} s"
                )
            raise Busy(f"all {self.size} render slots stayed busy for {self.wait_s:g} s")

    def release(self, client: str = "") -> None:
        assert self._semaphore is not None
        self._semaphore.release()
        self._give_back(client, True)

    def _give_back(self, client: str, holds: bool) -> None:
        if holds:
            self._clients[client].release()
        self._users[client] -= 1
        if not self._users[client]:  # forgotten when unused: clients do not accumulate
            del self._users[client], self._clients[client]


class RenderJob:
    """One render on a worker thread. It holds a render slot until its thread returns;
    its events arrive on `events`: ("progress", SSE bytes) per tile when streaming, then
    ("done", RenderRun) or ("failed", exception)."""

    def __init__(self, params: RenderParams, stream: bool, client: str = "") -> None:
        self.params = params
        self.stream = stream
        self.client = client
        self.ended_at: float | None = None  # time.monotonic() when its thread returned
        self.cancel = threading.Event()
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._delivered = 0

    async def run(self, slots: RenderSlots) -> None:
        try:
            run = await anyio.to_thread.run_sync(self._render)  # not abandoned: waits for the thread
        except BaseException as error:  # reported to the request; nothing is raised into the loop
            self.events.put_nowait(("failed", error))
        else:
            self.events.put_nowait(("done", run))
        finally:
            self.ended_at = time.monotonic()
            slots.release(self.client)

    def _render(self) -> parlab.RenderRun:
        """parlab.render on this (worker) thread; raises _Cancelled at the first tile after `cancel`."""
        return parlab.render(**self.params.render_kwargs(), on_tile=self._on_tile, tile_pixels=self.stream)

    def _on_tile(self, record: parlab.TaskRecord, pixels: np.ndarray | None = None) -> None:
        if self.cancel.is_set():
            raise _Cancelled
        if pixels is not None:
            # Encoded here, on the render's calling thread: base64 is twenty times cheaper
            # than a JSON list, and this thread shares the CPUs with the workers measured.
            self._delivered += 1
            message = {"current": self._delivered, "total": self.params.total_tiles, "task": record_json(record)}
            message["counts_base64"] = base64.b64encode(pixels.astype("<u4", copy=False).tobytes()).decode()
            self._loop.call_soon_threadsafe(self.events.put_nowait, ("progress", _event("progress", message)))


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


def _error_body(error: BaseException) -> dict[str, Any]:
    """What a failed render tells its client, as JSON (also a stream's `error` event)."""
    if isinstance(error, ShuttingDown | _Cancelled):
        return {"success": False, "error": "shutting down", "message": "the server is shutting down; retry later"}
    if isinstance(error, TypeError | ValueError):
        return {"success": False, "error": "bad parameter", "message": _api_names(str(error))}
    return {"success": False, "error": "internal error", "message": f"{type(error).__name__}: {error}"}


def _api_names(message: str) -> str:
    if message.startswith("threads:"):  # parlab.render's name for the API's num_threads
        return "num_threads:" + message.removeprefix("threads:")
    return message


def _failure(error: BaseException) -> Exception:
    """The exception a failed render raises in its request (each has a handler)."""
    if isinstance(error, ShuttingDown | _Cancelled):
        return ShuttingDown()
    if isinstance(error, TypeError | ValueError):  # the core refused the parameters
        message = _api_names(str(error))
        return BadParameter(message.partition(":")[0], message.partition(":")[2].strip())
    return error if isinstance(error, Exception) else RuntimeError(repr(error))


def _finish_message(params: RenderParams, run: parlab.RenderRun) -> str:
    message = f"{params.mode.capitalize()} tasks executed successfully"
    if run.time_limited:
        message += f" (time limit of {params.time_limit_ms} ms reached: {run.completed_tiles}/{run.total_tiles} tiles)"
    return message


def _json_body(params: RenderParams, run: parlab.RenderRun, warnings: list[str]) -> bytes:
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
        "warnings": warnings,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _query(request: Request) -> dict[str, list[str]]:
    query = request.query_params
    return {name: query.getlist(name) for name in query}


def _origin_of(url: str) -> str | None:
    """scheme://host[:port] of a URL (a Referer), or None."""
    match = re.match(r"(https?://[^/?#]+)", url)
    return match.group(1).lower() if match else None


def client_of(request: Request) -> str:
    """Who a request comes from, as far as the loopback lets one tell (see the module's
    docstring): peer address, the page's origin, the User-Agent."""
    host = request.client.host if request.client else "-"
    headers = request.headers
    page = headers.get("origin") or _origin_of(headers.get("referer", "")) or "-"
    return f"{host} {page[:200]} {headers.get('user-agent', '-')[:200]}"


class OpenStream:
    """A stream being sent: its client, its render and its response (to evict it)."""

    def __init__(self, client: str) -> None:
        self.client = client
        self.job: RenderJob | None = None
        self.response: TimedStreamingResponse | None = None

    def stale_for(self, now: float) -> float:
        """Seconds since its render ended (0 while it renders): a reader that keeps up
        finishes moments after."""
        if self.job is None or self.job.ended_at is None:
            return 0.0
        return now - self.job.ended_at


class ForeignPages:
    """ASGI middleware: refuses (403) a request from a page on another site before it runs.

    A browser says where a request comes from in `Sec-Fetch-Site` (sent to http://localhost
    and http://127.0.0.1 too, which count as secure): "same-origin" and "none" (the address
    bar) are served; "same-site" and "cross-site" only if the page's Origin (else its Referer)
    is allowed by `allowed`. A browser that sends no Sec-Fetch-Site still sends Origin on
    CORS requests: a foreign one is refused. Non-browser clients send neither. The demo page
    and its files are served to anyone: a link from anywhere may open them."""

    def __init__(self, app: ASGIApp, allowed: Callable[[str], bool], open_paths: Sequence[str] = ("/", "/static/")):
        self.app = app
        self.allowed = allowed
        self.open_paths = tuple(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._is_open(scope["path"]):
            refused = self._refusal(Headers(scope=scope))
            if refused is not None:
                body = {"success": False, "error": "foreign page", "message": refused}
                await JSONResponse(body, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _is_open(self, path: str) -> bool:
        return path == "/" or any(path.startswith(prefix) for prefix in self.open_paths if prefix != "/")

    def _refusal(self, headers: Headers) -> str | None:
        site = headers.get("sec-fetch-site", "").lower()
        origin = headers.get("origin")
        page = origin or _origin_of(headers.get("referer", ""))
        if site in ("same-origin", "none"):
            return None
        if site in ("same-site", "cross-site"):
            if page is not None and self.allowed(page):
                return None
            where = page or "a page that did not say its origin"
        elif origin is not None and origin != "null" and not self.allowed(origin):
            where = origin
        elif origin == "null":  # a sandboxed frame or a data: page
            where = "an opaque origin"
        else:
            return None  # not from a browser's page: a program, or the address bar
        return (
            f"requests from {where[:100]} are refused: a page on another site may not run renders here "
            "(allow its origin with --cors-origin)"
        )


class LabServer:
    """The state of one app: its render slots, its running renders and its endpoints."""

    def __init__(
        self, max_renders: int, slot_wait_s: float, send_timeout_s: float, max_streams: int, stale_stream_s: float
    ) -> None:
        self.slots = RenderSlots(max_renders, slot_wait_s)
        self.send_timeout_s = check_number("send_timeout_s", send_timeout_s, 0.01, 3600)
        # A stream's render ends (and frees its slot) before its client has read it: the
        # events wait in memory, at most ~25 MB within the limits. This caps their number.
        self.max_streams = check_int("max_streams", max_streams, 1, 4096)
        self.streams_per_client = max(1, self.max_streams // 2)
        self.stale_stream_s = check_number("stale_stream_s", stale_stream_s, 0, 3600)
        self.streams: set[OpenStream] = set()
        self.evicted_streams = 0
        self.jobs: set[RenderJob] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._settling: asyncio.TimerHandle | None = None
        self.closing = False

    def cancel_all(self) -> None:
        """Cancels every render and refuses new ones (shutdown; safe from a signal handler
        or another thread: it only sets flags)."""
        self.closing = True
        for job in list(self.jobs):
            job.cancel.set()

    @property
    def open_streams(self) -> int:
        return len(self.streams)

    async def start(self, params: RenderParams, stream: bool, client: str = "") -> RenderJob:
        """A running render, once a slot is free (Busy after the wait)."""
        if self.closing:
            raise ShuttingDown()
        await self.slots.acquire(client)
        job = RenderJob(params, stream, client)
        if self.closing:  # Ctrl-C while this request waited for its slot
            job.cancel.set()
        self.jobs.add(job)
        task = asyncio.get_running_loop().create_task(job.run(self.slots))
        self._tasks.add(task)  # kept until done: the loop holds tasks only weakly
        task.add_done_callback(lambda done: (self._tasks.discard(done), self.jobs.discard(job), self._settle()))
        return job

    def _stream_done(self, opened: OpenStream) -> None:
        self.streams.discard(opened)
        self._settle()

    def _settle(self) -> None:
        """Once nothing runs, the memory of finished streams goes back to the system: a
        moment later, once the request that ended last has returned and let go of it."""
        if not self.jobs and not self.streams and self._settling is None:
            self._settling = asyncio.get_running_loop().call_later(SETTLE_S, self._settled)

    def _settled(self) -> None:
        self._settling = None
        if not self.jobs and not self.streams:
            release_memory()

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "version": parlab.__version__,
                "active_renders": self.slots.active,
                "waiting_renders": self.slots.waiting,
                "max_renders": self.slots.size,
                "open_streams": self.open_streams,
                "max_streams": self.max_streams,
                "streams_per_client": self.streams_per_client,
                "renders_per_client": self.slots.per_client,
                "evicted_streams": self.evicted_streams,
                "strategies": list(parlab.STRATEGIES),
                "limits": LIMITS,
            }
        )

    async def compute(self, mode: str, request: Request) -> Response:
        params, warnings = parse(mode, _query(request))
        job = await self.start(params, stream=False, client=client_of(request))
        try:
            while True:
                with anyio.move_on_after(DISCONNECT_POLL_S):
                    kind, value = await job.events.get()
                    break
                if await request.is_disconnected():
                    return Response(status_code=499)  # nobody will read it
        finally:
            job.cancel.set()  # harmless once the render has finished
        if kind == "failed":
            raise _failure(value)
        return Response(_json_body(params, value, warnings), media_type="application/json")

    async def stream(self, mode: str, request: Request) -> Response:
        """The render as Server-Sent Events: start {total_tasks, num_threads, params,
        warnings}, then progress {current, total, task, counts_base64} per tile as it
        finishes, then complete {total_tasks, completed_tasks, was_time_limited,
        num_threads, strategy, elapsed_ms, message}, or error {success: false, error,
        message}. counts_base64 is the tile's escape counts, tile_h rows of tile_w
        little-endian uint32, in base64.

        The response starts once the render has delivered its first tile or ended, so
        parameters the render core refuses still get a 400."""
        params, warnings = parse(mode, _query(request))
        opened = self._open_stream(client_of(request))
        job = None
        try:
            job = opened.job = await self.start(params, stream=True, client=opened.client)
            first = await job.events.get()
            if first[0] == "failed":
                raise _failure(first[1])
        except BaseException:
            self._stream_done(opened)
            if job is not None:
                job.cancel.set()
            raise
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        opened.response = TimedStreamingResponse(
            self._events(job, first, warnings),
            send_timeout_s=self.send_timeout_s,
            on_close=lambda: self._stream_done(opened),
            media_type="text/event-stream",
            headers=headers,
        )
        return opened.response

    def _open_stream(self, client: str) -> OpenStream:
        """A place for a new stream: free, or taken from a stale stream (Busy if none is)."""
        mine = [s for s in self.streams if s.client == client]
        if len(mine) >= self.streams_per_client:
            if not self._evict(mine):
                raise Busy(
                    f"this client has {len(mine)} of the {self.max_streams} streams open, the most one client may"
                )
        elif len(self.streams) >= self.max_streams and not self._evict(list(self.streams)):
            raise Busy(f"all {self.max_streams} streams are open")
        opened = OpenStream(client)
        self.streams.add(opened)
        return opened

    def _evict(self, candidates: list[OpenStream]) -> bool:
        """Ends the stream stale the longest, if one is stale for `stale_stream_s`."""
        now = time.monotonic()
        stalest = max(candidates, key=lambda s: s.stale_for(now), default=None)
        if stalest is None or stalest.response is None or stalest.stale_for(now) < max(self.stale_stream_s, 1e-9):
            return False
        self.streams.discard(stalest)
        self.evicted_streams += 1
        stalest.response.cancel()  # its connection is aborted: a cut stream must not look complete
        return True

    async def _events(self, job: RenderJob, first: tuple[str, Any], warnings: list[str]) -> AsyncIterator[bytes]:
        params = job.params
        try:
            start = {"total_tasks": params.total_tiles, "num_threads": params.num_threads, "params": params.echo()}
            yield _event("start", {**start, "warnings": warnings})
            kind, value = first
            while kind == "progress":
                yield value
                if job.cancel.is_set():  # shutting down: the tiles still queued are not sent
                    kind, value = "failed", ShuttingDown()
                    break
                kind, value = await job.events.get()
            if kind == "failed":
                yield _event("error", _error_body(value))
            else:
                run = value
                complete = {
                    "total_tasks": run.total_tiles,
                    "completed_tasks": run.completed_tiles,
                    "was_time_limited": run.time_limited,
                    "num_threads": run.threads,
                    "strategy": run.strategy,
                    "elapsed_ms": round(run.elapsed_us / 1e3, 6),
                    "message": _finish_message(params, run),
                }
                yield _event("complete", complete)
        finally:
            job.cancel.set()  # the client left, was too slow, or the stream ended: stop the render


async def _index(request: Request) -> FileResponse:
    return FileResponse(STATIC / "index.html")


async def _bad_parameter(request: Request, error: Exception) -> JSONResponse:
    return error_response(400, "bad parameter", _api_names(str(error)))


async def _busy(request: Request, error: Exception) -> JSONResponse:
    return error_response(503, "busy", f"{error}; retry in a moment", headers={"Retry-After": "1"})


async def _shutting_down(request: Request, error: Exception) -> JSONResponse:
    body = _error_body(error)
    return error_response(503, body["error"], body["message"], headers={"Connection": "close"})


async def _server_error(request: Request, error: Exception) -> JSONResponse:
    return error_response(500, "internal error", f"{type(error).__name__}: {error}")


def _both(path: str, endpoint: Any) -> list[Route]:
    """The route with and without a trailing slash (the original API answered both; a
    redirect would cost the course page's client a second CORS request)."""
    return [Route(path, endpoint), Route(path + "/", endpoint)]


def create_app(
    max_renders: int = DEFAULT_MAX_RENDERS,
    slot_wait_s: float = DEFAULT_SLOT_WAIT_S,
    send_timeout_s: float = DEFAULT_SEND_TIMEOUT_S,
    cors_origins: Sequence[str] | None = None,
    allowed_hosts: Sequence[str] | None = LOOPBACK_HOSTS,
    max_streams: int | None = None,
    stale_stream_s: float = DEFAULT_STALE_STREAM_S,
    server_limits: ServerLimits | None = None,
) -> Starlette:
    """The lab server's ASGI app.

    max_renders renders run at once (half of them for one client); others wait slot_wait_s,
    then get 503. At most max_streams streams are open at once (default: twice max_renders;
    half of them for one client); a new one takes the place of a stream whose render ended
    stale_stream_s ago and that is still not read to the end, else gets 503. A stream whose
    client takes no data for send_timeout_s is dropped. cors_origins: the origins whose
    pages may call the API (None: any port of localhost / 127.0.0.1 / [::1]; "*": any);
    pages on other sites are refused. allowed_hosts: the Host headers served (None: any;
    default: this machine's names). server_limits: what one connection may hold, read by
    parlab.web's servers (default: header timeout 10 s, write timeout send_timeout_s, a
    request at most the longest render + slot_wait_s + 60 s, at most DEFAULT_MAX_CONNECTIONS
    connections and fewer where the file descriptor limit is lower: `web.fd_share`).
    """
    max_streams = 2 * check_int("max_renders", max_renders, 1, 1024) if max_streams is None else max_streams
    server = LabServer(max_renders, slot_wait_s, send_timeout_s, max_streams, stale_stream_s)
    if server_limits is None:
        server_limits = ServerLimits(
            write_timeout_s=server.send_timeout_s,
            request_timeout_s=MAX_TIME_LIMIT_MS / 1e3 + server.slots.wait_s + DELIVERY_S,
            max_connections=fd_share(0.5, cap=DEFAULT_MAX_CONNECTIONS),
        )
    routes = [
        Route("/", _index),
        *_both("/api/compute/health", server.health),
        *[r for mode in MODES for r in _both(f"/api/compute/{mode}", partial(server.compute, mode))],
        *[r for mode in MODES for r in _both(f"/api/compute/{mode}/stream", partial(server.stream, mode))],
        *page_routes(),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    if cors_origins is None:
        cors: dict[str, Any] = {"allow_origin_regex": LOOPBACK_ORIGINS}
        loopback = re.compile(LOOPBACK_ORIGINS)

        def allowed(origin: str) -> bool:
            return loopback.fullmatch(origin) is not None
    else:
        origins = [_check_origin(origin) for origin in cors_origins]
        cors = {"allow_origins": origins}

        def allowed(origin: str) -> bool:
            return "*" in origins or origin in origins

    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=["*"] if allowed_hosts is None else list(allowed_hosts)),
        # The original client sends credentials and two non-simple headers: a preflight first.
        Middleware(
            CORSMiddleware,
            **cors,
            allow_methods=["GET"],
            allow_headers=["Content-Type", "X-Origin"],
            allow_credentials=True,
            max_age=600,
        ),
        Middleware(ForeignPages, allowed=allowed),
        Middleware(SingleValueQuery),  # for /pages too: the API's parser is not the only reader
    ]
    handlers = {BadParameter: _bad_parameter, Busy: _busy, ShuttingDown: _shutting_down, 500: _server_error}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
    app.state.lab = server
    app.state.server_limits = server_limits
    app.state.cancel_all = server.cancel_all  # called by parlab.web on Ctrl-C and stop()
    return app


def _check_origin(origin: object) -> str:
    if not isinstance(origin, str) or not (origin == "*" or origin.startswith(("http://", "https://"))):
        raise ValueError(f"cors_origins: each must be '*' or a scheme://host[:port] origin, got {origin!r}")
    return origin.rstrip("/")
