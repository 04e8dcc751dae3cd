"""The lab server (`parlab serve`) against a real server on a free loopback port."""

import asyncio
import base64
import contextlib
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import numpy as np
import psutil
import pytest

import parlab
from parlab.server import LIMITS, create_app
from parlab.web import BackgroundServer, ServerLimits

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


def wait_until_idle(lab_client, within_s=20.0):
    """Seconds until the server reports no render running (fails after within_s), then checks
    that no render thread is left."""
    start = time.monotonic()
    while (health := lab_client.get("/api/compute/health").json())["active_renders"]:
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


def test_health(lab_client):
    response = lab_client.get("/api/compute/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["active_renders"] == 0 and body["max_renders"] >= 1
    assert body["strategies"] == list(parlab.STRATEGIES)
    assert body["limits"] == LIMITS


def test_the_seed_example_answers_as_the_original_api(lab_client):
    response = lab_client.get("/api/compute/concurrent?" + SEED_QUERY)
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


def test_sequential(lab_client):
    body = lab_client.get(url("sequential", **SEQUENTIAL)).json()
    assert body["success"] is True and body["message"] == "Sequential tasks executed successfully"
    assert body["params"] == {**SEQUENTIAL, "num_threads": 1, "mode": "sequential", "strategy": "sequential",
                              "include_pixels": False}  # fmt: skip
    assert [r["task_id"] for r in body["data"]] == list(range(9))
    assert {r["thread_id"] for r in body["data"]} == {0}


@pytest.mark.parametrize("strategy", parlab.STRATEGIES)
def test_every_strategy(lab_client, strategy):
    threads = 1 if strategy == "sequential" else 2
    body = lab_client.get(url("concurrent", **{**SEED, "num_threads": threads, "strategy": strategy})).json()
    assert body["success"] is True and body["strategy"] == strategy and body["num_threads"] == threads
    assert body["params"]["strategy"] == strategy and len(body["data"]) == 9


def test_include_pixels_returns_each_tiles_counts(lab_client):
    body = lab_client.get(url("concurrent", **SEED, strategy="dynamic", include_pixels="true")).json()
    expected = parlab.render(**SEQUENTIAL, threads=1).iterations
    for r in body["data"]:
        tile = expected[r["tile_y"] : r["tile_y"] + r["tile_h"], r["tile_x"] : r["tile_x"] + r["tile_w"]]
        np.testing.assert_array_equal(np.array(r["counts"]), tile)


def test_a_time_limit_that_stops_every_tile_is_reported(lab_client):
    body = lab_client.get(url("concurrent", **{**SEED, "time_limit_ms": 0})).json()
    assert body["success"] is True and body["data"] == []
    assert body["time_limited"] is True and body["completed_tiles"] == 0 and body["total_tiles"] == 9
    assert "time limit of 0 ms reached: 0/9 tiles" in body["message"]


def without(name):
    return {k: v for k, v in SEED.items() if k != name}


BAD_QUERIES = [
    *[({**SEED, name: "ten"}, name) for name in SEED],
    *[({**SEED, name: ""}, name) for name in SEED],
    *[({**SEED, name: "9" * 5000}, name) for name in SEED],
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
    ({**SEED, "strategy": "x" * 10_000}, "strategy"),
]


@pytest.mark.parametrize(("query", "name"), BAD_QUERIES, ids=[urlencode(q)[:80] for q, _ in BAD_QUERIES])
def test_bad_input_is_400_naming_the_parameter(lab_client, query, name):
    response = lab_client.get(url("concurrent", **query))
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["error"] == "bad parameter"
    assert body["message"].startswith(f"{name}:"), body["message"]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({**SEQUENTIAL, "num_threads": 2}, "num_threads"),
        ({**SEQUENTIAL, "strategy": "dynamic"}, "strategy"),
        ({**SEQUENTIAL, "time_limit_ms": "soon"}, "time_limit_ms"),
    ],
)
def test_bad_sequential_input(lab_client, query, name):
    response = lab_client.get(url("sequential", **query))
    assert response.status_code == 400 and response.json()["message"].startswith(f"{name}:")


