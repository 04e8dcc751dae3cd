"""The `parlab` command: `parlab serve` (or `python -m parlab serve`) starts the lab server."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Sequence

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8587


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {port}")
    return port


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(host: str, port: int, max_renders: int) -> None:
    import uvicorn

    from parlab.server import create_app

    if not _is_loopback(host):
        print(
            f"parlab serve: listening on {host}, beyond this machine; the lab server has no authentication",
            file=sys.stderr,
        )
    print(f"parlab lab server: http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/ (Ctrl-C stops it)")
    # A live stream lasts at most its time limit plus a tile: shut down within a few seconds regardless.
    uvicorn.run(create_app(max_renders=max_renders), host=host, port=port, timeout_graceful_shutdown=5)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parlab", description="parlab: see concurrency and parallelism.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    server = commands.add_parser("serve", help="start the lab server (the course page, its HTTP API and live stream)")
    server.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    server.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    server.add_argument(
        "--max-renders", type=_positive, default=4, help="renders at once; more wait, then get 503 (default 4)"
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port, args.max_renders)
    return 0


if __name__ == "__main__":
    sys.exit(main())
