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

Also `TimedStreamingResponse`: Starlette's StreamingResponse with a send timeout, which
always closes its generator (so the generator's `finally` runs), however the response ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from types import FrameType, TracebackType
from typing import Any

import anyio
import uvicorn
from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from parlab.checks import check_int, check_number


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


def cancel_all(app: Any) -> None:
    """Calls the app's `state.cancel_all()`, if it has one."""
    cancel = getattr(getattr(app, "state", None), "cancel_all", None)
    if cancel is not None:
        cancel()


class _Server(uvicorn.Server):
    """uvicorn's server, which on Ctrl-C (SIGINT, SIGTERM) first cancels the app's work:
    otherwise its graceful shutdown would wait for every running render to finish."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            cancel_all(self.config.app)
        else:  # not from inside the signal handler: it may have interrupted code holding a lock
            loop.call_soon_threadsafe(cancel_all, self.config.app)
        super().handle_exit(sig, frame)


def serve(app: Any, sock: socket.socket, graceful_s: float = 1.0, log_level: str = "info") -> None:
    """Serves `app` on the bound socket `sock` in this thread until Ctrl-C. Shutting down
    cancels the app's work, then gives open connections `graceful_s` to finish."""
    config = uvicorn.Config(app, log_level=log_level, lifespan="off", timeout_graceful_shutdown=graceful_s)
    try:
        _Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn raises the captured SIGINT again once it has stopped
        pass
    finally:
        sock.close()


class BackgroundServer:
    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, startup_timeout_s: float = 10.0) -> None:
        self.port = check_int("port", port, 0, 65535)
        self.app = app
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
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
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
            server.should_exit = server.force_exit = True
            if loop is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(_close_connections, server)
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


def _close_connections(server: uvicorn.Server) -> None:
    for connection in list(server.server_state.connections):
        connection.transport.close()


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

    async def stream_response(self, send: Send) -> None:
        async def timed_send(message: Message) -> None:
            with anyio.fail_after(self.send_timeout_s):
                await send(message)

        await super().stream_response(timed_send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except TimeoutError:
            self.timed_out = True  # dropped: uvicorn closes a connection whose response is unfinished
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()  # type: ignore[attr-defined]
            if self.on_close is not None:
                self.on_close()
