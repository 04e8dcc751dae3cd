"""A web server with a known latency: the "internet" of the download experiment.

A course sandbox and CI have no internet, and real sites answer in unpredictable times. This
server answers `GET /pages/{n}` after `latency_ms` with `page_bytes` bytes, so the lesson's
claims ("asyncio downloads 50 pages in about one latency") hold anywhere.

At most `max_requests` pages are in progress at once (more get 503 with Retry-After), and a
page over 64 KiB is streamed in chunks: however many large pages are asked for, the
server's memory stays bounded.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from parlab.checks import check_int, check_number
from parlab.web import BackgroundServer, TimedStreamingResponse

MAX_LATENCY_MS = 60_000
MAX_PAGE_BYTES = 10_000_000
MAX_PAGE_NUMBER = 10**9
#: Pages in progress at once on the lab server (the download experiment asks for at most 10,000).
DEFAULT_MAX_REQUESTS = 256
CHUNK_BYTES = 64 * 1024
SEND_TIMEOUT_S = 30.0
_DIGITS = re.compile(r"[0-9]{1,10}")
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_DECIMAL = re.compile(r"[+-]?([0-9]{1,18}(\.[0-9]{0,18})?|\.[0-9]{1,18})([eE][+-]?[0-9]{1,3})?")


def check_latency(latency_ms: object, name: str = "latency_ms") -> float:
    return check_number(name, latency_ms, 0, MAX_LATENCY_MS)


def check_page_bytes(page_bytes: object, name: str = "page_bytes") -> int:
    return check_int(name, page_bytes, 0, MAX_PAGE_BYTES)


def _query_number(name: str, text: str) -> float:
    """A number from the query string; ValueError naming the parameter otherwise."""
    if not _DECIMAL.fullmatch(text.strip()):
        raise ValueError(f"{name}: must be a number, got {text[:40]!r}")
    return float(text)


def _query_int(name: str, text: str) -> int:
    """An integer from the query string; ValueError naming the parameter otherwise."""
    if not _INTEGER.fullmatch(text.strip()):
        raise ValueError(f"{name}: must be an integer, got {text[:40]!r}")
    return int(text)


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": "bad parameter", "message": message}, status_code=400)


async def _body(number: int, size: int) -> AsyncIterator[bytes]:
    """The line "page n" over and over, cut at `size` bytes, in chunks of whole lines."""
    line = f"page {number}\n".encode()
    chunk = line * max(1, CHUNK_BYTES // len(line))
    for start in range(0, size, len(chunk)):
        yield chunk[: size - start]


def page_routes(
    latency_ms: float = 500, page_bytes: int = 10_000, prefix: str = "/pages", max_requests: int = DEFAULT_MAX_REQUESTS
) -> list[Route]:
    """Routes serving page n after the latency; `?latency_ms=` and `?bytes=` override per request."""
    latency_ms = check_latency(latency_ms)
    page_bytes = check_page_bytes(page_bytes)
    max_requests = check_int("max_requests", max_requests, 1, 100_000)
    in_progress = 0

    def done() -> None:
        nonlocal in_progress
        in_progress -= 1

    async def page(request: Request) -> Response:
        nonlocal in_progress
        text = request.path_params["n"]
        if not _DIGITS.fullmatch(text) or int(text) > MAX_PAGE_NUMBER:
            return _bad(f"n: the page number must be an integer from 0 to {MAX_PAGE_NUMBER}, got {text[:40]!r}")
        number = int(text)
        try:
            query = request.query_params
            delay = check_latency(_query_number("latency_ms", query.get("latency_ms", str(latency_ms))))
            size = check_page_bytes(_query_int("bytes", query.get("bytes", str(page_bytes))), "bytes")
        except (TypeError, ValueError) as error:
            return _bad(str(error))
        if in_progress >= max_requests:
            message = f"{max_requests} pages are in progress; retry in a moment"
            return JSONResponse(
                {"success": False, "error": "busy", "message": message}, status_code=503, headers={"Retry-After": "1"}
            )
        in_progress += 1
        try:
            await asyncio.sleep(delay / 1e3)
        except asyncio.CancelledError:
            # The server is stopping (Ctrl-C in the experiment): its client is already
            # disconnected. Ending quietly spares a traceback per page in progress.
            done()
            return Response(status_code=503)
        if size <= CHUNK_BYTES:  # a small page (the experiments' usual 10 kB): in one piece
            done()
            line = f"page {number}\n".encode()
            return Response((line * (size // len(line) + 1))[:size], media_type="text/plain")
        return TimedStreamingResponse(
            _body(number, size),
            send_timeout_s=SEND_TIMEOUT_S,
            on_close=done,
            media_type="text/plain",
            headers={"Content-Length": str(size)},
        )

    return [Route(prefix + "/{n}", page)]


def page_app(latency_ms: float = 500, page_bytes: int = 10_000, max_requests: int = 10_000) -> Starlette:
    from starlette.middleware import Middleware

    from parlab.web import SingleValueQuery

    return Starlette(
        routes=page_routes(latency_ms, page_bytes, max_requests=max_requests), middleware=[Middleware(SingleValueQuery)]
    )


class PageServer(BackgroundServer):
    """`with PageServer(latency_ms=200) as pages: httpx.get(pages.page_url(3))`."""

    def __init__(self, latency_ms: float = 500, page_bytes: int = 10_000, port: int = 0) -> None:
        super().__init__(page_app(latency_ms, page_bytes), port=port)
        self.latency_ms = check_latency(latency_ms)
        self.page_bytes = check_page_bytes(page_bytes)

    def page_url(self, n: int) -> str:
        return f"{self.url}/pages/{n}"
