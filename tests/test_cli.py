"""The `hotline` command: `db upgrade` migrates, `crm` serves the API."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import REDIS_TEST_PREFIX, REDIS_TEST_URL, ROOT, TOKENS

HOTLINE = [sys.executable, "-m", "hotline.cli"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(
        HOTLINE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        HOTLINE_REDIS_URL=REDIS_TEST_URL,
        HOTLINE_REDIS_PREFIX=REDIS_TEST_PREFIX,
        **extra,
    )
    return env


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    run = subprocess.run(
        [*HOTLINE, "db", "upgrade"],
        env=_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    tables = {
        row[0]
        for row in sqlite3.connect(tmp_path / "cli.db").execute(
            "SELECT name FROM sqlite_master WHERE type='table'"
        )
    }
    assert {"tickets", "calls", "ticket_events"} <= tables


def test_bad_settings_exit_2_with_a_clear_message(tmp_path: Path) -> None:
    run = subprocess.run(
        [*HOTLINE, "db", "upgrade"],
        env=_env(tmp_path, HOTLINE_API_TOKENS="agent:changeme"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "placeholder" in run.stderr


def test_crm_serves_the_api(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    key = tmp_path / "session.key"
    env = _env(
        tmp_path,
        HOTLINE_API_TOKENS=f"agent:{TOKENS['agent']}",
        HOTLINE_SESSION_SECRET_FILE=str(key),
    )
    proc = subprocess.Popen(
        [*HOTLINE, "crm", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "crm did not start"
            time.sleep(0.2)
        created = httpx.post(
            f"{base}/api/tickets",
            json={"category": "ZnK", "priority": 3},
            headers={"Authorization": f"Bearer {TOKENS['agent']}"},
        )
        assert created.status_code == 201 and len(created.json()["uin"]) == 8
        assert httpx.get(f"{base}/docs").status_code == 200
        # the session key was generated once, private, for every worker to share
        assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_text().strip()) >= 32
        assert httpx.get(f"{base}/login").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
