"""The course hub, end to end, as a course runs it (issue 28 §3): `make test-hub` installs the
hub (`make hub-install`, deploy/) and runs this file as root with PARLAB_HUB_PREFIX set.

Two students and an instructor get real system accounts (useradd, passwords by chpasswd), the
hub (deploy/jupyterhub_config.py as installed: PAM, the local-process spawner) starts on
127.0.0.1 on free ports, and every step goes through the hub as a browser's JavaScript would:
log-in through the REST API (a token for the account's password), each user's server started
by the hub, lessons run in each student's own Python and Rust kernels (Jupyter's kernel
protocol over the server's websocket), an assignment released, fetched, answered (one right,
one wrong), submitted, collected, autograded and its feedback released through nbgrader's
server extensions (the Assignments tab, Formgrader). The grades and each student's feedback are
checked; each step's time and each student server's memory are printed at the end (and kept
in build/hub-test-figures.json). Everything stops, and the accounts go, at the end or on failure.
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PREFIX = Path(os.environ["PARLAB_HUB_PREFIX"]) if os.environ.get("PARLAB_HUB_PREFIX") else None
FIXTURE = ROOT / "tests" / "fixtures" / "python" / "90-fixture-thread-pool.ipynb"
ASSIGNMENT = "python-90-fixture-thread-pool"
COURSE = "parlab"
#: account names: a prefix of their own, so that a run killed before its clean-up is cleaned
#: up by the next one
STUDENTS = ("plt-right", "plt-wrong")
INSTRUCTOR = "plt-teacher"
GROUPS = {"students": "plt-students", "instructors": "plt-instructors"}
FIGURES = ROOT / "build" / "hub-test-figures.json"
#: bounds on every wait (seconds): the whole test takes a few minutes on a busy 2-core machine
HUB_START, SERVER_START, PY_CELL, RUST_CELL, GRADING = 90, 150, 120, 600, 600

pytestmark = [
    pytest.mark.skipif(PREFIX is None, reason="the hub test runs in `make test-hub`, which installs the hub first"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the hub test creates system accounts: it runs as root"),
    pytest.mark.skipif(shutil.which("useradd") is None, reason="no useradd: cannot create the test's accounts"),
]

figures = {"steps_s": {}, "rss_mb": {}}


@contextlib.contextmanager
def step(name):
    """Times a step of the course into `figures`."""
    start = time.perf_counter()
    yield
    figures["steps_s"][name] = round(time.perf_counter() - start, 1)


def run(*command, check=True):
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=60)


def uid_of(name):
    result = run("id", "-u", name, check=False)
    return int(result.stdout) if result.returncode == 0 else None


def pids_of(uid):
    """The processes running as uid (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
    return pids


def remove_account(name):
    """Stops every process of the account (by their ids), then removes it and its home."""
    uid = uid_of(name)
    if uid is None:
        return
    for signum in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids_of(uid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
        deadline = time.monotonic() + 10
        while pids_of(uid) and time.monotonic() < deadline:
            time.sleep(0.2)
    run("userdel", "-r", name, check=False)
    assert uid_of(name) is None, f"the account {name} is still there"


def remove_accounts():
    for name in (*STUDENTS, INSTRUCTOR):
        remove_account(name)
    for group in GROUPS.values():
        run("groupdel", group, check=False)


#: in the environment of the hub and of its proxy (which inherits it), to find them again
MARKER = "PARLAB_HUB_TEST_FOLDER"
#: the folders of the runs (state, exchange, log), in /tmp: outside /tmp/pytest-of-root (mode
#: 700), so that the students reach the exchange
FOLDERS = "parlab-hub-test-"


def marked_pids():
    """The processes (the hub, its proxy) of this test's runs, by the marker in their environment."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if f"{MARKER}=".encode() in (entry / "environ").read_bytes():
                    pids.append(int(entry.name))
    return pids


def remove_leftovers():
    """What a run stopped midway left (killed before its clean-up could run): its hub and
    proxy, stopped by their ids, its folder, its accounts with their processes."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        for pid in marked_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
        deadline = time.monotonic() + 10
        while marked_pids() and time.monotonic() < deadline:
            time.sleep(0.2)
    assert not marked_pids(), f"processes of an earlier run are still there: {marked_pids()}"
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDERS}*"):
        shutil.rmtree(folder, ignore_errors=True)
    remove_accounts()


@pytest.fixture(scope="module", autouse=True)
def terminated_cleanly():
    """SIGTERM (a CI's time-out, `kill`) ends the test as Ctrl-C does, through its clean-up;
    whatever a SIGKILL leaves, the next run removes first (remove_leftovers)."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="module")
def accounts():
    """{name: password} for two students and an instructor: real accounts, homes mode 700."""
    remove_leftovers()
    try:
        for group in GROUPS.values():
            run("groupadd", group)
        passwords = {}
        for name in (*STUDENTS, INSTRUCTOR):
            group = GROUPS["instructors" if name == INSTRUCTOR else "students"]
            run("useradd", "--create-home", "--shell", "/bin/bash", "--groups", group, name)
            Path(f"/home/{name}").chmod(0o700)
            passwords[name] = secrets.token_urlsafe(16)
            subprocess.run(["chpasswd"], input=f"{name}:{passwords[name]}\n", text=True, check=True, timeout=30)
        yield passwords
    finally:
        remove_accounts()


def at_once(function, items):
    """[function(item) for item in items], each in a thread of its own. Interrupted (Ctrl-C,
    SIGTERM), it returns at once, without waiting for the threads: the clean-up then stops the
    servers they wait on, which ends them."""
    items = list(items)
    pool = ThreadPoolExecutor(len(items))
    try:
        return list(pool.map(function, items))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Hub:
    """The running hub: its URL, its folder (state, exchange, log) and its process."""

    def __init__(self, folder):
        self.folder = folder
        self.ports = {"public": free_port(), "hub": free_port(), "proxy": free_port()}
        self.url = f"http://127.0.0.1:{self.ports['public']}"
        self.exchange = folder / "exchange"
        self.state = folder / "state"
        self.log_path = folder / "hub.log"
        self.process = None

    def environment(self):
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PARLAB_HUB_URL": self.url,
            "PARLAB_HUB_API_URL": f"http://127.0.0.1:{self.ports['hub']}",
            "PARLAB_PROXY_API_URL": f"http://127.0.0.1:{self.ports['proxy']}",
            "PARLAB_HUB_STATE": str(self.state),
            "PARLAB_EXCHANGE": str(self.exchange),
            "PARLAB_STUDENTS_GROUP": GROUPS["students"],
            "PARLAB_INSTRUCTORS_GROUP": GROUPS["instructors"],
            MARKER: str(self.folder),
        }

    def start(self):
        command = [str(PREFIX / "venv" / "bin" / "jupyterhub"), "-f", str(PREFIX / "etc" / "jupyterhub_config.py")]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.folder, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + HUB_START
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the hub exited ({self.process.returncode}) before it answered:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/hub/api/", timeout=5).status_code == 200:
                    return
            time.sleep(0.5)
        pytest.fail(f"the hub did not answer on {self.url} within {HUB_START} s:\n{self.log_tail()}")

    def log_tail(self, lines=40):
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def stop(self):
        """SIGTERM (the hub then stops every server and its proxy), then SIGKILL what is left."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        for pid in marked_pids():  # the proxy, had it left the hub's process group
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def hub(accounts, request):
    folder = Path(tempfile.mkdtemp(prefix=FOLDERS))
    folder.chmod(0o755)
    running = Hub(folder)
    request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
    request.addfinalizer(running.stop)
    request.addfinalizer(lambda: report(request))
    with step("hub start (proxy, database)"):
        running.start()
    yield running
    left = [port for port in running.ports.values() if port_is_open(port)]
    running.stop()
    still = [port for port in left if port_is_open(port)]
    assert not still, f"ports still open after the hub stopped: {still}"
    assert not marked_pids(), f"the hub's processes are still there: {marked_pids()}"


def report(request):
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if terminal is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        terminal.write_line("")
        for name, seconds in figures["steps_s"].items():
            terminal.write_line(f"hub: {name}: {seconds} s")
        for name, rss in figures["rss_mb"].items():
            terminal.write_line(f"hub: memory of {name}: {rss}")


class User:
    """An account logged in to the hub: its token, its server's URL, its kernels."""

    def __init__(self, hub, name, password):
        self.hub, self.name = hub, name
        # The REST API's log-in: a token for the account's password (checked by PAM).
        reply = httpx.post(
            f"{hub.url}/hub/api/users/{name}/tokens",
            json={"auth": {"username": name, "password": password}, "note": "parlab hub test", "expires_in": 3600},
            timeout=60,
        )
        assert reply.status_code == 201, f"{name} could not log in: {reply.status_code} {reply.text[:300]}"
        self.token = reply.json()["token"]
        self.http = httpx.Client(headers={"Authorization": f"token {self.token}"}, timeout=60)
        self.server = f"{hub.url}/user/{name}"

    def start_server(self):
        reply = self.http.post(f"{self.hub.url}/hub/api/users/{self.name}/server")
        assert reply.status_code in (201, 202), f"{self.name}'s server: {reply.status_code} {reply.text[:300]}"
        deadline = time.monotonic() + SERVER_START
        while time.monotonic() < deadline:
            model = self.http.get(f"{self.hub.url}/hub/api/users/{self.name}").json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                return
            if not server or not server.get("pending"):
                pytest.fail(f"{self.name}'s server stopped while starting:\n{self.hub.log_tail()}")
            time.sleep(0.5)
        pytest.fail(f"{self.name}'s server did not start within {SERVER_START} s:\n{self.hub.log_tail()}")

    def api(self, method, path, **kwargs):
        reply = self.http.request(method, f"{self.server}/{path}", **kwargs)
        assert reply.status_code < 400, f"{self.name}: {method} {path}: {reply.status_code} {reply.text[:500]}"
        return reply.json() if reply.content else None

    def kernel(self, notebook, kernel_name):
        """A kernel started for a notebook (its folder is the kernel's working directory)."""
        session = self.api(
            "POST", "api/sessions", json={"path": notebook, "type": "notebook", "kernel": {"name": kernel_name}}
        )
        return Kernel(self, session["kernel"]["id"])


class Kernel:
    """One kernel of a user's server, driven by the Jupyter protocol over its websocket."""

    def __init__(self, user, kernel_id):
        import websocket

        url = user.server.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels"
        self.socket = websocket.create_connection(url, header=[f"Authorization: token {user.token}"], timeout=30)
        self.session = uuid.uuid4().hex
        self.user = user

    def execute(self, code, timeout):
        """Runs code; returns (status, the text it printed or returned, errors)."""
        msg_id = uuid.uuid4().hex
        self.socket.send(
            json.dumps({
                "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": self.session,
                           "username": self.user.name, "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                            "allow_stdin": False, "stop_on_error": True},
            })
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        text, errors, status, idle = [], [], None, False
        while status is None or not idle:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"{self.user.name}: a cell ran over {timeout} s: {code[:80]!r}; so far: {''.join(text)}")
            self.socket.settimeout(left)
            message = json.loads(self.socket.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["header"]["msg_type"], message["content"]
            if kind == "stream":
                text.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                text.append(content["data"].get("text/plain", "") + "\n")
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "execute_reply":
                status = content["status"]
                if status == "error":
                    errors.append(f"{content.get('ename', 'Error')}: {content.get('evalue', '')}")
        return status, "".join(text), errors

    def close(self):
        self.socket.close()


def code_cells(user, notebook):
    content = user.api("GET", f"api/contents/{notebook}")["content"]
    return ["".join(cell["source"]) for cell in content["cells"] if cell["cell_type"] == "code"]


def rss_mb(name):
    """{kind: MB} of the account's processes: the JupyterLab server, its kernels, all."""
    sizes = {"server": 0, "kernels": 0, "all": 0}
    for pid in pids_of(uid_of(name)):
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{pid}/status").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            kb = int(re.search(r"VmRSS:\s+(\d+)", status)[1]) if "VmRSS" in status else 0
            kind = "server" if "jupyterhub-singleuser" in command else "kernels"
            sizes[kind] += kb
            sizes["all"] += kb
    return {kind: round(kb / 1024) for kind, kb in sizes.items()}


@pytest.fixture(scope="module")
def users(hub, accounts):
    """Every account logged in through the REST API, with its server started by the hub."""
    with step("log-in through the REST API (PAM), 3 accounts"):
        logged_in = {name: User(hub, name, password) for name, password in accounts.items()}
    with step("servers started by the hub, 3 at once"):
        at_once(User.start_server, logged_in.values())
    for name in STUDENTS:
        figures["rss_mb"][f"{name}'s server, idle"] = f"{rss_mb(name)['server']} MB"
    yield logged_in
    for user in logged_in.values():
        user.http.close()


def test_each_student_runs_the_lessons_in_their_own_kernels(users):
    """A Python lesson's first cell, then a Rust lesson's first cells (the core compiled from
    the shared sources and crates, in the student's own build slot), in each student's server."""

    def python(name):
        user = users[name]
        assert "python/00-your-machine.ipynb" in {
            f"python/{entry['name']}" for entry in user.api("GET", "api/contents/python")["content"]
        }, "the lessons are in the student's notebook folder"
        kernel = user.kernel("python/00-your-machine.ipynb", "python3")
        try:
            start = time.perf_counter()
            status, _, errors = kernel.execute(code_cells(user, "python/00-your-machine.ipynb")[0], PY_CELL)
            assert status == "ok" and not errors, f"{name}: {errors}"
            seconds = time.perf_counter() - start
            status, text, errors = kernel.execute(
                "import getpass, parlab\nprint(getpass.getuser(), parlab.__file__)", PY_CELL
            )
            assert status == "ok" and not errors, errors
            account, module = text.split()
            assert account == name, f"the kernel runs as {account}, not as {name}"
            assert module.startswith(str(PREFIX)), f"parlab comes from {module}, not from the hub's install"
            # Each student sees only their own files, not another student's nor the exchange's lists.
            other = next(student for student in STUDENTS if student != name)
            probe = f"""
import os
for path in [os.path.expanduser("~{other}"), os.path.join(os.environ["PARLAB_EXCHANGE"], "{COURSE}", "feedback")]:
    try:
        os.listdir(path)
        print("readable", path)
    except (PermissionError, FileNotFoundError) as e:
        print(type(e).__name__, path)
"""
            status, text, _ = kernel.execute(probe, PY_CELL)
            assert "readable" not in text, f"{name} can read: {text}"
            return seconds
        finally:
            kernel.close()

    def rust(name):
        user = users[name]
        lesson = "rust/01-tiles-and-threads.ipynb"
        dep, uses = code_cells(user, lesson)[:2]
        assert '"../../rust_core"' in dep
        kernel = user.kernel(lesson, "rust")
        try:
            start = time.perf_counter()
            for cell in (dep, uses):
                status, text, errors = kernel.execute(cell, RUST_CELL)
                assert status == "ok" and not errors, f"{name}: {cell[:60]!r}: {errors} {text[-2000:]}"
            seconds = time.perf_counter() - start
            status, text, errors = kernel.execute("tile_count(800, 600, 50, 50)", RUST_CELL)
            assert status == "ok" and text.strip() == "192", f"{name}: {status} {errors} {text!r}"
            return seconds
        finally:
            kernel.close()

    with step("a Python lesson's first cell, 2 students at once"):
        python_s = at_once(python, STUDENTS)
    for name in STUDENTS:
        figures["rss_mb"][f"{name}, server + Python kernel"] = f"{rss_mb(name)['all']} MB"
    name = "a Rust lesson's first cells (the core compiled per student), 2 students at once"
    with step(name):
        rust_s = at_once(rust, STUDENTS)
    for name in STUDENTS:
        figures["rss_mb"][f"{name}, server + Python and Rust kernels"] = f"{rss_mb(name)['all']} MB"
    figures["steps_s"]["each student's Python cell"] = [round(s, 1) for s in python_s]
    figures["steps_s"]["each student's first Rust cells"] = [round(s, 1) for s in rust_s]


def solved(cell_source, wrong):
    """A solution cell as a student writes it: the reference without its markers, or a wrong
    answer (an empty list, which fails every test of the fixture)."""
    if wrong:
        header = cell_source.split("### BEGIN SOLUTION")[0]
        return header + "    return []\n"
    return re.sub(r".*(BEGIN|END) SOLUTION.*\n?", "", cell_source)


def test_an_assignment_goes_round_the_course(users, hub):
    """Released by the instructor, fetched, answered and submitted by each student, collected,
    autograded, and its feedback generated and released; each student gets their own."""
    teacher = users[INSTRUCTOR]
    students = {name: users[name] for name in STUDENTS}
    # The instructor's course directory (parlab-course, run from the instructor's own kernel as
    # in a terminal), here with the fixture assignment: a folder every account can read.
    folder = hub.folder / "assignments" / "python"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURE, folder / FIXTURE.name)
    for path in (folder.parent, folder, folder / FIXTURE.name):
        path.chmod(0o755 if path.is_dir() else 0o644)
    kernel = teacher.kernel("parlab/notebooks/python/00-your-machine.ipynb", "python3")
    try:
        with step("parlab-course: course directory, generate_assignment"):
            command = [f"{PREFIX}/bin/parlab-course", "", str(folder)]
            code = f"import subprocess\ndone = subprocess.run({command!r}, capture_output=True, text=True)\n"
            status, text, _ = kernel.execute(code + "print(done.returncode, done.stdout, done.stderr)", GRADING)
        assert status == "ok" and text.startswith("0 "), text
    finally:
        kernel.close()

    def formgrader(action, timeout=GRADING):
        result = teacher.api("POST", f"formgrader/api/{action}", timeout=timeout)
        assert result.get("success"), f"formgrader {action}: {json.dumps(result)[:2000]}"
        return result

    with step("release_assignment (Formgrader)"):
        formgrader(f"assignment/{ASSIGNMENT}/release")

    source = json.loads(FIXTURE.read_text())
    answers = {
        cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"])
        for cell in source["cells"]
        if cell["metadata"].get("nbgrader", {}).get("solution")
    }
    notebook_path = f"{ASSIGNMENT}/{FIXTURE.name}"

    def assignments(user, action):
        """An action of the Assignments tab; the student's assignments as it lists them after."""
        form = {"course_id": COURSE, "assignment_id": ASSIGNMENT}
        listed = user.api("POST", f"assignments/{action}", data=form)
        assert listed["success"], f"{user.name}: {action}: {listed['value']}"
        return [entry for entry in listed["value"] if entry["assignment_id"] == ASSIGNMENT]

    def hand_in(name):
        user = students[name]
        listed = assignments(user, "fetch")
        assert any(a["status"] == "fetched" for a in listed), listed
        model = user.api("GET", f"api/contents/{notebook_path}")
        for cell in model["content"]["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                cell["source"] = solved(answers[grade_id], wrong=name == STUDENTS[1])
        user.api(
            "PUT",
            f"api/contents/{notebook_path}",
            json={"type": "notebook", "format": "json", "content": model["content"]},
        )
        listed = assignments(user, "submit")
        assert any(a["status"] == "submitted" for a in listed), listed

    with step("fetch, answer and submit (Assignments tab), 2 students at once"):
        at_once(hand_in, STUDENTS)
    with step("collect (Formgrader)"):
        formgrader(f"assignment/{ASSIGNMENT}/collect")
    with step("autograde (Formgrader), 2 submissions"):
        for name in STUDENTS:
            formgrader(f"submission/{ASSIGNMENT}/{name}/autograde")
    with step("generate_feedback and release_feedback (Formgrader)"):
        formgrader(f"assignment/{ASSIGNMENT}/generate_feedback")
        formgrader(f"assignment/{ASSIGNMENT}/release_feedback")

    grades = {row["student"]: row for row in teacher.api("GET", f"formgrader/api/submissions/{ASSIGNMENT}")}
    right, wrong = grades[STUDENTS[0]], grades[STUDENTS[1]]
    assert right["max_score"] == 6 and right["score"] == 6, f"the right answer: {right}"
    assert wrong["score"] == 0, f"the wrong answer: {wrong}"

    hidden = "barrier = threading.Barrier(2, timeout=10)"  # a hidden test's line in the fixture
    for name, user in students.items():
        assignments(user, "fetch_feedback")
        fetched = user.api("GET", f"api/contents/{ASSIGNMENT}/feedback")["content"]
        assert len(fetched) == 1, f"{name}'s feedback folders: {fetched}"
        html = user.api("GET", f"api/contents/{fetched[0]['path']}/{FIXTURE.stem}.html", params={"format": "text"})
        text = html["content"]
        score = grades[name]["score"]
        assert f"{FIXTURE.stem} (Score: {score:.1f} / 6.0)" in text, f"{name}'s feedback does not show {score} / 6"
        assert hidden not in text, f"{name}'s feedback shows the hidden tests"