def test_a_repeated_parameter_is_refused(lab_client):
    response = lab_client.get("/api/compute/concurrent?" + SEED_QUERY + "&width=48")
    assert response.status_code == 400 and response.json()["message"].startswith("width: given 2 times")


def test_the_stream_sends_every_tile_then_the_summary(lab_client):
    with lab_client.stream("GET", url("concurrent/stream", **SEED, strategy="dynamic")) as response:
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


def test_the_sequential_stream(lab_client):
    with lab_client.stream("GET", url("sequential/stream", **SEQUENTIAL)) as response:
        received = list(events(response.iter_lines()))
    assert [d["task"]["task_id"] for n, d in received if n == "progress"] == list(range(9))
    assert received[-1] == ("complete", {**received[-1][1], "num_threads": 1, "completed_tasks": 9})


@pytest.mark.parametrize(("query", "name"), [({**SEED, "max_iter": "ten"}, "max_iter"),
                                            ({**SEED, "strategy": "fastest"}, "strategy"),
                                            ({**SEED, "strategy": "sequential"}, "num_threads")])  # fmt: skip
def test_the_stream_refuses_bad_input_with_400(lab_client, query, name):
    # strategy and num_threads are the render core's checks: the stream waits for them before it starts
    response = lab_client.get(url("concurrent/stream", **query))
    assert response.status_code == 400 and response.json()["message"].startswith(f"{name}:")


def test_a_client_that_disconnects_mid_stream_cancels_its_render(lab_client):
    with lab_client.stream("GET", url("concurrent/stream", **LONG)) as response:
        lines = response.iter_lines()
        first = next(events(lines))
        assert first[0] == "start"
        assert next(events(lines))[0] == "progress"
        assert lab_client.get("/api/compute/health").json()["active_renders"] == 1
    # Left running, this render would take its whole 60 s time limit.
    seconds = wait_until_idle(lab_client)
    print(f"a disconnected stream's render stopped {seconds * 1e3:.0f} ms after the client left")


async def _disconnect_while_rendering(base_url):
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        request = asyncio.create_task(http.get(url("concurrent", **LONG)))
        while (await http.get("/api/compute/health")).json()["active_renders"] == 0:
            await asyncio.sleep(0.01)
        request.cancel()  # closes the connection
        with pytest.raises(asyncio.CancelledError):
            await request


def test_a_client_that_disconnects_from_a_json_request_cancels_its_render(lab_server, lab_client):
    asyncio.run(_disconnect_while_rendering(lab_server.url))
    seconds = wait_until_idle(lab_client)
    print(f"a disconnected request's render stopped {seconds * 1e3:.0f} ms after the client left")


async def _seed_requests(base_url, count):
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        return await asyncio.gather(*(http.get("/api/compute/concurrent?" + SEED_QUERY) for _ in range(count)))


def test_100_concurrent_requests_of_the_seed_example_are_all_answered(lab_server, lab_client):
    start = time.perf_counter()
    responses = asyncio.run(_seed_requests(lab_server.url, 100))
    elapsed = time.perf_counter() - start
    assert [r.status_code for r in responses] == [200] * 100
    expected = [
        (r["task_id"], r["thread_id"], r["iterations"])
        for r in lab_client.get(url("concurrent", **SEED)).json()["data"]
    ]
    for response in responses:
        body = response.json()
        assert body["success"] is True and body["params"]["num_threads"] == 2
        assert sorted((r["task_id"], r["thread_id"], r["iterations"]) for r in body["data"]) == sorted(expected)
    print(f"100 concurrent seed requests answered in {elapsed * 1e3:.0f} ms")
    assert lab_client.get("/api/compute/health").json()["active_renders"] == 0


def test_requests_beyond_the_render_slots_get_503_with_retry_after():
    app = create_app(max_renders=1, slot_wait_s=0.2)
    with BackgroundServer(app) as busy, httpx.Client(base_url=busy.url, timeout=60) as http:
        with http.stream("GET", url("concurrent/stream", **LONG)) as holding:
            lines = holding.iter_lines()  # kept: closing this iterator would close the stream
            assert next(events(lines))[0] == "start"
            for path, reason in ((url("concurrent", **SEED), "of the 1 render slots"),
                                 (url("sequential/stream", **SEQUENTIAL), "1 of the 2 streams")):  # fmt: skip
                refused = http.get(path)
                assert refused.status_code == 503
                assert refused.headers["retry-after"] == "1"
                body = refused.json()
                assert body["success"] is False and body["error"] == "busy"
                assert reason in body["message"]
            health = http.get("/api/compute/health").json()
            assert health["active_renders"] == 1 and health["max_renders"] == 1
        wait_until_idle(http)
        assert http.get(url("concurrent", **SEED)).status_code == 200


