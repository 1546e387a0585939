"""Benchmark a burst of new callers: 500 connect to the AGI server within one second.

Prints one JSON object: how many heard a UIN (a `SAY DIGITS`) and how many the apology,
how many tickets the CRM has once the owed ones are paid, and the latency from the
FastAGI connection to the first audio (the greeting) and to the first digit, p50/p99.
The CRM (`hotline crm`, PostgreSQL) and the AGI server (`hotline agi`) run in their own
processes, with Redis and the CRM up; the clients play Asterisk's side of FastAGI and
answer every command at once. The issue's baseline (the dialogue of 2026-12-04, the same
burst): 233 of 500 heard the apology. Target: 500 UINs, 500 tickets, p99 to the first
audio under 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from answer import (
    KEYS,
    PG_SERVER,
    REDIS_URL,
    ROOT,
    forget,
    free_port,
    wait_port,
)

APOLOGY = b"apology-no-uin"


async def one_call(port: int, n: int, start_at: float) -> dict[str, float | bool | None]:
    """One caller: connect at `start_at`; seconds to the first audio and the first digit."""
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    started = time.perf_counter()
    first_audio = first_digit = None
    apology = False
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            f"agi_network: yes\nagi_network_script: hotline\n"
            f"agi_channel: Local/100@hotline-in-{n:08x};2\nagi_uniqueid: 1795311765.{n}\n"
            f"agi_callerid: 7900{n % 10_000_000:07d}\nagi_calleridname: Caller {n}\n\n"
        ).encode()
    )
    try:
        while line := await asyncio.wait_for(reader.readline(), 20):
            now = time.perf_counter() - started
            audio = line.startswith((b"STREAM FILE", b"SAY DIGITS", b"GET DATA"))
            if audio and first_audio is None:
                first_audio = now
            if APOLOGY in line:
                apology = True
            if line.startswith(b"SAY DIGITS"):
                first_digit = now
                break
            if line.startswith(b"GET VARIABLE"):
                writer.write(f"200 result=1 (1795311765.{n})\n".encode())
            elif line.startswith(b"GET DATA"):
                writer.write(b"200 result= (timeout)\n")
            else:
                writer.write(b"200 result=1\n")
    except TimeoutError:
        pass
    finally:
        writer.close()
    return {"first_audio_s": first_audio, "first_digit_s": first_digit, "apology": apology}


def percentiles_ms(values: list[float]) -> dict[str, float | None]:
    if len(values) < 2:
        return {"p50_ms": None, "p99_ms": None}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 1), "p99_ms": round(cuts[98] * 1000, 1)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=500)
    parser.add_argument("--within-s", type=float, default=1.0)
    args = parser.parse_args()

    import asyncpg
    from redis.asyncio import Redis

    database = f"hotline_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_SERVER)
    await admin.execute(f'CREATE DATABASE "{database}"')
    token = secrets.token_urlsafe(24)
    crm_port, agi_port = free_port(), free_port()
    prefix = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    env = {
        **__import__("os").environ,
        "HOTLINE_DATABASE_URL": f"{prefix}/{database}",
        "HOTLINE_API_TOKENS": f"service:{token},supervisor:{secrets.token_urlsafe(24)}",
        "HOTLINE_CRM_TOKEN": token,
        "HOTLINE_CRM_URL": f"http://127.0.0.1:{crm_port}",
        "HOTLINE_REDIS_URL": REDIS_URL,
        "HOTLINE_REDIS_PREFIX": KEYS.prefix,
        "HOTLINE_HOURS": "mon-sun 00:00-24:00",
        "HOTLINE_AMI_PORT": str(free_port()),
        "HOTLINE_AGI_ALLOW": "127.0.0.1",
    }
    quiet = {"stdout": asyncio.subprocess.DEVNULL, "stderr": asyncio.subprocess.DEVNULL}
    redis = Redis.from_url(REDIS_URL)
    await forget(redis)
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hotline.cli", "crm", "--port", str(crm_port), env=env, **quiet
        )
    ]
    try:
        await wait_port(crm_port, procs[0])
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
        await wait_port(agi_port, procs[1])
        await asyncio.sleep(2)  # the AGI server's first stock refill
        start = time.perf_counter() + 0.2
        base = secrets.randbelow(10**6) * 1000
        results = await asyncio.gather(
            *(
                one_call(agi_port, base + i, start + i * args.within_s / args.callers)
                for i in range(args.callers)
            )
        )
        db = await asyncpg.connect(PG_SERVER.rsplit("/", 1)[0] + f"/{database}")
        deadline = time.monotonic() + 120
        owed = -1
        while time.monotonic() < deadline:  # owed tickets are paid in the background
            owed = int(await redis.hlen(KEYS.pending_tickets))
            if owed == 0:
                break
            await asyncio.sleep(0.5)
        tickets = await db.fetchval("SELECT count(*) FROM tickets")
        await db.close()
    finally:
        for proc in procs:
            proc.terminate()
            await proc.wait()
        await forget(redis)
        await redis.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    audio = [r["first_audio_s"] for r in results if r["first_audio_s"] is not None]
    digits = [r["first_digit_s"] for r in results if r["first_digit_s"] is not None]
    print(
        json.dumps(
            {
                "callers": args.callers,
                "within_s": args.within_s,
                "heard_uin": len(digits),
                "heard_apology": sum(bool(r["apology"]) for r in results),
                "no_answer": sum(r["first_audio_s"] is None for r in results),
                "tickets": tickets,
                "still_owed": owed,
                "first_audio": percentiles_ms(audio),
                "first_digit": percentiles_ms(digits),
                "baseline_heard_apology": 233,
                "target": {"heard_uin": args.callers, "first_audio_p99_ms": 200},
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
