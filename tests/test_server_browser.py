"""The demo page in headless Chromium (Debian's chromium package, driven by playwright)."""

import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from parlab.server import create_app
from parlab.web import BackgroundServer

ORIGINAL = Path(__file__).parent / "original_client"

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
GREY = "[51, 51, 51]"  # the canvas before a tile is painted (#333)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (scripts/check-tools.sh installs it)"
)


@pytest.fixture
def page(lab_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(lab_server.url + "/")
            yield page
            assert errors == []
        finally:
            browser.close()


def grey_and_total_pixels(page, mode):
    """How many pixels of a panel's canvas are still unpainted, and how many there are."""
    return page.evaluate(
        """(mode) => {
            const canvas = document.querySelector(`section[data-mode=${mode}] canvas:not(.lane)`);
            const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let grey = 0;
            for (let i = 0; i < px.length; i += 4) if (px[i] === 51 && px[i + 1] === 51 && px[i + 2] === 51) grey++;
            return [grey, px.length / 4];
        }""",
        mode,
    )


def bars(page, mode):
    return page.eval_on_selector_all(
        f"section[data-mode={mode}] .thread-bar",
        "bars => bars.map(b => [b.querySelector('.thread-stats').textContent,"
        " b.querySelector('.progress-fill').style.width])",
    )


def test_sequential_then_concurrent_paint_the_canvas_and_the_bars(page, tmp_path):
    # A time limit no run reaches here, so that both images are complete however busy the machine is.
    page.fill("#time-limit", "60000")
    page.fill("#num-threads", "2")
    page.select_option("#strategy", "dynamic")

    page.click("#sequential button.run")
    page.wait_for_selector("#sequential[data-state=complete]", timeout=60_000)
    page.click("#concurrent button.run")
    page.wait_for_selector("#concurrent[data-state=complete]", timeout=60_000)
    page.screenshot(path=tmp_path / "demo.png", full_page=True)

    for mode in ("sequential", "concurrent"):
        grey, total = grey_and_total_pixels(page, mode)
        assert total == 800 * 600 and grey == 0, f"{mode}: {grey} of {total} pixels unpainted"
        assert "Completed: 192/192 tiles" in page.text_content(f"#{mode} .info-display")
    [(stats, width)] = bars(page, "sequential")
    assert stats.startswith("192 tiles") and width == "100%"
    concurrent = bars(page, "concurrent")
    assert len(concurrent) == 2
    assert sum(int(stats.split()[0]) for stats, _ in concurrent) == 192
    assert sum(float(width.rstrip("%")) for _, width in concurrent) == pytest.approx(100)
    assert "Speedup" in page.text_content("#summary")

    # Replay, at full speed: the canvas is cleared, then painted again.
    page.eval_on_selector("#concurrent input.speed", "slider => { slider.value = 1; }")
    page.click("#concurrent button.replay")
    page.wait_for_selector("#concurrent[data-state=complete]", timeout=60_000)
    assert "Replay complete" in page.text_content("#concurrent .info-display")
    assert grey_and_total_pixels(page, "concurrent")[0] == 0


def test_stop_cancels_the_render_on_the_server(page, lab_server):
    page.fill("#max-iter", "100000")
    page.fill("#time-limit", "60000")
    page.click("#concurrent button.run")
    page.wait_for_selector("#concurrent[data-state=running]")
    health = lab_server.url + "/api/compute/health"
    deadline = time.monotonic() + 20
    while httpx.get(health).json()["active_renders"] == 0:  # the request is on its way
        assert time.monotonic() < deadline
        time.sleep(0.01)
    page.click("#concurrent button.stop")
    assert page.get_attribute("#concurrent", "data-state") == "stopped"
    # Left alone, this render would run for its whole 60 s time limit.
    while httpx.get(health).json()["active_renders"]:
        assert time.monotonic() < deadline, "the render went on after Stop"
        time.sleep(0.01)
    assert grey_and_total_pixels(page, "concurrent")[0] > 0  # stopped part-way


# --- the original course page on another origin (issue 16 §1) ----------------------------------


def course_site(api_url):
    """The course page (seed 000) and its client, served as the course deployed them: on
    their own origin, calling the API on another one (the client's address made the API's)."""
    script = (ORIGINAL / "mandelbrot.js").read_text().replace("http://localhost:8405", api_url)

    async def page(request):
        return HTMLResponse((ORIGINAL / "core-2.html").read_text())

    async def client(request):
        return Response(script, media_type="text/javascript")

    return Starlette(routes=[Route("/cores/core-2", page), Route("/assets/js/mandelbrot.js", client)])


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def run_course_page(browser, api_port, threads=2):
    """Runs both simulations of the course page against the API on `api_port`; returns the
    info lines, how many canvas pixels were painted per mode, and the requests the browser
    made to the API (with their methods: a preflight is an OPTIONS)."""
    api_url = f"http://localhost:{api_port}"
    with BackgroundServer(course_site(api_url)) as site:
        assert site.url != api_url  # another origin: another port
        page = browser.new_page()
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        api_calls = []
        cdp.on("Network.requestWillBeSent", lambda e: api_calls.append((e["request"]["method"], e["request"]["url"])))
        page.goto(site.url + "/cores/core-2")
        info, painted = {}, {}
        for mode, extra in (("sequential", None), ("concurrent", threads)):
            if extra is not None:
                page.fill("#num-threads", str(extra))
            page.click(f"#run-{mode}-btn")
            page.wait_for_function(
                f"() => /^(Completed|Error)/.test(document.getElementById('{mode}-mandelbrot-info').textContent)",
                timeout=120_000,
            )
            info[mode] = page.text_content(f"#{mode}-mandelbrot-info")
            painted[mode] = page.evaluate(
                """(id) => {
                    const canvas = document.getElementById(id);
                    const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
                    let painted = 0;
                    for (let i = 0; i < px.length; i += 4) if (px[i] !== 51 || px[i + 1] !== 51) painted++;
                    return painted;
                }""",
                f"{mode}-mandelbrot",
            )
        if info["concurrent"].startswith("Completed"):  # the page's replay, from what the API sent
            page.eval_on_selector("#replay-speed", "slider => { slider.value = 1; }")
            page.click("#replay-btn")
            page.wait_for_function(
                "() => /^Replay complete/.test(document.getElementById('concurrent-mandelbrot-info').textContent)",
                timeout=120_000,
            )
            info["replay"] = page.text_content("#concurrent-mandelbrot-info")
        page.close()
    return info, painted, [(m, u) for m, u in api_calls if u.startswith(api_url)]


def test_the_original_course_page_on_another_origin_gets_its_tiles(browser, lab_server):
    info, painted, api_calls = run_course_page(browser, lab_server.port)
    assert info["sequential"].startswith("Completed: "), info
    assert info["concurrent"].startswith("Completed: ") and "using 2 threads" in info["concurrent"], info
    assert info["replay"].startswith("Replay complete"), info
    for mode in ("sequential", "concurrent"):
        done, total = info[mode].removeprefix("Completed: ").split()[0].split("/")
        assert int(done) == int(total) >= 1
        assert painted[mode] > 0, f"{mode}: nothing painted"
    # Its custom headers made the browser ask first: one preflight and one GET per run. (The
    # browser's events for a preflight and its request may arrive in either order.)
    paths = [url.split("?")[0].rsplit("/", 1)[-1] for _, url in api_calls]
    assert sorted(set(paths), key=paths.index) == ["sequential", "concurrent"], api_calls
    for mode in ("sequential", "concurrent"):
        methods = sorted(m for (m, _), path in zip(api_calls, paths, strict=True) if path == mode)
        assert methods == ["GET", "OPTIONS"], (mode, api_calls)
    print(f"course page: {info}")


def test_the_original_course_page_fails_where_cors_does_not_allow_its_origin(browser):
    # The control: without the CORS answer, the page shows what issue 16 saw ("Failed to fetch").
    with BackgroundServer(create_app(cors_origins=["http://course.example"])) as api:
        info, _, _ = run_course_page(browser, api.port)
    assert info == {"sequential": "Error: Failed to fetch", "concurrent": "Error: Failed to fetch"}