def test_create_app_checks_its_limits():
    with pytest.raises(ValueError, match="max_renders"):
        create_app(max_renders=0)
    with pytest.raises(ValueError, match="slot_wait_s"):
        create_app(slot_wait_s=-1)


def test_the_download_experiments_pages_are_served(lab_client):
    response = lab_client.get("/pages/7?latency_ms=0&bytes=14")
    assert response.status_code == 200 and response.text == "page 7\npage 7\n"
    assert lab_client.get("/pages/7?latency_ms=-1").status_code == 400


def test_the_demo_page_and_its_files(lab_client):
    page = lab_client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-mode="sequential"' in page.text and 'data-mode="concurrent"' in page.text
    for path in ("/static/demo.js", "/static/demo.css"):
        assert lab_client.get(path).status_code == 200, path
    assert lab_client.get("/api/compute/parallel").status_code == 404


def test_the_cli_starts_serves_and_stops_on_sigint():
    port = free_port()
    with cli_server("--port", str(port)) as (process, base):
        assert base == f"http://127.0.0.1:{port}"
        assert httpx.get(base + "/api/compute/health", timeout=30).json()["status"] == "ok"
        assert httpx.get(f"{base}/api/compute/concurrent?{SEED_QUERY}").json()["success"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
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


# --- the original clients' request patterns (issue 16 §2) -------------------------------------

ORIGINAL_DEFAULTS = dict(width=800, height=600, tile_w=64, tile_h=64, max_iter=256, time_limit_ms=2000)


@pytest.mark.parametrize("mode", ["sequential", "concurrent"])
def test_a_bare_request_takes_the_original_apis_defaults(lab_client, mode):
    body = lab_client.get(f"/api/compute/{mode}").json()
    threads = 1 if mode == "sequential" else 4
    assert body["success"] is True and body["warnings"] == []
    assert {k: body["params"][k] for k in ORIGINAL_DEFAULTS} == ORIGINAL_DEFAULTS
    assert body["params"]["num_threads"] == threads and body["total_tiles"] == 13 * 10


@pytest.mark.parametrize("name", SEED)
def test_a_missing_parameter_takes_its_original_default(lab_client, name):
    body = lab_client.get(url("concurrent", **without(name))).json()
    assert body["success"] is True
    assert body["params"][name] == {**ORIGINAL_DEFAULTS, "num_threads": 4}[name]


def test_a_default_tile_never_exceeds_the_image(lab_client):
    body = lab_client.get(url("concurrent", width=40, height=30)).json()
    assert body["params"]["tile_w"] == 40 and body["params"]["tile_h"] == 30 and body["total_tiles"] == 1


def test_unknown_parameters_are_ignored_and_listed_in_warnings(lab_client):
    body = lab_client.get("/api/compute/concurrent?" + SEED_QUERY + "&_=1732550000000&colour=red").json()
    assert body["success"] is True and len(body["data"]) == 9
    assert [w.split(":")[0] for w in body["warnings"]] == ["_", "colour"]
    assert all("ignored" in w for w in body["warnings"])
    with lab_client.stream("GET", "/api/compute/sequential/stream?_=1") as response:
        name, start = next(events(response.iter_lines()))
    assert name == "start" and start["warnings"][0].startswith("_:")


@pytest.mark.parametrize(
    "path",
    ["/api/compute/health/", "/api/compute/sequential/", f"/api/compute/concurrent/?{SEED_QUERY}",
     "/api/compute/sequential/stream/"],
)  # fmt: skip
def test_a_trailing_slash_answers_200_not_a_redirect(lab_client, path):
    response = lab_client.get(path, follow_redirects=False)
    assert response.status_code == 200, response.headers


# --- CORS and DNS rebinding (issue 16 §1, §3) --------------------------------------------------

PREFLIGHT = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "content-type,x-origin"}


