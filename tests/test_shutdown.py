"""Stopping the API with event streams open (wallboards, agent desks) is quick and clean."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from hotline.bootstrap import create_app
from hotline.serve import serving
from tests.conftest import ROOT, TOKENS, auth
from tests.test_cli import HOTLINE, _env

STREAMS = (
    ("/api/stream/live", "supervisor", b"live changes follow"),
    ("/api/stream/wallboard", "supervisor", b"event: board"),
    ("/api/agents/agent1/events", "supervisor", b"connected"),
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Watcher:
    """A wallboard or agent desk: an HTTP client reading one event stream to its end."""

    def __init__(self, http: httpx.AsyncClient, path: str, role: str, greeting: bytes) -> None:
        self.greeted = asyncio.Event()
        self._args = (http, path, role, greeting)
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        http, path, role, greeting = self._args
        async with http.stream("GET", path, headers=auth(role)) as reply:
            async for chunk in reply.aiter_bytes():
                if greeting in chunk:
                    self.greeted.set()

    async def ended(self) -> bool:
        await asyncio.wait_for(self.task, 5)
        return True


async def _watchers(http: httpx.AsyncClient, copies: int = 1) -> list[Watcher]:
    watchers = [Watcher(http, *s) for s in STREAMS for _ in range(copies)]
    await asyncio.wait_for(asyncio.gather(*(w.greeted.wait() for w in watchers)), 10)
    return watchers


async def test_the_embedded_api_stops_at_once_with_streams_open(settings) -> None:
    """Before, uvicorn waited for the streams to end: 10 s, then a TimeoutError."""
    port = _free_port()
    app = create_app(settings)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        async with serving(app, "127.0.0.1", port):
            watchers = await _watchers(http, copies=2)
            started = time.monotonic()
        stopped_s = time.monotonic() - started
        assert stopped_s < 2, f"the API took {stopped_s:.1f} s to stop with 4 streams open"
        assert all([await w.ended() for w in watchers])


def test_hotline_crm_stops_on_sigterm_within_2_s_without_a_traceback(tmp_path: Path) -> None:
    port = _free_port()
    tokens = ",".join(f"{role}:{token}" for role, token in TOKENS.items())
    proc = subprocess.Popen(
        [*HOTLINE, "crm", "--port", str(port)],
        env=_env(tmp_path, HOTLINE_API_TOKENS=tokens),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )

    async def scenario() -> float:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            while True:
                try:
                    if (await http.get("/api/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline and proc.poll() is None, "crm did not start"
                await asyncio.sleep(0.2)
            watchers = await _watchers(http)
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            await asyncio.gather(*(w.ended() for w in watchers))
            await asyncio.to_thread(proc.wait, 10)
            return time.monotonic() - started

    try:
        stopped_s = asyncio.run(scenario())
        output = proc.communicate(timeout=20)[0].decode(errors="replace")
    finally:
        proc.kill()
    # uvicorn re-raises the signal once it has stopped cleanly
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert stopped_s < 2, f"hotline crm took {stopped_s:.1f} s to stop"
    assert "Traceback" not in output and "TimeoutError" not in output, output
