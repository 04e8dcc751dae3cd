"""Serving an ASGI app: from a background thread for as long as a `with` block lasts (the
download experiment's page server, the lab server's tests), or in the foreground until
Ctrl-C (`parlab serve`).

    with BackgroundServer(app) as server:
        httpx.get(server.url + "/health")

Leaving the block (normally, by an exception or by KeyboardInterrupt) stops the server at
once: open connections are closed, the thread is joined and the socket closed, so no port
stays bound and no client waits. An app with work that outlives a request (the lab
server's renders) sets `app.state.cancel_all`, a function that asks all of it to stop; it
is called first, on `stop()` and on Ctrl-C.

Both run uvicorn with `ServerLimits`: what one connection may hold. uvicorn has a keep-alive
timeout and a limit on a request head's size (used here), but no timeout for a request head
that never comes, none for a write that a client never takes, none for a whole request, and
its `limit_concurrency` answers 503 to requests without ever refusing a connection (silent
ones are never counted out, and they make it refuse the legitimate user). `BoundedH11Protocol`,
uvicorn's h11 protocol given as `Config(http=...)`, adds those four. A dropped connection is
aborted, not closed: a graceful close waits to send what a client that stopped reading will
never take, and the socket would stay open forever.

Also `TimedStreamingResponse`: Starlette's StreamingResponse with a send timeout, which
always closes its generator (so the generator's `finally` runs), however the response ends,
and `SingleValueQuery`, a middleware that refuses a query naming a parameter twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import parse_qsl

import anyio
import uvicorn
from starlette.responses import JSONResponse, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from parlab.checks import check_int, check_number

#: Connections the listening socket queues before the server accepts them (uvicorn's default).
BACKLOG = 2048


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port); port 0 picks a free port (read it back with
    `sock.getsockname()[1]`)."""
    port = check_int("port", port, 0, 65535)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it every response stalls 40 ms (Nagle + delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    """http://host:port of a bound socket (IPv6 in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass(frozen=True)
class ServerLimits:
    """What one connection may hold (uvicorn's options where it has them).

    header_timeout_s: from the connection's start, or the end of its previous response, to
        a complete request head; a connection that sends nothing, or a byte at a time, is
        closed then (keep-alive data does not reset it).
    keep_alive_s: an idle keep-alive connection is closed after this (uvicorn's
        `timeout_keep_alive`).
    write_timeout_s: a write the client does not take for this long (the send buffers stay
        full: it stopped reading) aborts the connection.
    request_timeout_s: the longest a request may take, head to last byte of its answer; then
        its connection is aborted (a 503 if nothing was sent yet). None: no bound.
    max_connections: open connections at most; one more closes the oldest connection with no
        request in progress, or, if every one has a request, is itself closed. None: no cap.
    max_head_bytes: the longest request head (uvicorn's `h11_max_incomplete_event_size`).
    """

    header_timeout_s: float = 10.0
    keep_alive_s: float = 5.0
    write_timeout_s: float = 10.0
    request_timeout_s: float | None = None
    max_connections: int | None = None
    max_head_bytes: int = 16 * 1024

    def __post_init__(self) -> None:
        check_number("header_timeout_s", self.header_timeout_s, 0.01, 3600)
        check_number("keep_alive_s", self.keep_alive_s, 0.01, 3600)
        check_number("write_timeout_s", self.write_timeout_s, 0.01, 3600)
        if self.request_timeout_s is not None:
            check_number("request_timeout_s", self.request_timeout_s, 0.01, 86400)
        if self.max_connections is not None:
            check_int("max_connections", self.max_connections, 1, 1_000_000)
        check_int("max_head_bytes", self.max_head_bytes, 1024, 1 << 20)


def limits_of(app: Any) -> ServerLimits:
    """The app's `state.server_limits` if it sets them, else the defaults."""
    limits = getattr(getattr(app, "state", None), "server_limits", None)
    return limits if isinstance(limits, ServerLimits) else ServerLimits()


#: File descriptors a connection cap leaves for everything else a request may open.
FD_RESERVE = 32


def fd_share(share: float = 0.5, cap: int = 1024, reserve: int = FD_RESERVE) -> int:
    """A connection cap that leaves the process file descriptors, read now: `share` of its soft
    limit (RLIMIT_NOFILE), and at most what is left once the descriptors open now and
    `reserve` are set aside, with room for the listen backlog (`backlog_for`: a quarter of
    the cap) accepted before the cap counts them; at most `cap`, at least 8."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):  # not on Unix
        return cap
    if soft == resource.RLIM_INFINITY:
        return cap
    try:
        open_now = len(os.listdir("/proc/self/fd"))
    except OSError:  # no /proc: count none, the share still leaves room
        open_now = 0
    room = soft - open_now - reserve
    return max(8, min(cap, int(soft * share), room * 4 // 5))


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout, a write timeout, a request timeout and a
    connection cap (`limits`, set on a subclass by `protocol_for`)."""

    limits = ServerLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._app = self.app
        self.app = self._bounded_app
        self.opened = time.monotonic()
        self._head_timer: asyncio.TimerHandle | None = None
        self._write_timer: asyncio.TimerHandle | None = None
        self._request_scope: anyio.CancelScope | None = None

    @property
    def idle(self) -> bool:
        """No request in progress: waiting for a request head, or kept alive."""
        return self.cycle is None or self.cycle.response_complete

    def drop(self) -> None:
        """Ends the connection now: its request's work is cancelled and the socket aborted
        (a graceful close would wait for a client that may never read)."""
        if self._request_scope is not None:
            self._request_scope.cancel()
        if self.cycle is not None:
            self.cycle.disconnected = True  # on purpose: no "returned without completing response"
        self.transport.abort()

    def _close(self) -> None:
        """Closes an idle connection: gracefully if nothing waits to be sent, else aborted."""
        if self.transport.is_closing():
            return
        if self.transport.get_write_buffer_size():
            self.drop()
        else:
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timed_out)
        cap = self.limits.max_connections
        if cap is not None and len(self.connections) > cap:
            # Not one already closing: several connections arrive in one turn of the loop, before
            # the first one closed has left `connections` (the cap was then never enforced).
            idle = [
                c
                for c in self.connections
                if c is not self and isinstance(c, BoundedH11Protocol) and c.idle and not c.transport.is_closing()
            ]
            if idle:
                min(idle, key=lambda c: c.opened)._close()
            else:
                self.drop()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._head_timer, self._write_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._write_timer = None
        super().connection_lost(exc)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.idle:
            self._close()

    def handle_events(self) -> None:
        super().handle_events()
        if not self.idle and self._head_timer is not None:  # a request head arrived
            self._head_timer.cancel()
            self._head_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.idle and not self.transport.is_closing() and self._head_timer is None:
            self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timed_out)

    def timeout_keep_alive_handler(self) -> None:
        self._close()  # uvicorn's closes gracefully, which waits for a client that may not read

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self.loop.call_later(self.limits.write_timeout_s, self.drop)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None

    def shutdown(self) -> None:
        if self.flow is not None and self.flow.write_paused:  # not reading: it would hold the shutdown
            self.drop()
        else:
            super().shutdown()

    async def _bounded_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app, cancelled by `drop()` or at the request timeout; a response it left
        unfinished aborts the connection (the client cannot tell a cut stream otherwise)."""
        cycle = self.cycle
        state = {"started": False, "complete": False}

        async def watched_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["complete"] = True

        with anyio.CancelScope() as request_scope:
            if self.limits.request_timeout_s is not None:
                request_scope.deadline = anyio.current_time() + self.limits.request_timeout_s
            self._request_scope = request_scope
            try:
                await self._app(scope, receive, watched_send)
            finally:
                self._request_scope = None
        if state["complete"] or cycle.disconnected or self.transport.is_closing():
            if not state["complete"]:
                cycle.disconnected = True
            return
        if not state["started"] and request_scope.cancelled_caught:
            seconds = self.limits.request_timeout_s
            message = f"the request took longer than this server's {seconds:g} s; ask for less"
            body = {"success": False, "error": "request timeout", "message": message}
            response = JSONResponse(body, status_code=503, headers={"Connection": "close", "Retry-After": "1"})
            with anyio.move_on_after(self.limits.write_timeout_s):
                await response(scope, receive, send)
            return
        cycle.disconnected = True  # started, unfinished: cut here, on purpose
        self.transport.abort()


def backlog_for(limits: ServerLimits) -> int:
    """The listen backlog, which is also how many connections asyncio accepts at once before
    any of them is counted: with a connection cap, small, so that a flood of connections
    cannot take every file descriptor before the cap closes them (with `ulimit -n 128`, 128
    accepted at once did)."""
    return BACKLOG if limits.max_connections is None else max(8, min(BACKLOG, limits.max_connections // 4))


def protocol_for(limits: ServerLimits) -> type[BoundedH11Protocol]:
    """A BoundedH11Protocol class with these limits (uvicorn builds one per connection)."""
    return type("BoundedH11Protocol", (BoundedH11Protocol,), {"limits": limits})


def uvicorn_config(app: Any, limits: ServerLimits, graceful_s: float, **options: Any) -> uvicorn.Config:
    # The uvicorn backstop comes after parlab's own drop at graceful_s (see _Server.shutdown).
    return uvicorn.Config(
        app,
        lifespan="off",
        http=protocol_for(limits),
        timeout_keep_alive=limits.keep_alive_s,  # type: ignore[arg-type]  # a float works: call_later
        h11_max_incomplete_event_size=limits.max_head_bytes,
        backlog=backlog_for(limits),
        timeout_graceful_shutdown=graceful_s + 5,  # type: ignore[arg-type]
        **options,
    )


def _libc() -> Any:
    """The C library's functions, if it is glibc (mallopt and malloc_trim are glibc's)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)
    except OSError:  # pragma: no cover - not on Unix
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def tune_allocator() -> None:
    """For a process that only serves (`parlab serve`): glibc's malloc raises its mmap
    threshold after each large free, so a stream's megabytes of events then come from heaps
    it never gives back (RSS stayed at 238-640 MB after stream tests, baseline 80 MB).
    Fixing the threshold at 128 KiB keeps large blocks mapped and returned when freed."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD (also turns off its dynamic growth)


def release_memory() -> None:
    """Frees what only reference cycles still hold (a cut stream's traceback holds its
    generator and its queued events), then gives the C heap's free pages back to the system
    (glibc's malloc_trim). Called when the lab server falls idle."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def cancel_all(app: Any) -> None:
    """Calls the app's `state.cancel_all()`, if it has one."""
    cancel = getattr(getattr(app, "state", None), "cancel_all", None)
    if cancel is not None:
        cancel()


class _Server(uvicorn.Server):
    """uvicorn's server, which on Ctrl-C (SIGINT, SIGTERM) first cancels the app's work:
    otherwise its graceful shutdown would wait for every running render to finish. Shutting
    down gives connections `graceful_s` to finish, then drops the rest, so that uvicorn never
    reaches its own timeout (which cancels tasks and logs a traceback for each)."""

    def __init__(self, config: uvicorn.Config, graceful_s: float) -> None:
        super().__init__(config)
        self.graceful_s = graceful_s

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        cancel_all(self.config.app)
        timer = asyncio.get_running_loop().call_later(self.graceful_s, drop_connections, self)
        try:
            await super().shutdown(sockets)
        finally:
            timer.cancel()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            cancel_all(self.config.app)
        else:  # not from inside the signal handler: it may have interrupted code holding a lock
            loop.call_soon_threadsafe(cancel_all, self.config.app)
        super().handle_exit(sig, frame)


def serve(
    app: Any,
    sock: socket.socket,
    graceful_s: float = 1.0,
    log_level: str = "info",
    limits: ServerLimits | None = None,
) -> None:
    """Serves `app` on the bound socket `sock` in this thread until Ctrl-C, within `limits`
    (default: the app's `state.server_limits`). Shutting down cancels the app's work, then
    gives open connections `graceful_s` to finish and drops the rest."""
    config = uvicorn_config(app, limits or limits_of(app), graceful_s, log_level=log_level)
    tune_allocator()
    try:
        _Server(config, graceful_s).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn raises the captured SIGINT again once it has stopped
        pass
    finally:
        sock.close()


class BackgroundServer:
    """`app` served from a background thread, within `limits` (default: the app's
    `state.server_limits`)."""

    def __init__(
        self,
        app,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout_s: float = 10.0,
        limits: ServerLimits | None = None,
    ) -> None:
        self.port = check_int("port", port, 0, 65535)
        self.app = app
        self.limits = limits or limits_of(app)
        self.host = host
        self.startup_timeout_s = startup_timeout_s
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._socket = bind(self.host, self.port)
        self.port = self._socket.getsockname()[1]
        config = uvicorn_config(self.app, self.limits, graceful_s=0.5, log_level="warning", access_log=False)
        self._server = _Server(config, graceful_s=0.5)
        self._thread = threading.Thread(target=self._run, name=f"parlab-server-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server on {self.url} did not start")
            time.sleep(0.005)
        return self

    def _run(self) -> None:
        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            assert self._server is not None and self._socket is not None
            await self._server.serve(sockets=[self._socket])

        asyncio.run(serve())

    def stop(self) -> None:
        """Stops now: cancels the app's work, closes every connection (a client waiting
        for an answer gets an error at once), joins the thread, closes the socket."""
        server, loop = self._server, self._loop
        if server is not None:
            cancel_all(self.app)
            server.should_exit = True
            if loop is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(drop_connections, server)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = self._loop = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def drop_connections(server: uvicorn.Server) -> None:
    """Ends every connection now, cancelling what its request runs."""
    for connection in list(server.server_state.connections):
        if isinstance(connection, BoundedH11Protocol):
            connection.drop()
        else:
            connection.transport.abort()


class SingleValueQuery:
    """ASGI middleware: a query that names a parameter twice (`?latency_ms=0&latency_ms=60000`)
    is a 400 naming it, before any endpoint reads it (an endpoint that took the first or the
    last value would do what the client did not mean)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            names = [name for name, _ in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)]
            counts = Counter(names)
            repeated = next((name for name in names if counts[name] > 1), None)
            if repeated is not None:
                message = f"{repeated[:40]}: given {counts[repeated]} times; give it once"
                body = {"success": False, "error": "bad parameter", "message": message}
                await JSONResponse(body, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class TimedStreamingResponse(StreamingResponse):
    """A StreamingResponse that drops a client which does not take a chunk within
    `send_timeout_s` (a reader that stopped reading would otherwise hold the response, and
    whatever it holds, forever), and closes its generator however the response ends, so
    that the generator's `finally` always runs. `on_close` is called last."""

    def __init__(
        self,
        content: AsyncIterator[bytes],
        send_timeout_s: float,
        on_close: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(content, **kwargs)
        self.send_timeout_s = check_number("send_timeout_s", send_timeout_s, 0.001, 3600)
        self.on_close = on_close
        self.timed_out = False
        self.cancelled = False
        self._scope: anyio.CancelScope | None = None

    def cancel(self) -> None:
        """Ends the response where it is (the server then aborts its connection)."""
        self.cancelled = True
        if self._scope is not None:
            self._scope.cancel()

    async def stream_response(self, send: Send) -> None:
        async def timed_send(message: Message) -> None:
            with anyio.fail_after(self.send_timeout_s):
                await send(message)

        await super().stream_response(timed_send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with anyio.CancelScope() as self._scope:
                if self.cancelled:
                    self._scope.cancel()
                await super().__call__(scope, receive, send)
        except TimeoutError:
            self.timed_out = True  # dropped: uvicorn closes a connection whose response is unfinished
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()  # type: ignore[attr-defined]
            if self.on_close is not None:
                self.on_close()