@pytest.mark.parametrize("origin", ["http://localhost:4000", "http://127.0.0.1:8080", "http://localhost"])
def test_a_preflight_from_a_loopback_origin_is_allowed(lab_client, origin):
    response = lab_client.options("/api/compute/concurrent", headers={"Origin": origin, **PREFLIGHT})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")} >= {
        "content-type", "x-origin"
    }  # fmt: skip
    answer = lab_client.get("/api/compute/concurrent?" + SEED_QUERY, headers={"Origin": origin, "X-Origin": "client"})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "http://localhost.evil.example:80", "https://127.0.0.1.nip.io"]
)
def test_a_preflight_from_another_origin_is_refused(lab_client, origin):
    response = lab_client.options("/api/compute/concurrent", headers={"Origin": origin, **PREFLIGHT})
    assert response.status_code == 400 and "access-control-allow-origin" not in response.headers
    answer = lab_client.get("/api/compute/health", headers={"Origin": origin})
    assert "access-control-allow-origin" not in answer.headers


def test_cors_origins_are_configurable_and_star_only_when_asked():
    app = create_app(cors_origins=["http://course.example:4000"])
    with BackgroundServer(app) as running, httpx.Client(base_url=running.url) as http:
        ok = http.options("/api/compute/health", headers={"Origin": "http://course.example:4000", **PREFLIGHT})
        assert ok.status_code == 200
        local = http.options("/api/compute/health", headers={"Origin": "http://localhost:4000", **PREFLIGHT})
        assert local.status_code == 400
    with BackgroundServer(create_app(cors_origins=["*"])) as running, httpx.Client(base_url=running.url) as http:
        anyone = http.options("/api/compute/health", headers={"Origin": "http://anyone.example", **PREFLIGHT})
        assert anyone.status_code == 200
    with pytest.raises(ValueError, match="cors_origins"):
        create_app(cors_origins=["localhost:4000"])


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8587", "192.168.1.20"])
def test_a_host_header_naming_another_machine_is_refused(lab_client, host):
    # What a DNS-rebinding page's requests carry: its own name, resolved to 127.0.0.1.
    assert lab_client.get("/api/compute/health", headers={"Host": host}).status_code == 400
    assert lab_client.get("/api/compute/health", headers={"Host": "localhost:8587"}).status_code == 200


def test_any_host_is_served_when_the_server_is_opened_up():
    with BackgroundServer(create_app(allowed_hosts=None)) as running:
        assert httpx.get(running.url + "/api/compute/health", headers={"Host": "lab.example"}).status_code == 200


# --- render slots: idle and slow clients (issue 16 §4) -----------------------------------------

# A stream of 1600 tiles (about 21 MB of events) that renders in a fraction of a second.
BIG_STREAM = "/api/compute/concurrent/stream?" + urlencode(
    dict(width=2000, height=2000, tile_w=50, tile_h=50, max_iter=8, time_limit_ms=60_000, num_threads=2)
)


