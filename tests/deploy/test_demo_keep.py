"""`hotline demo --keep`: after the busy hour the stack stays up, prints its URLs and two
logins with generated passwords, serves the pages, and stops on Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from hotline.demo.run import DemoOptions

READY_TIMEOUT_S = 240.0  # a small hour; the machine may be loaded
STOP_TIMEOUT_S = 10.0
LOGIN = re.compile(r"^\s+(supervisor|agent)\s+(\S+)\s+password (\S+)", re.M)
URL = re.compile(r"^\s+(wallboard|agent desk|API docs):\s+(http://\S+)$", re.M)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Demo:
    process: subprocess.Popen[str]
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def text(self, which: str = "stdout") -> str:
        return "".join(getattr(self, which))

    def wait_for(self, needle: str, which: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if needle in self.text(which):
                return self.text(which)
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(
            f"{needle!r} not printed (exit {self.process.poll()}):\n"
            f"{self.text()}\n--- stderr ---\n{self.text('stderr')[-4000:]}"
        )


def _start(*args: str) -> Demo:
    command = [sys.executable, "-m", "hotline.cli", "demo", "--speed", "max", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    demo = Demo(process)
    for stream, sink in ((process.stdout, demo.stdout), (process.stderr, demo.stderr)):
        threading.Thread(
            target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True
        ).start()
    return demo


@pytest.fixture
def running() -> Iterator[list[Demo]]:
    started: list[Demo] = []
    yield started
    for demo in started:
        if demo.process.poll() is None:
            demo.process.kill()
            demo.process.wait()


def _log_in(base: str, login: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=30) as http:
        page = http.get("/login")
        token = CSRF.search(page.text)
        assert token, page.text
        answer = http.post(
            "/login",
            data={"username": login, "password": password, "csrf_token": token.group(1)},
        )
        if answer.status_code != 303:
            return answer
        # The session cookie opens the person's home page.
        return http.get(answer.headers["location"])


def test_keep_serves_the_pages_with_printed_logins_until_sigint(running: list[Demo]) -> None:
    demo = _start("--calls", "12", "--seed", "3", "--keep")
    running.append(demo)
    out = demo.wait_for("Ctrl-C ends it", "stdout", READY_TIMEOUT_S)
    out = demo.wait_for("agent      ", "stdout", 10)
    assert "tickets 12  = one per call" in out, "the summary comes first"
    urls = dict(URL.findall(out))
    assert set(urls) == {"wallboard", "agent desk", "API docs"}, out
    base = urls["wallboard"].removesuffix("/wallboard")
    assert urls["agent desk"] == f"{base}/desk" and urls["API docs"] == f"{base}/docs"
    logins = {role: (login, password) for role, login, password in LOGIN.findall(out)}
    assert set(logins) == {"supervisor", "agent"}, out
    assert logins["supervisor"][1] != logins["agent"][1]

    # The printed logins work: each person lands on their home page.
    supervisor = _log_in(base, *logins["supervisor"])
    assert supervisor.status_code == 200 and supervisor.url.path == "/wallboard"
    agent = _log_in(base, *logins["agent"])
    assert agent.status_code == 200 and agent.url.path == "/desk"
    # A wrong password is refused: the printed one is what opens the pages.
    assert _log_in(base, logins["agent"][0], logins["agent"][1] + "x").status_code == 401
    assert httpx.get(f"{base}/docs", timeout=30).status_code == 200
    # Still up a moment later (the simulator idles, nothing ends the run by itself).
    time.sleep(1.5)
    assert demo.process.poll() is None
    assert httpx.get(f"{base}/api/health", timeout=30).status_code == 200

    demo.process.send_signal(signal.SIGINT)
    started = time.monotonic()
    code = demo.process.wait(STOP_TIMEOUT_S)
    assert code == 0, demo.text("stderr")[-4000:]
    assert time.monotonic() - started < STOP_TIMEOUT_S
    assert "Traceback" not in demo.text("stderr"), demo.text("stderr")[-4000:]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/api/health", timeout=2)


def test_keep_calling_goes_on_placing_calls_and_json_stays_one_object(
    running: list[Demo],
) -> None:
    # A short steady load (--rate 3600 for 0.004 h: about 14 callers), then callers go on
    # arriving at one a second of model time, which now follows the wall clock.
    demo = _start(
        "--rate", "3600", "--hours", "0.004", "--agents", "4", "--json", "--keep", "--keep-calling"
    )
    running.append(demo)
    err = demo.wait_for("Ctrl-C ends it", "stderr", READY_TIMEOUT_S)
    assert "callers arriving, 3600 an hour" in err
    summary = json.loads(demo.text())  # stdout: the summary alone, URLs on stderr
    base = dict(URL.findall(demo.wait_for("agent      ", "stderr", 10)))["wallboard"]
    base = base.removesuffix("/wallboard")
    token = re.search(r"service\s+token: (\S+)", err)
    assert token is None, "with --json the tokens are not printed"
    logins = {role: (login, password) for role, login, password in LOGIN.findall(err)}
    # New callers get tickets while the demo keeps running: the call log grows.
    first = _calls_seen(base, *logins["supervisor"])
    deadline = time.monotonic() + 60
    while _calls_seen(base, *logins["supervisor"]) <= max(first, summary["calls"]):
        assert time.monotonic() < deadline, "no new call recorded while kept calling"
        time.sleep(1)
    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(STOP_TIMEOUT_S) == 0, demo.text("stderr")[-4000:]


def _calls_seen(base: str, login: str, password: str) -> int:
    with httpx.Client(base_url=base, timeout=30) as http:
        page = http.get("/login")
        token = CSRF.search(page.text)
        assert token
        http.post(
            "/login", data={"username": login, "password": password, "csrf_token": token.group(1)}
        )
        answer = http.get("/api/calls", params={"limit": 500})
        assert answer.status_code == 200, answer.text
        return len(answer.json()["calls"])


def test_keep_calling_without_keep_is_refused() -> None:
    with pytest.raises(ValueError, match="--keep-calling goes with --keep"):
        DemoOptions(keep_calling=True)
