"""The demo page in headless Chromium (Debian's chromium package, driven by playwright)."""

import time
from pathlib import Path

import httpx
import pytest

from parlab.server import create_app
from parlab.web import BackgroundServer

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


@pytest.fixture(scope="module")
def server():
    with BackgroundServer(create_app()) as running:
        yield running


@pytest.fixture
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(server.url + "/")
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


def test_stop_cancels_the_render_on_the_server(page, server):
    page.fill("#max-iter", "100000")
    page.fill("#time-limit", "60000")
    page.click("#concurrent button.run")
    page.wait_for_selector("#concurrent[data-state=running]")
    health = server.url + "/api/compute/health"
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