def idle_reader(server, path):
    """A client that sends a request and then never reads: a small receive buffer, never emptied."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return sock


def test_idle_stream_clients_do_not_hold_the_render_slots():
    app = create_app(max_renders=4, slot_wait_s=0.5, send_timeout_s=600)
    with BackgroundServer(app) as running, httpx.Client(base_url=running.url, timeout=60) as http:
        idle = [idle_reader(running, BIG_STREAM) for _ in range(4)]
        try:
            wait_until_idle(http)  # every render finished: its events wait in the server's queue
            assert app.state.lab.slots.active == 0
            # Before the fix the four idle streams kept every slot: this got 503.
            response = http.get(url("concurrent", **SEED))
            assert response.status_code == 200
            assert http.get("/api/compute/health").json()["active_renders"] == 0
        finally:
            for sock in idle:
                sock.close()


def test_open_streams_are_capped():
    # Finished renders' events wait in memory for their readers: their number is capped.
    app = create_app(max_renders=1, max_streams=1, send_timeout_s=600)
    with BackgroundServer(app) as running, httpx.Client(base_url=running.url, timeout=60) as http:
        sock = idle_reader(running, BIG_STREAM)
        try:
            wait_until_idle(http)
            assert http.get("/api/compute/health").json()["open_streams"] == 1
            refused = http.get(url("sequential/stream", **SEQUENTIAL))
            assert refused.status_code == 503 and "1 streams" in refused.json()["message"]
            assert http.get(url("sequential", **SEQUENTIAL)).status_code == 200  # JSON is not a stream
        finally:
            sock.close()
        deadline = time.monotonic() + 30
        while http.get("/api/compute/health").json()["open_streams"]:  # closed by the server too
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert http.get(url("sequential/stream", **SEQUENTIAL)).status_code == 200


def test_health_counts_the_renders_that_hold_a_slot():
    app = create_app(max_renders=2, slot_wait_s=0.2)
    with BackgroundServer(app) as running, httpx.Client(base_url=running.url, timeout=60) as http:
        with http.stream("GET", url("concurrent/stream", **LONG)) as holding:
            lines = holding.iter_lines()
            assert next(events(lines))[0] == "start"
            health = http.get("/api/compute/health").json()
            assert health["active_renders"] == app.state.lab.slots.active == 1
        wait_until_idle(http)


def test_a_reader_that_stops_reading_is_dropped_after_the_send_timeout():
    app = create_app(max_renders=1, send_timeout_s=0.5)
    with BackgroundServer(app) as running, httpx.Client(base_url=running.url, timeout=60) as http:
        sock = idle_reader(running, BIG_STREAM)
        try:
            wait_until_idle(http)
            time.sleep(2)  # not reading, far longer than the send timeout
            sock.settimeout(30)
            received = b""
            while chunk := sock.recv(1 << 20):  # what was sent before the drop, then the end
                received += chunk
        finally:
            sock.close()
    assert received.startswith(b"HTTP/1.1 200") and b"event: start" in received
    assert b"event: complete" not in received  # dropped, not waited for


# --- the download experiment's pages (issue 16 §6) ---------------------------------------------


@pytest.mark.parametrize("n", ["9" * 5000, "1" * 11, "-1", "7.5", "seven"])
def test_a_bad_page_number_is_400_naming_it(lab_client, n):
    response = lab_client.get(f"/pages/{n}?latency_ms=0")
    assert response.status_code == 400 and response.json()["message"].startswith("n:")


@pytest.mark.parametrize("query", ["latency_ms=nan", "latency_ms=1e400", "bytes=1e3", "bytes=" + "9" * 5000])
def test_a_bad_page_query_is_400_naming_it(lab_client, query):
    response = lab_client.get(f"/pages/1?{query}")
    name = query.split("=")[0]
    assert response.status_code == 400 and response.json()["message"].startswith(f"{name}:")


def test_pages_have_a_concurrency_limit_and_stream_their_body():
    from starlette.applications import Starlette

    from parlab.experiments.pages import page_routes

    app = Starlette(routes=page_routes(latency_ms=0, max_requests=2))

    async def three_at_once(base_url):
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            slow = [asyncio.create_task(http.get("/pages/1?latency_ms=3000&bytes=5")) for _ in range(2)]
            await asyncio.sleep(1)  # both are in progress (in their latency)
            third = await http.get("/pages/2?latency_ms=0")
            return third, await asyncio.gather(*slow), await http.get("/pages/3?bytes=3000000")

    with BackgroundServer(app) as running:
        third, slow, big = asyncio.run(three_at_once(running.url))
    assert third.status_code == 503 and third.headers["retry-after"] == "1"
    assert [r.status_code for r in slow] == [200, 200] and slow[0].text == "page "
    line = b"page 3\n"
    assert big.status_code == 200 and big.content == (line * (3_000_000 // len(line) + 1))[:3_000_000]


# --- parlab serve (issue 16 §5, §9) ------------------------------------------------------------


@contextlib.contextmanager
def cli_server(*args):
    """`python -m parlab serve ...` (on port 0 unless `args` say otherwise), and the URL it
    printed once listening; killed at the end if it is still running."""
    if "--port" not in args:
        args = ("--port", "0", *args)
    process = subprocess.Popen(
        [sys.executable, "-m", "parlab", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = process.stdout.readline()
        if not line.startswith("parlab lab server: http://127.0.0.1:") or line.split()[3].endswith(":0/"):
            pytest.fail(f"parlab serve printed {line!r}, not the port it got")
        yield process, line.split()[3].rstrip("/")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


def test_port_0_prints_the_port_it_got():
    with cli_server() as (process, base):
        # issue 25 §6: the URL was printed before the socket listened (refused 10/10 at once)
        with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=10):
            pass
        assert httpx.get(base + "/api/compute/health", timeout=30).json()["status"] == "ok"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def test_sigint_cancels_running_renders_and_answers_their_clients():
    answers = []

    def request(base, path):
        try:
            answers.append(httpx.get(base + path, timeout=120))
        except httpx.HTTPError as error:
            answers.append(error)

    def stream(base):
        try:
            with httpx.stream("GET", base + url("concurrent/stream", **LONG), timeout=120) as response:
                answers.append([name for name, _ in events(response.iter_lines())])
        except httpx.HTTPError as error:
            answers.append(error)

    with cli_server("--max-renders", "6") as (process, base):  # one client may run 3
        clients = [threading.Thread(target=request, args=(base, url("concurrent", **LONG))) for _ in range(2)]
        clients.append(threading.Thread(target=stream, args=(base,)))
        for client in clients:
            client.start()
        deadline = time.monotonic() + 60
        while httpx.get(base + "/api/compute/health", timeout=30).json()["active_renders"] < 3:
            assert time.monotonic() < deadline, "the three renders did not start"
            time.sleep(0.05)
        time.sleep(0.5)  # the stream is past its first tile
        stopped_reading = raw_request(int(base.rsplit(":", 1)[1]), BIG_STREAM)  # holds the shutdown, before the fix
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        # Left alone, each render would run for its whole 60 s time limit.
        assert process.wait(timeout=30) == 0
        stopped = time.monotonic() - interrupted
        for client in clients:
            client.join(timeout=30)
        output = process.stdout.read()
        stopped_reading.close()
    assert "Traceback" not in output and "graceful shutdown exceeded" not in output, output  # issue 25 §7
    print(f"parlab serve stopped {stopped * 1e3:.0f} ms after SIGINT, with 3 renders running")
    json_answers = [a for a in answers if isinstance(a, httpx.Response)]
    assert len(json_answers) == 2, (answers, output)
    for answer in json_answers:  # a JSON 503, not a plain-text 500
        assert answer.status_code == 503 and answer.json()["error"] == "shutting down"
    [stream_events] = [a for a in answers if isinstance(a, list)]
    assert stream_events[0] == "start" and stream_events[-1] == "error"


# --- what one client may hold (issue 25 §1-7) ---------------------------------------------------


def raw_request(port, path, headers=""):
    """A client that sends a request and never reads its answer."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode())
    return sock


