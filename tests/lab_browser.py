"""Helpers to run notebooks in a real JupyterLab, in headless Chromium driven by Playwright
(Debian's chromium package: never a downloaded browser)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


def need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (make installs Debian's chromium package when run as root)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(root: Path, settings: Path) -> Iterator[str]:
    """JupyterLab from this environment on 127.0.0.1 with a token, serving `root`; yields
    its URL with the token. Stopped, with its kernels, when the block ends."""
    token = secrets.token_hex(16)
    port = free_port()
    # Render every cell (no virtual scrolling), so the test sees all outputs.
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    # Never write the notebooks back: the tests run them, they do not edit them.
    docmanager = settings / "@jupyterlab" / "docmanager-extension"
    docmanager.mkdir(parents=True)
    (docmanager / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(settings / "workspaces"),
        "JUPYTER_CONFIG_DIR": str(settings / "config"),
    }
    jupyter = Path(sys.executable).with_name("jupyter")
    process = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
         "--ServerApp.port_retries=0", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/status", params={"token": token}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("JupyterLab did not start")
            time.sleep(0.25)
        yield f"{url}/lab/tree/{{path}}?token={token}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def copy_notebook(source: Path, root: Path) -> str:
    """Copies a notebook into `root` (so the lab's autosave never touches the repository)."""
    target = root / source.parent.name / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)
    return f"{source.parent.name}/{source.name}"


def run_all_cells(page, timeout_s: float) -> None:
    """Clicks Run → Run All Cells and waits until every code cell has an execution count.
    A click that JupyterLab dropped (the notebook still settling) is repeated once no cell
    has started after 60 s; a timeout names what the page showed."""
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_function(
        "() => /Idle/.test(document.querySelector('#jp-main-statusbar')?.textContent || '')", timeout=120_000
    )
    started = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
        .some(p => /\\[(\\d+|\\*)\\]/.test(p.textContent))"""
    for attempt in range(2):
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        try:
            page.wait_for_function(started, timeout=60_000)
            break
        except Exception:
            if attempt == 1:
                raise AssertionError(f"Run All Cells started no cell; status bar: {status(page)!r}") from None
    # Run All stops at a cell that fails: wait for every cell, or for an error.
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
            const stderr = "[data-mime-type='application/vnd.jupyter.stderr']";
            const error = document.querySelector('.jp-OutputArea-output' + stderr);
            const idle = /Idle/.test(document.querySelector('#jp-main-statusbar')?.textContent || '');
            return (prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent))) || (error && idle);
        }""",
        timeout=timeout_s * 1000,
    )
    prompts = page.eval_on_selector_all(".jp-CodeCell .jp-InputArea-prompt", "els => els.map(e => e.textContent)")
    if not all(re.fullmatch(r"\[\d+\]:?", p.strip()) for p in prompts):
        raise AssertionError(f"not every cell ran: prompts {prompts}; error outputs: {errors(page)}")


def status(page) -> str:
    """The text of JupyterLab's status bar (the kernel's name and state)."""
    return page.eval_on_selector("#jp-main-statusbar", "e => e.textContent")


def errors(page) -> list[str]:
    """The text of every error or stderr output in the notebook."""
    return page.eval_on_selector_all(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']", "els => els.map(e => e.innerText)"
    )
