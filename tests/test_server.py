"""The lab server (`parlab serve`) against a real server on a free loopback port."""

import asyncio
import base64
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import numpy as np
import pytest

import parlab
from parlab.server import LIMITS, create_app
from parlab.web import BackgroundServer

# The request of the original course page's API reference (seed 004).
SEED = dict(width=96, height=96, tile_w=32, tile_h=32, max_iter=128, time_limit_ms=500, num_threads=2)
SEED_QUERY = "width=96&height=96&tile_w=32&tile_h=32&max_iter=128&time_limit_ms=500&num_threads=2"
SEQUENTIAL = {k: v for k, v in SEED.items() if k != "num_threads"}
RECORD_KEYS = {
    "task_id", "thread_id", "tile_x", "tile_y", "tile_w", "tile_h", "start_time_ms", "duration_ms",
    "pixels_computed", "start_us", "duration_us", "iterations",
}  # fmt: skip
# A render that would run for the whole 60 s time limit unless cancelled; tiles stay short
# (at most 50·50·20000 iterations) so that a cancelled render stops within a fraction of a second.
LONG = dict(width=2000, height=2000, tile_w=50, tile_h=50, max_iter=20_000, time_limit_ms=60_000, num_threads=1)


@pytest.fixture(scope="module")
def server():
    with BackgroundServer(create_app()) as running:
        yield running


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


def url(mode, **params):
    return f"/api/compute/{mode}?{urlencode(params)}"


def events(lines):
    """(event, data) pairs of a text/event-stream."""
    name = None
    for line in lines:
        if line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            yield name, json.loads(line.removeprefix("data:"))


def render_threads():
    """The native render threads of this process (where BackgroundServer runs the app), on Linux."""
    names = (Path(task, "comm").read_text().strip() for task in glob.glob("/proc/self/task/*"))
    return sorted(n for n in names if n.startswith(("parlab-render", "parlab-worker", "parlab-rayon")))