def server_sockets(port):
    """The server's side of the open connections to `port` (the server runs in this process)."""
    return [c for c in psutil.Process().net_connections("tcp") if c.laddr.port == port and c.status == "ESTABLISHED"]


def wait_for(condition, within_s, what):
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} not within {within_s} s"
        time.sleep(0.05)


@pytest.mark.parametrize(
    "path",
    ["/pages/1?latency_ms=0&latency_ms=60000", "/api/compute/health?latency_ms=1&latency_ms=2",
     "/api/compute/concurrent/stream?latency_ms=0&max_iter=8&latency_ms=60000"],
)  # fmt: skip
def test_a_repeated_parameter_is_refused_everywhere(lab_client, path):
    # issue 25 §5: /pages took the last value and waited 60 s
    response = lab_client.get(path, timeout=10)
    assert response.status_code == 400
    assert response.json()["message"].startswith("latency_ms: given 2 times")


FOREIGN = [
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"},
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Referer": "http://evil.example/page"},
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors", "Origin": "http://evil.example"},
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
]


@pytest.mark.parametrize("headers", FOREIGN, ids=lambda h: ",".join(f"{k}={v}" for k, v in h.items())[:60])
def test_a_foreign_pages_requests_are_refused_before_they_take_a_slot(lab_client, headers):
    # issue 25 §4: 4 no-cors GETs and an <img> from another origin filled 4/4 render slots
    for path in (url("concurrent", **LONG), url("concurrent/stream", **LONG), "/pages/1?latency_ms=60000"):
        response = lab_client.get(path, headers=headers, timeout=10)
        assert response.status_code == 403 and response.json()["error"] == "foreign page"
    assert lab_client.get("/api/compute/health").json()["active_renders"] == 0


