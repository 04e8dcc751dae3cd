"""The richest Python notebook, run in a real JupyterLab in headless Chromium: every cell
runs, the images, timelines and live per-thread progress bars render, no cell errors."""

from pathlib import Path

import pytest
from lab_browser import CHROMIUM, CHROMIUM_ARGS, copy_notebook, errors, jupyterlab, need_chromium, run_all_cells

ROOT = Path(__file__).resolve().parent.parent
TILES = ROOT / "notebooks" / "python" / "05-mandelbrot-tiles.ipynb"


def test_mandelbrot_notebook_in_jupyterlab(tmp_path):
    need_chromium()
    playwright = pytest.importorskip("playwright.sync_api")
    lab_root = tmp_path / "lab"
    path = copy_notebook(TILES, lab_root)
    with jupyterlab(lab_root, tmp_path / "settings") as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # Tall enough to show the whole notebook: JupyterLab scrolls inside its own panel.
            page = browser.new_page(viewport={"width": 1280, "height": 6000})
            page.goto(url.format(path=path))
            run_all_cells(page, timeout_s=240)
            page.wait_for_timeout(1000)  # let the last widget messages arrive
            page.screenshot(path=str(tmp_path / "05-mandelbrot-tiles.png"))
            images = page.locator(".jp-OutputArea-output img").count()
            bars = page.locator(".jp-OutputArea-output .widget-hprogress").count()
            labels = page.locator(".jp-OutputArea-output .parlab-progress").all_inner_texts()
            problems = errors(page)
        finally:
            browser.close()
    # The two partial images, the timelines and the replay's picture.
    assert images >= 3, images
    # Sequential (1 bar), concurrent (≥ 2 bars) and the replay (≥ 2 bars).
    assert bars >= 5, bars
    # The live bars ended on the run's own summary line.
    assert any("sequential:" in text and "tiles in" in text for text in labels), labels
    assert any("static:" in text for text in labels), labels
    assert problems == [], problems


RUST_TILES = ROOT / "notebooks" / "rust" / "01-tiles-and-threads.ipynb"


def test_rust_notebook_in_jupyterlab(tmp_path):
    need_chromium()
    playwright = pytest.importorskip("playwright.sync_api")
    # The notebook loads the core by its path in the repository (../../rust_core), so the lab
    # serves the repository itself; autosave is off, so the stored notebook stays clean.
    path = RUST_TILES.relative_to(ROOT).as_posix()
    before = RUST_TILES.read_bytes()
    with jupyterlab(ROOT, tmp_path / "settings") as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 6000})
            page.goto(url.format(path=path))
            run_all_cells(page, timeout_s=600)  # the first cell compiles the core
            page.wait_for_timeout(500)
            page.screenshot(path=str(tmp_path / "rust-01-tiles-and-threads.png"))
            charts = sum(
                page.locator(f".jp-OutputArea-output[data-mime-type='{mime}']").count()
                for mime in ("image/svg+xml", "image/png")
            )
            tables = page.locator(".jp-OutputArea-output table").count()
            problems = errors(page)
        finally:
            browser.close()
    assert RUST_TILES.read_bytes() == before
    assert charts >= 3, charts  # the image, the partial images, the timelines
    assert problems == [], problems
    assert tables >= 1, tables
