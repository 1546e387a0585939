"""`hotline mail-intake` as a command, and the IMAP reader inside `hotline run`."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from core.settings import (
    ApiSettings,
    CalendarSettings,
    DatabaseSettings,
    ImapSettings,
    Settings,
)
from crm.migrate import upgrade
from crm.models import Ticket
from hotline.demo.stack import free_port
from hotline.run import RunOptions, run_all
from tests.conftest import REDIS_TEST_URL, ROOT, TOKENS, auth, redis_settings
from tests.mail.conftest import count, wait_until
from tests.mail.dovecot import PASSWORD, USER, Dovecot
from tests.mail.messages import mail

HOTLINE = shutil.which("hotline", path=str(Path(sys.executable).parent)) or "hotline"


def _env(database_url: str, dovecot: Dovecot, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    return env | {
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_IMAP_HOST": "127.0.0.1",
        "HOTLINE_IMAP_PORT": str(dovecot.port),
        "HOTLINE_IMAP_USER": USER,
        "HOTLINE_IMAP_PASSWORD": PASSWORD,
        "HOTLINE_IMAP_TLS": "false",
        **extra,
    }


async def test_mail_intake_once_takes_the_waiting_mail_and_exits(
    tmp_path: Path, mailbox: Dovecot
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    await mailbox.append(mail(), mail(subject="Второй вопрос про отчёт"))
    done = await asyncio.to_thread(
        subprocess.run,
        [HOTLINE, "mail-intake", "--once"],
        env=_env(database_url, mailbox),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "2 taken, 0 failed" in done.stdout
    assert await count(database_url, Ticket) == 2
    no_host = await asyncio.to_thread(
        subprocess.run,
        [HOTLINE, "mail-intake", "--once"],
        env=_env(database_url, mailbox, HOTLINE_IMAP_HOST=""),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert no_host.returncode == 2 and "HOTLINE_IMAP_HOST is empty" in no_host.stderr


async def test_a_wrong_password_is_a_clear_error(tmp_path: Path, mailbox: Dovecot) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    done = await asyncio.to_thread(
        subprocess.run,
        [HOTLINE, "mail-intake", "--once"],
        env=_env(database_url, mailbox, HOTLINE_IMAP_PASSWORD="not-the-password"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "LOGIN answered NO" in done.stderr


@pytest.mark.redis
async def test_hotline_run_starts_the_reader_when_an_imap_host_is_set(
    tmp_path: Path, mailbox: Dovecot
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    await asyncio.to_thread(upgrade, database_url)
    api_port = free_port()
    settings = Settings(
        db=DatabaseSettings(url=database_url),
        redis=redis_settings(REDIS_TEST_URL.rsplit("/", 1)[0] + "/4"),  # its own
        api=ApiSettings(tokens=",".join(f"{r}:{t}" for r, t in TOKENS.items())),
        calendar=CalendarSettings(hours="mon-sun 00:00-24:00", holiday_calendar="none"),
        imap=ImapSettings(
            imap_host="127.0.0.1",
            imap_port=mailbox.port,
            imap_user=USER,
            imap_password=PASSWORD,
            imap_tls=False,
        ),
    )
    options = RunOptions(
        api_port=api_port, agi_port=free_port(), sounds_dir=ROOT / "asterisk-config" / "sounds"
    )
    stop = asyncio.Event()
    running = asyncio.create_task(run_all(settings, options, stop))
    api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", headers=auth("agent"))
    try:
        await mailbox.append(mail())

        async def registered() -> bool:
            try:
                page = (await api.get("/api/tickets")).json()
            except httpx.TransportError:
                return False
            return page.get("total") == 1

        await wait_until(registered, timeout_s=30)
        (ticket,) = (await api.get("/api/tickets")).json()["items"]
        assert ticket["channel"] == "email"
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await api.aclose()
    assert running.exception() is None