@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "same-origin", "Referer": "http://127.0.0.1/"}, {"Sec-Fetch-Site": "none"},
     {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost:4000"},
     {"Sec-Fetch-Site": "same-site", "Referer": "http://127.0.0.1:8888/lab"}],
)  # fmt: skip
def test_the_demo_page_and_allowed_origins_are_served(lab_client, headers):
    assert lab_client.get(url("concurrent", **SEED), headers=headers).status_code == 200
    navigation = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    assert lab_client.get("/", headers=navigation).status_code == 200  # a link from anywhere opens the page


async def _long_renders(base_url, count, agent):
    async with httpx.AsyncClient(base_url=base_url, timeout=60, headers={"User-Agent": agent}) as http:
        return await asyncio.gather(*(http.get(url("concurrent", **LONG)) for _ in range(count)))


def test_one_client_holds_at_most_half_the_render_slots():
    # issue 25 §4: one client's 4 requests with a 60 s time limit held every slot
    app = create_app(max_renders=4, slot_wait_s=0.3)
    with BackgroundServer(app) as running, httpx.Client(base_url=running.url, timeout=60) as http:
        greedy = threading.Thread(target=lambda: asyncio.run(_long_renders(running.url, 4, "greedy")))
        greedy.start()
        try:
            wait_for(lambda: app.state.lab.slots.active == 2, 30, "two renders")
            mine = http.get(url("concurrent", **SEED), headers={"User-Agent": "greedy"})
            assert mine.status_code == 503 and "the most one client may" in mine.json()["message"]
            assert http.get(url("concurrent", **SEED)).status_code == 200  # another client
            assert app.state.lab.slots.active == 2
        finally:
            app.state.lab.cancel_all()
            greedy.join(timeout=30)
        assert not greedy.is_alive()


def _slow_reader(port, stop):
    sock = raw_request(port, BIG_STREAM)
    sock.settimeout(0.2)
    with sock:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                if not sock.recv(2000):
                    return
            time.sleep(0.05)


def test_a_legitimate_user_is_served_beside_idle_slow_and_non_reading_clients_and_a_foreign_page():
    # issue 25 §1-4: before, the stream got 503 beside 8 slow or 10 idle readers; non-reading
    # clients' sockets stayed open (43 sockets, 107 MB of send queues); silent connections stayed 60 s.
    limits = ServerLimits(header_timeout_s=1.0, write_timeout_s=0.5, request_timeout_s=60, max_connections=64)
    app = create_app(max_renders=4, send_timeout_s=0.5, stale_stream_s=0.3, server_limits=limits)
    stop = threading.Event()
    with BackgroundServer(app) as running, httpx.Client(base_url=running.url, timeout=30) as http:
        silent = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(10)]
        slow = [threading.Thread(target=_slow_reader, args=(running.port, stop)) for _ in range(8)]
        for thread in slow:
            thread.start()
        stopped = [raw_request(running.port, BIG_STREAM) for _ in range(8)]
        foreign = [raw_request(running.port, url("concurrent", **LONG), "Sec-Fetch-Site: cross-site\r\n")
                   for _ in range(4)]  # fmt: skip
        try:
            time.sleep(1)  # every render of the others has ended: their streams are stale
            with http.stream("GET", url("concurrent/stream", **SEED)) as response:
                assert response.status_code == 200
                assert [n for n, _ in events(response.iter_lines())][-1] == "complete"
            assert http.get(url("concurrent", **SEED)).status_code == 200
            assert app.state.lab.open_streams <= app.state.lab.max_streams
            # The server closes the silent and the stopped clients itself (not only forgets them).
            for sock in silent + stopped:
                sock.settimeout(10)
                with contextlib.suppress(ConnectionResetError):
                    while sock.recv(1 << 20):
                        pass
        finally:
            stop.set()
            for thread in slow:
                thread.join(timeout=30)
            for sock in silent + stopped + foreign:
                sock.close()
        wait_for(lambda: not server_sockets(running.port), 10, "every connection closed")
        wait_until_idle(http)


