"""Benchmark the mail intake: queued e-mails read over IMAP and registered; prints one JSON.

`--messages` new requests (each signed with a name, an organisation and an INN, with a
small attachment every tenth) are APPENDed to a real Dovecot started on loopback (as the
tests start it, `tests/mail/dovecot.py`), then `hotline mail-intake --once`'s reader
(`hotline.bootstrap.mail.mail_reader`) takes them all. Figures: the wall time and
messages per second of the intake alone (the APPENDs are not counted), against the
target of 1,000 in under a minute; the tickets, acknowledgements and flags are checked.
The database is SQLite in a temporary folder (in /dev/shm when there is one) unless
`--database-url` names another (it must be empty: it is migrated).

Usage: `python bench/mail.py [--messages 1000] [--database-url URL]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "queue")]  # this checkout's code, not an install

from sqlalchemy import func, select  # noqa: E402

from core.settings import DatabaseSettings, ImapSettings, MailSettings, Settings  # noqa: E402
from crm.db import make_engine  # noqa: E402
from crm.mail.imap import TAKEN  # noqa: E402
from crm.migrate import upgrade  # noqa: E402
from crm.models import Notification, Ticket  # noqa: E402
from hotline.bootstrap.mail import mail_reader  # noqa: E402
from tests.mail.dovecot import PASSWORD, USER, Dovecot  # noqa: E402
from tests.mail.messages import mail  # noqa: E402

TARGET_S = 60.0


async def run(messages: int, database_url: str) -> dict[str, object]:
    server = Dovecot()
    server.start()
    try:
        batch = [
            mail(
                subject=f"Не формируется отчёт № {n}",
                attachments=[("log.txt", "text/plain", b"x" * 2048)] if n % 10 == 0 else None,
            )
            for n in range(messages)
        ]
        client = await server.client()
        for raw in batch:
            await client.append(raw, mailbox="INBOX")
        await client.logout()
        settings = Settings(
            db=DatabaseSettings(url=database_url),
            mail=MailSettings(smtp_from="hotline@example.ru"),
            imap=ImapSettings(
                imap_host="127.0.0.1",
                imap_port=server.port,
                imap_user=USER,
                imap_password=PASSWORD,
                imap_tls=False,
            ),
        )
        started = time.perf_counter()
        async with mail_reader(settings) as reader:
            result = await reader.run_once()
        wall_s = time.perf_counter() - started
        engine = make_engine(database_url)
        async with engine.connect() as conn:
            tickets = (await conn.execute(select(func.count()).select_from(Ticket))).scalar_one()
            acks = (await conn.execute(select(func.count()).select_from(Notification))).scalar_one()
        await engine.dispose()
        total, flagged = await server.flagged(TAKEN)
    finally:
        server.remove()
    ok = tickets == acks == messages == result.taken == flagged == total
    return {
        "messages": messages,
        "database": database_url.split(":", 1)[0],
        "wall_s": round(wall_s, 2),
        "messages_per_s": round(messages / wall_s, 1),
        "target_s": TARGET_S * messages / 1000,
        "within_target": wall_s <= TARGET_S * messages / 1000,
        "tickets": tickets,
        "acknowledgements": acks,
        "flagged": flagged,
        "checks_ok": ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
        upgrade(url)  # before the loop: Alembic runs its own
        print(json.dumps(asyncio.run(run(args.messages, url))))


if __name__ == "__main__":
    main()
