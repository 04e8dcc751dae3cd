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


def _origin(text: str) -> str:
    if text != "*" and not text.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"must be '*' or an origin such as http://localhost:4000, got {text!r}")
    return text


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(host: str, port: int, max_renders: int, cors_origins: Sequence[str] | None = None) -> None:
    from parlab.server import create_app
    from parlab.server.app import LOOPBACK_HOSTS
    from parlab.web import backlog_for, bind, limits_of, url_of
    from parlab.web import serve as serve_app

    loopback = _is_loopback(host)
    if not loopback:
        print(
            f"parlab serve: listening on {host}, beyond this machine; the lab server has no authentication",
            file=sys.stderr,
        )
    # On the loopback only, a Host header naming another machine is a DNS-rebinding page: refused.
    app = create_app(
        max_renders=max_renders, cors_origins=cors_origins, allowed_hosts=LOOPBACK_HOSTS if loopback else None
    )
    sock = bind(host, port)  # bound first, so that port 0 prints the port it got
    # Listening before the URL is printed: a client that connects at once is queued until
    # the server accepts it, not refused.
    sock.listen(backlog_for(limits_of(app)))
    url = url_of(sock).replace("//0.0.0.0:", "//127.0.0.1:").replace("//[::]:", "//[::1]:")
    print(f"parlab lab server: {url}/ (Ctrl-C stops it)", flush=True)
    # Ctrl-C cancels every running render at once, then gives connections 1 s to finish.
    serve_app(app, sock, graceful_s=1.0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parlab", description="parlab: see concurrency and parallelism.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    server = commands.add_parser("serve", help="start the lab server (the course page, its HTTP API and live stream)")
    server.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    server.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    server.add_argument(
        "--max-renders", type=_positive, default=4, help="renders at once; more wait, then get 503 (default 4)"
    )
    server.add_argument(
        "--cors-origin",
        dest="cors_origins",
        action="append",
        type=_origin,
        metavar="ORIGIN",
        help="an origin whose pages may call the API, e.g. http://localhost:4000 (repeatable; '*' allows any; "
        "default: any port of http://localhost and http://127.0.0.1)",
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port, args.max_renders, args.cors_origins)
    return 0


if __name__ == "__main__":
    sys.exit(main())