def test_a_connection_that_never_finishes_its_request_head_is_closed():
    # issue 25 §3: no header timeout: 140 silent connections stayed open 60 s; no cap on connections
    app = create_app(server_limits=ServerLimits(header_timeout_s=0.5, max_connections=20))
    with BackgroundServer(app) as running:
        silent = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(40)]
        drip = socket.create_connection(("127.0.0.1", running.port))
        try:
            assert len(server_sockets(running.port)) <= 20
            assert httpx.get(running.url + "/api/compute/health", timeout=10).status_code == 200
            deadline = time.monotonic() + 10
            closed = False
            while not closed and time.monotonic() < deadline:  # a byte at a time does not keep it open
                try:
                    drip.sendall(b"G")
                except OSError:
                    closed = True
                time.sleep(0.1)
            assert closed
            wait_for(lambda: not server_sockets(running.port), 10, "silent connections closed")
        finally:
            for sock in [*silent, drip]:
                sock.close()


def test_a_request_is_bounded_in_time():
    app = create_app(server_limits=ServerLimits(request_timeout_s=0.5))
    with BackgroundServer(app) as running:
        response = httpx.get(running.url + "/pages/1?latency_ms=30000", timeout=20)
    # the page's handler answers its own cancellation with an empty 503 (parlab.experiments.pages)
    assert response.status_code == 503


def test_memory_returns_near_its_baseline_after_streams():
    # issue 25 §7: the server's RSS stayed at 238-640 MB after stream tests (baseline 80 MB)
    with cli_server() as (process, base):
        server = psutil.Process(process.pid)
        httpx.get(base + "/api/compute/health", timeout=30)
        baseline = server.memory_info().rss
        port = int(base.rsplit(":", 1)[1])
        stopped = [raw_request(port, BIG_STREAM) for _ in range(4)]
        try:
            wait_for(lambda: httpx.get(base + "/api/compute/health").json()["active_renders"] == 0, 30, "renders")
            for agent in ("a", "b"):
                with httpx.stream("GET", base + BIG_STREAM, headers={"User-Agent": agent}, timeout=60) as response:
                    for _ in response.iter_bytes():
                        pass
        finally:
            for sock in stopped:
                sock.close()
        wait_for(lambda: httpx.get(base + "/api/compute/health").json()["open_streams"] == 0, 30, "streams closed")
        time.sleep(1.5)  # the server gives memory back 0.5 s after it falls idle
        grown = (server.memory_info().rss - baseline) / 2**20
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    print(f"RSS {baseline / 2**20:.0f} MB before, {grown:+.0f} MB after 6 streams of 21 MB")
    assert grown < 60


FD_LIMITED = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    from parlab.__main__ import main
    sys.exit(main(["serve", "--port", "0"]))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_NOFILE, /proc")
def test_silent_connections_cannot_take_the_file_descriptors_of_a_legitimate_request():
    # issue 25 §3: with `ulimit -n 128`, 140 silent connections made a legitimate request time
    # out after 8 s: the server ran out of file descriptors. The cap follows the fd limit now.
    server = subprocess.Popen(
        [sys.executable, "-c", FD_LIMITED], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    silent = []
    try:
        url = server.stdout.readline().split()[-4].rstrip("/")  # "parlab lab server: URL/ (Ctrl-C stops it)"
        port = int(url.rsplit(":", 1)[1])
        for _ in range(140):
            sock = socket.socket()
            sock.settimeout(2)
            with contextlib.suppress(OSError):  # one the server closed at once, or not yet accepted
                sock.connect(("127.0.0.1", port))
            silent.append(sock)
        held = len(psutil.Process(server.pid).net_connections(kind="tcp"))
        response = httpx.get(url + "/api/compute/health", timeout=5)
        assert response.status_code == 200
        assert held < 128, f"the server held {held} sockets under a limit of 128 descriptors"
        print(f"140 silent connections: the server held {held} sockets; the health check answered")
    finally:
        for sock in silent:
            sock.close()
        server.send_signal(signal.SIGINT)
        try:
            server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
