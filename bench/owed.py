"""Benchmark paying the tickets owed while the CRM was down, one of them poisoned.

1,000 callers heard UINs from the stock while the CRM was down; one entry holds a NUL in
the caller's name (written before the AGI environment was cleaned). The CRM (`hotline
crm`, PostgreSQL, its own process) comes back; prints one JSON object: how long
`PendingTickets.flush()` takes to create them all, concurrently (as the AGI server does)
and one at a time (the old way's pace, in the same run), and whether the poisoned one was
created too. Before, the first failure stopped the flush: the 999 others stayed owed.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import sys
import time

import asyncpg
import httpx
from redis.asyncio import Redis

from agi.crm_client import CrmClient
from agi.stock import FLUSH_CONCURRENCY, PendingTickets
from core.keys import RedisKeys
from core.settings import CrmClientSettings

PG_SERVER = os.environ.get("HOTLINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("HOTLINE_BENCH_REDIS", "redis://127.0.0.1:6379/12")
KEYS = RedisKeys(f"bench-{secrets.token_hex(4)}")  # this run's own keys
OWED = 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def owe(http: httpx.AsyncClient, redis: Redis) -> str:
    """Reserve OWED UINs and owe a ticket for each; the poisoned entry's UIN."""
    reply = await http.post("/api/uins/reserve", json={"count": OWED})
    reply.raise_for_status()
    uins = reply.json()["uins"]
    entries = {
        uin: json.dumps({"caller_phone": None, "caller_name": f"Caller {i}"}, ensure_ascii=False)
        for i, uin in enumerate(uins)
    }
    entries[uins[OWED // 2]] = json.dumps({"caller_phone": None, "caller_name": "Ива\x00нов"})
    await redis.delete(KEYS.pending_tickets, KEYS.pending_refused)
    await redis.hset(KEYS.pending_tickets, mapping=entries)
    return uins[OWED // 2]


async def pay(crm: CrmClient, redis: Redis, concurrency: int) -> tuple[int, float]:
    pending = PendingTickets(redis, KEYS, crm, concurrency=concurrency)
    started = time.perf_counter()
    created = await pending.flush()
    return created, round(time.perf_counter() - started, 3)


async def main() -> None:
    database = f"hotline_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_SERVER)
    await admin.execute(f'CREATE DATABASE "{database}"')
    token = secrets.token_urlsafe(24)
    port = free_port()
    url = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": f"{url}/{database}",
        "HOTLINE_API_TOKENS": f"service:{token}",
        "HOTLINE_REDIS_URL": REDIS_URL,
        "HOTLINE_REDIS_PREFIX": KEYS.prefix,
    }
    crm_proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline.cli",
        "crm",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    redis = Redis.from_url(REDIS_URL)
    base = f"http://127.0.0.1:{port}"
    crm = CrmClient(CrmClientSettings(url=base, token=token, timeout_s=5.0))
    results = {}
    try:
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            for _ in range(300):
                try:
                    if (await http.get("/api/health")).is_success:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            for name, concurrency in (("concurrent", FLUSH_CONCURRENCY), ("one_at_a_time", 1)):
                poisoned = await owe(http, redis)
                created, seconds = await pay(crm, redis, concurrency)
                ticket = await http.get(f"/api/tickets/{poisoned}")
                results[name] = {
                    "concurrency": concurrency,
                    "created": created,
                    "seconds": seconds,
                    "tickets_per_s": round(created / seconds, 1),
                    "poisoned_created": ticket.status_code == 200,
                    "still_owed": int(await redis.hlen(KEYS.pending_tickets)),
                }
    finally:
        await crm.aclose()
        crm_proc.terminate()
        await crm_proc.wait()
        await redis.delete(KEYS.pending_tickets, KEYS.pending_refused)
        await redis.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    print(json.dumps({"owed": OWED, **results, "target_s": 10.0}))


if __name__ == "__main__":
    asyncio.run(main())
