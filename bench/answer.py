"""Benchmark answering a new caller: AGI connect -> the UIN readout's first `SAY DIGITS`.

Prints one JSON object:
- p50_ms / p99_ms: latency from the FastAGI connection to the first `SAY DIGITS` command
  (the ticket is registered in the CRM on PostgreSQL on the way, while the greeting plays)
  at a steady 50 new calls/s for 20 s, callers pressing nothing;
- bare_p99_ms (and bare_p50_ms): the same clients against a bare FastAGI route that only
  answers, in the same run: the floor set by the FastAGI plumbing and the client;
- calls_per_s: the highest offered rate (steps of 25/s, 5 s each) at which every call got
  its readout and p99 stayed within 200 ms.

The CRM (`hotline crm`, PostgreSQL) and the AGI server (`hotline agi`) run in their own
processes; the clients play Asterisk's side of FastAGI and answer every command at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import httpx
from redis.asyncio import Redis

from core.keys import RedisKeys

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = os.environ.get("HOTLINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("HOTLINE_BENCH_REDIS", "redis://127.0.0.1:6379/12")
# This run's own key prefix: nothing of another install (or run) on that Redis is touched.
KEYS = RedisKeys(f"bench-{secrets.token_hex(4)}")
FIRST_AUDIO = b"SAY DIGITS"
BARE_SERVER = """
import asyncio, sys
from agi.server import AgiServer
from core.settings import AgiSettings
async def bare(request):
    await request.send_command("ANSWER")
    await request.send_command('SAY DIGITS "1" ""')
async def main():
    server = AgiServer(AgiSettings(host="127.0.0.1", port=int(sys.argv[1])))
    server.add_route("bare", bare)
    await server.start()
    await asyncio.Event().wait()
asyncio.run(main())
"""


async def forget(redis: Redis) -> None:
    """Delete every key of this run's prefix."""
    names = [name async for name in redis.scan_iter(match=f"{KEYS.root}*", count=1000)]
    if names:
        await redis.delete(*names)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def one_call(port: int, script: str, n: int) -> float | None:
    """One simulated caller; seconds from connect to the first readout command."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    env = (
        f"agi_network: yes\nagi_network_script: {script}\n"
        f"agi_channel: Local/100@hotline-in-{n:08x};2\nagi_uniqueid: 1795311765.{n}\n"
        f"agi_callerid: 7900{n % 10_000_000:07d}\nagi_calleridname: Caller {n}\n\n"
    )
    writer.write(env.encode())
    try:
        while line := await asyncio.wait_for(reader.readline(), 10):
            if line.startswith(FIRST_AUDIO):
                return time.perf_counter() - started
            if line.startswith(b"GET VARIABLE"):
                writer.write(f"200 result=1 (1795311765.{n})\n".encode())
            elif line.startswith(b"GET DATA"):
                writer.write(b"200 result= (timeout)\n")
            else:
                writer.write(b"200 result=1\n")
    except TimeoutError:
        return None
    finally:
        writer.close()
    return None


async def steady(port: int, script: str, rate: float, seconds: float) -> list[float | None]:
    async def at(i: int, when: float) -> float | None:
        await asyncio.sleep(max(0.0, when - time.perf_counter()))
        return await one_call(port, script, i)

    start = time.perf_counter() + 0.1
    count = int(rate * seconds)
    base = secrets.randbelow(10**6) * 1000
    return await asyncio.gather(*(at(base + i, start + i / rate) for i in range(count)))


def summary(results: list[float | None]) -> tuple[float, float, int]:
    done = sorted(r * 1000 for r in results if r is not None)
    if len(done) < 2:
        return float("nan"), float("nan"), len(results) - len(done)
    cuts = statistics.quantiles(done, n=100, method="inclusive")
    return round(cuts[49], 2), round(cuts[98], 2), len(results) - len(done)


async def wait_port(port: int, proc: asyncio.subprocess.Process) -> None:
    for _ in range(300):
        if proc.returncode is not None:
            raise RuntimeError("a benchmark server exited during start-up")
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()

    database = f"hotline_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_SERVER)
    await admin.execute(f'CREATE DATABASE "{database}"')
    token = secrets.token_urlsafe(24)
    crm_port, agi_port, bare_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": PG_SERVER.rsplit("/", 1)[0].replace(
            "postgresql://", "postgresql+asyncpg://"
        )
        + f"/{database}",
        "HOTLINE_API_TOKENS": f"service:{token}",
        "HOTLINE_CRM_TOKEN": token,
        "HOTLINE_CRM_URL": f"http://127.0.0.1:{crm_port}",
        "HOTLINE_REDIS_URL": REDIS_URL,
        "HOTLINE_REDIS_PREFIX": KEYS.prefix,
        "HOTLINE_HOURS": "mon-sun 00:00-24:00",
        "HOTLINE_AMI_PORT": str(free_port()),
    }
    quiet = {"stdout": asyncio.subprocess.DEVNULL, "stderr": asyncio.subprocess.DEVNULL}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hotline.cli", "crm", "--port", str(crm_port), env=env, **quiet
        ),
    ]
    redis = Redis.from_url(REDIS_URL)
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                try:
                    if (await http.get(f"http://127.0.0.1:{crm_port}/api/health")).is_success:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hotline.cli",
                "agi",
                "--port",
                str(agi_port),
                "--sounds",
                str(ROOT / "asterisk-config" / "sounds"),
                env=env,
                cwd=ROOT,
                **quiet,
            )
        )
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", BARE_SERVER, str(bare_port), env=env, cwd=ROOT, **quiet
            )
        )
        for port, proc in ((agi_port, procs[1]), (bare_port, procs[2])):
            await wait_port(port, proc)
        await steady(agi_port, "hotline", 10, 1)  # warm-up (and the UIN stock is filled)
        hotline = await steady(agi_port, "hotline", args.rate, args.seconds)
        bare = await steady(bare_port, "bare", args.rate, args.seconds)
        best = 0.0
        for rate in (75, 100, 125, 150, 200, 250, 300):
            p50, p99, lost = summary(await steady(agi_port, "hotline", rate, 5))
            if lost or not p99 <= 200:
                break
            best = rate
    finally:
        for proc in procs:
            proc.terminate()
            await proc.wait()
        await forget(redis)
        await redis.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    p50, p99, lost = summary(hotline)
    bare_p50, bare_p99, bare_lost = summary(bare)
    print(
        json.dumps(
            {
                "p50_ms": p50,
                "p99_ms": p99,
                "calls_per_s": best,
                "bare_p99_ms": bare_p99,
                "bare_p50_ms": bare_p50,
                "rate_per_s": args.rate,
                "seconds": args.seconds,
                "calls": len(hotline),
                "lost": lost,
                "bare_lost": bare_lost,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
