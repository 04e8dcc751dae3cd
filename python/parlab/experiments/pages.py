"""A web server with a known latency: the "internet" of the download experiment.

A course sandbox and CI have no internet, and real sites answer in unpredictable times. This
server answers `GET /pages/{n}` after `latency_ms` with `page_bytes` bytes, so the lesson's
claims ("asyncio downloads 50 pages in about one latency") hold anywhere.
"""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from parlab.experiments._common import check_int, check_number
from parlab.web import BackgroundServer

MAX_LATENCY_MS = 60_000
MAX_PAGE_BYTES = 10_000_000


def check_latency(latency_ms: object, name: str = "latency_ms") -> float:
    return check_number(name, latency_ms, 0, MAX_LATENCY_MS)


def check_page_bytes(page_bytes: object, name: str = "page_bytes") -> int:
    return check_int(name, page_bytes, 0, MAX_PAGE_BYTES)


def page_routes(latency_ms: float = 500, page_bytes: int = 10_000, prefix: str = "/pages") -> list[Route]:
    """Routes serving page n after the latency; `?latency_ms=` and `?bytes=` override per request."""
    latency_ms = check_latency(latency_ms)
    page_bytes = check_page_bytes(page_bytes)

    async def page(request: Request) -> Response:
        try:
            number = int(request.path_params["n"])
            delay = check_latency(float(request.query_params.get("latency_ms", latency_ms)))
            size = check_page_bytes(int(request.query_params.get("bytes", page_bytes)), "bytes")
        except (TypeError, ValueError) as error:
            return JSONResponse({"success": False, "error": "bad parameter", "message": str(error)}, status_code=400)
        await asyncio.sleep(delay / 1e3)
        line = f"page {number}\n".encode()
        body = (line * (size // len(line) + 1))[:size]
        return Response(body, media_type="text/plain")

    return [Route(prefix + "/{n:int}", page)]


def page_app(latency_ms: float = 500, page_bytes: int = 10_000) -> Starlette:
    return Starlette(routes=page_routes(latency_ms, page_bytes))


class PageServer(BackgroundServer):
    """`with PageServer(latency_ms=200) as pages: httpx.get(pages.page_url(3))`."""

    def __init__(self, latency_ms: float = 500, page_bytes: int = 10_000, port: int = 0) -> None:
        super().__init__(page_app(latency_ms, page_bytes), port=port)
        self.latency_ms = check_latency(latency_ms)
        self.page_bytes = check_page_bytes(page_bytes)

    def page_url(self, n: int) -> str:
        return f"{self.url}/pages/{n}"