def wait_until_idle(client, within_s=20.0):
    """Seconds until the server reports no render running (fails after within_s), then checks
    that no render thread is left."""
    start = time.monotonic()
    while (health := client.get("/api/compute/health").json())["active_renders"]:
        assert time.monotonic() - start < within_s, f"still rendering after {within_s} s: {health}"
        time.sleep(0.01)
    seconds = time.monotonic() - start
    while render_threads():
        assert time.monotonic() - start < within_s, f"render threads left: {render_threads()}"
        time.sleep(0.01)
    return seconds


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_health(client):
    response = client.get("/api/compute/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["active_renders"] == 0 and body["max_renders"] >= 1
    assert body["strategies"] == list(parlab.STRATEGIES)
    assert body["limits"] == LIMITS


def test_the_seed_example_answers_as_the_original_api(client):
    response = client.get("/api/compute/concurrent?" + SEED_QUERY)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "Concurrent tasks executed successfully"
    assert body["params"] == {**SEED, "mode": "concurrent", "strategy": "static", "include_pixels": False}
    assert body["completed_tiles"] == body["total_tiles"] == 9 and body["time_limited"] is False
    data = body["data"]
    assert len(data) == 9 and all(set(r) == RECORD_KEYS for r in data)
    assert sorted(r["task_id"] for r in data) == list(range(9))
    assert {(r["tile_x"], r["tile_y"]) for r in data} == {(x, y) for x in (0, 32, 64) for y in (0, 32, 64)}
    assert all(r["pixels_computed"] == 1024 and r["tile_w"] == r["tile_h"] == 32 for r in data)
    # static chunks of ceil(9/2) = 5 tiles, as in the seed's answer
    assert {r["task_id"]: r["thread_id"] for r in data} == {t: 0 if t < 5 else 1 for t in range(9)}
    for r in data:
        assert isinstance(r["start_time_ms"], float) and isinstance(r["duration_ms"], float)
        assert r["duration_ms"] > 0 and r["start_time_ms"] == pytest.approx(r["start_us"] / 1e3)
    assert [r["start_us"] for r in data] == sorted(r["start_us"] for r in data)
    assert sum(r["iterations"] for r in data) == int(parlab.render(**SEQUENTIAL, threads=1).iterations.sum())


def test_sequential(client):
    body = client.get(url("sequential", **SEQUENTIAL)).json()
    assert body["success"] is True and body["message"] == "Sequential tasks executed successfully"
    assert body["params"] == {**SEQUENTIAL, "num_threads": 1, "mode": "sequential", "strategy": "sequential",
                              "include_pixels": False}  # fmt: skip
    assert [r["task_id"] for r in body["data"]] == list(range(9))
    assert {r["thread_id"] for r in body["data"]} == {0}


@pytest.mark.parametrize("strategy", parlab.STRATEGIES)
def test_every_strategy(client, strategy):
    threads = 1 if strategy == "sequential" else 2
    body = client.get(url("concurrent", **{**SEED, "num_threads": threads, "strategy": strategy})).json()
    assert body["success"] is True and body["strategy"] == strategy and body["num_threads"] == threads
    assert body["params"]["strategy"] == strategy and len(body["data"]) == 9


def test_include_pixels_returns_each_tiles_counts(client):
    body = client.get(url("concurrent", **SEED, strategy="dynamic", include_pixels="true")).json()
    expected = parlab.render(**SEQUENTIAL, threads=1).iterations
    for r in body["data"]:
        tile = expected[r["tile_y"] : r["tile_y"] + r["tile_h"], r["tile_x"] : r["tile_x"] + r["tile_w"]]
        np.testing.assert_array_equal(np.array(r["counts"]), tile)


def test_a_time_limit_that_stops_every_tile_is_reported(client):
    body = client.get(url("concurrent", **{**SEED, "time_limit_ms": 0})).json()
    assert body["success"] is True and body["data"] == []
    assert body["time_limited"] is True and body["completed_tiles"] == 0 and body["total_tiles"] == 9
    assert "time limit of 0 ms reached: 0/9 tiles" in body["message"]


def without(name):
    return {k: v for k, v in SEED.items() if k != name}


BAD_QUERIES = [
    *[(without(name), name) for name in SEED],
    *[({**SEED, name: "ten"}, name) for name in SEED],
    *[({**SEED, name: "2.5"}, name) for name in SEED],
    *[({**SEED, name: -1}, name) for name in SEED],
    ({**SEED, "width": 0}, "width"),
    ({**SEED, "height": 0}, "height"),
    ({**SEED, "width": 4000, "height": 4000}, "width"),
    ({**SEED, "tile_w": 0}, "tile_w"),
    ({**SEED, "tile_w": 97}, "tile_w"),
    ({**SEED, "tile_h": 97}, "tile_h"),
    ({**SEED, "max_iter": 0}, "max_iter"),
    ({**SEED, "max_iter": LIMITS["max_iter"] + 1}, "max_iter"),
    ({**SEED, "max_iter": 99999999999999999999999}, "max_iter"),
    ({**SEED, "time_limit_ms": LIMITS["max_time_limit_ms"] + 1}, "time_limit_ms"),
    ({**SEED, "num_threads": 0}, "num_threads"),
    ({**SEED, "num_threads": LIMITS["max_threads"] + 1}, "num_threads"),
    ({**SEED, "strategy": "fastest"}, "strategy"),
    ({**SEED, "strategy": "sequential"}, "num_threads"),
    ({**SEED, "include_pixels": "maybe"}, "include_pixels"),
    ({**SEED, "width": 2000, "height": 1000, "include_pixels": "true"}, "include_pixels"),
    ({**SEED, "width": 2000, "height": 2000, "tile_w": 10, "tile_h": 10}, "tile_w"),
    ({**SEED, "width": 2000, "height": 2000, "tile_w": 1000, "tile_h": 1000, "max_iter": 1001}, "max_iter"),
    ({**SEED, "colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("query", "name"), BAD_QUERIES, ids=[urlencode(q)[:80] for q, _ in BAD_QUERIES])
def test_bad_input_is_400_naming_the_parameter(client, query, name):
    response = client.get(url("concurrent", **query))
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["error"] == "bad parameter"
    assert body["message"].startswith(f"{name}:"), body["message"]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({**SEQUENTIAL, "num_threads": 2}, "num_threads"),
        ({**SEQUENTIAL, "strategy": "dynamic"}, "strategy"),
        ({k: v for k, v in SEQUENTIAL.items() if k != "time_limit_ms"}, "time_limit_ms"),
    ],
)
def test_bad_sequential_input(client, query, name):
    response = client.get(url("sequential", **query))
    assert response.status_code == 400 and response.json()["message"].startswith(f"{name}:")


def test_a_repeated_parameter_is_refused(client):
    response = client.get("/api/compute/concurrent?" + SEED_QUERY + "&width=48")
    assert response.status_code == 400 and response.json()["message"].startswith("width: given 2 times")


def test_the_stream_sends_every_tile_then_the_summary(client):
    with client.stream("GET", url("concurrent/stream", **SEED, strategy="dynamic")) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        received = list(events(response.iter_lines()))
    names = [name for name, _ in received]
    assert names == ["start"] + ["progress"] * 9 + ["complete"]
    start, complete = received[0][1], received[-1][1]
    assert start["total_tasks"] == 9 and start["num_threads"] == 2 and start["params"]["strategy"] == "dynamic"
    assert complete == {
        "total_tasks": 9, "completed_tasks": 9, "was_time_limited": False, "num_threads": 2, "strategy": "dynamic",
        "elapsed_ms": complete["elapsed_ms"], "message": "Concurrent tasks executed successfully",
    }  # fmt: skip
    expected = parlab.render(**SEQUENTIAL, threads=1).iterations
    progress = [data for name, data in received if name == "progress"]
    assert [p["current"] for p in progress] == list(range(1, 10)) and {p["total"] for p in progress} == {9}
    for p in progress:
        task = p["task"]
        assert set(task) == RECORD_KEYS
        counts = np.frombuffer(base64.b64decode(p["counts_base64"]), dtype="<u4").reshape(task["tile_h"], -1)
        window = expected[task["tile_y"] :, task["tile_x"] :][: task["tile_h"], : task["tile_w"]]
        np.testing.assert_array_equal(counts, window)


def test_the_sequential_stream(client):
    with client.stream("GET", url("sequential/stream", **SEQUENTIAL)) as response:
        received = list(events(response.iter_lines()))
    assert [d["task"]["task_id"] for n, d in received if n == "progress"] == list(range(9))
    assert received[-1] == ("complete", {**received[-1][1], "num_threads": 1, "completed_tasks": 9})


def test_the_stream_refuses_bad_input_with_400(client):
    response = client.get(url("concurrent/stream", **without("max_iter")))
    assert response.status_code == 400 and response.json()["message"].startswith("max_iter:")


def test_a_client_that_disconnects_mid_stream_cancels_its_render(client):
    with client.stream("GET", url("concurrent/stream", **LONG)) as response:
        lines = response.iter_lines()
        first = next(events(lines))
        assert first[0] == "start"
        assert next(events(lines))[0] == "progress"
        assert client.get("/api/compute/health").json()["active_renders"] == 1
    # Left running, this render would take its whole 60 s time limit.
    seconds = wait_until_idle(client)
    print(f"a disconnected stream's render stopped {seconds * 1e3:.0f} ms after the client left")


async def _disconnect_while_rendering(base_url):
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        request = asyncio.create_task(http.get(url("concurrent", **LONG)))
        while (await http.get("/api/compute/health")).json()["active_renders"] == 0:
            await asyncio.sleep(0.01)
        request.cancel()  # closes the connection
        with pytest.raises(asyncio.CancelledError):
            await request


def test_a_client_that_disconnects_from_a_json_request_cancels_its_render(server, client):
    asyncio.run(_disconnect_while_rendering(server.url))
    seconds = wait_until_idle(client)
    print(f"a disconnected request's render stopped {seconds * 1e3:.0f} ms after the client left")


async def _seed_requests(base_url, count):
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        return await asyncio.gather(*(http.get("/api/compute/concurrent?" + SEED_QUERY) for _ in range(count)))


def test_100_concurrent_requests_of_the_seed_example_are_all_answered(server, client):
    start = time.perf_counter()
    responses = asyncio.run(_seed_requests(server.url, 100))
    elapsed = time.perf_counter() - start
    assert [r.status_code for r in responses] == [200] * 100
    expected = [
        (r["task_id"], r["thread_id"], r["iterations"]) for r in client.get(url("concurrent", **SEED)).json()["data"]
    ]
    for response in responses:
        body = response.json()
        assert body["success"] is True and body["params"]["num_threads"] == 2
        assert sorted((r["task_id"], r["thread_id"], r["iterations"]) for r in body["data"]) == sorted(expected)
    print(f"100 concurrent seed requests answered in {elapsed * 1e3:.0f} ms")
    assert client.get("/api/compute/health").json()["active_renders"] == 0


def test_requests_beyond_the_render_slots_get_503_with_retry_after():
    app = create_app(max_renders=1, slot_wait_s=0.2)
    with BackgroundServer(app) as busy, httpx.Client(base_url=busy.url, timeout=60) as http:
        with http.stream("GET", url("concurrent/stream", **LONG)) as holding:
            lines = holding.iter_lines()  # kept: closing this iterator would close the stream
            assert next(events(lines))[0] == "start"
            for path in (url("concurrent", **SEED), url("sequential/stream", **SEQUENTIAL)):
                refused = http.get(path)
                assert refused.status_code == 503
                assert refused.headers["retry-after"] == "1"
                body = refused.json()
                assert body["success"] is False and body["error"] == "busy"
                assert "1 render slots" in body["message"]
            health = http.get("/api/compute/health").json()
            assert health["active_renders"] == 1 and health["max_renders"] == 1
        wait_until_idle(http)
        assert http.get(url("concurrent", **SEED)).status_code == 200


def test_create_app_checks_its_limits():
    with pytest.raises(ValueError, match="max_renders"):
        create_app(max_renders=0)
    with pytest.raises(ValueError, match="slot_wait_s"):
        create_app(slot_wait_s=-1)


def test_the_download_experiments_pages_are_served(client):
    response = client.get("/pages/7?latency_ms=0&bytes=14")
    assert response.status_code == 200 and response.text == "page 7\npage 7\n"
    assert client.get("/pages/7?latency_ms=-1").status_code == 400


def test_the_demo_page_and_its_files(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-mode="sequential"' in page.text and 'data-mode="concurrent"' in page.text
    for path in ("/static/demo.js", "/static/demo.css"):
        assert client.get(path).status_code == 200, path
    assert client.get("/api/compute/parallel").status_code == 404


def test_the_cli_starts_serves_and_stops_on_sigint():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "parlab", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/compute/health", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.05)
        assert health.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/api/compute/concurrent?{SEED_QUERY}").json()["success"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        output = process.stdout.read()
        process.stdout.close()
    assert f"http://127.0.0.1:{port}/" in output
    with socket.socket() as sock:  # the port is free again
        sock.bind(("127.0.0.1", port))


def test_the_cli_refuses_a_bad_port():
    result = subprocess.run(
        [sys.executable, "-m", "parlab", "serve", "--port", "70000"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "--port" in result.stderr


def test_the_parlab_command_is_installed():
    command = os.path.join(os.path.dirname(sys.executable), "parlab")
    result = subprocess.run([command, "serve", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--port" in result.stdout and "8587" in result.stdout
