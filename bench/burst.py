"""Benchmark a burst of new callers: 500 connect to the AGI server within one second.

Prints one JSON object: how many heard a UIN (a `SAY DIGITS`) and how many the apology,
how many tickets the CRM has once the owed ones are paid, and the latency from the
FastAGI connection to the first audio (the greeting) and to the first digit, p50/p99.
The CRM (`hotline crm`, PostgreSQL) and the AGI server (`hotline agi`) run in their own
processes, with Redis and the CRM up; the clients play Asterisk's side of FastAGI and
answer every command at once, from this process (the servers' own processes are measured,
not the clients'). The issue's baseline (the dialogue of 2026-12-04, the same burst): 233
of 500 heard the apology. Target: 500 UINs, 500 tickets, p99 to the first audio under
200 ms.

`--rate 50 --duration 600` is the soak instead: 50 new callers a second for 10 minutes
(target: every caller a UIN and a ticket). Both report the servers' resident memory at the
start and the end, the CPU seconds the AGI server, the CRM and the callers (this process)
spent from the first caller to the end of the last, and the 1-minute load average;
`--logs DIR` keeps the servers' logs, `--py-spy FILE` records the AGI server's stacks
during the burst.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

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
    first_audio = first_digit = first_command = None
    apology = False
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    connected = time.perf_counter() - started
    writer.write(
        (
            # As the dialplan sends it (asterisk-config/extensions.conf), which sets the
            # channel's language (ru) before the AGI.
            f"agi_network: yes\nagi_network_script: hotline?lang=ru&linkedid=1795311765.{n}\n"
            f"agi_language: ru\n"
            f"agi_channel: Local/100@hotline-in-{n:08x};2\nagi_uniqueid: 1795311765.{n}\n"
            f"agi_callerid: 7900{n % 10_000_000:07d}\nagi_calleridname: Caller {n}\n\n"
        ).encode()
    )
    try:
        while line := await asyncio.wait_for(reader.readline(), 20):
            now = time.perf_counter() - started
            if first_command is None:
                first_command = now
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
    return {
        "connected_s": connected,
        "first_command_s": first_command,
        "first_audio_s": first_audio,
        "first_digit_s": first_digit,
        "apology": apology,
    }


def cpu_s(pid: int) -> float:
    """A process's CPU time so far (user + system, Linux), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float | None:
    """A process's resident memory (Linux), MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def percentiles_ms(values: list[float]) -> dict[str, float | None]:
    if len(values) < 2:
        return {"p50_ms": None, "p99_ms": None}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 1), "p99_ms": round(cuts[98] * 1000, 1)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=500)
    parser.add_argument("--within-s", type=float, default=1.0)
    parser.add_argument(
        "--rate",
        type=float,
        help="the soak: this many new callers per second for --duration seconds instead",
    )
    parser.add_argument("--duration", type=float, default=600.0, help="the soak's seconds")
    parser.add_argument(
        "--py-spy",
        metavar="FILE",
        help="record the AGI server's stacks during the burst with py-spy (raw format)",
    )
    parser.add_argument("--logs", metavar="DIR", help="keep the CRM's and the AGI server's logs")
    args = parser.parse_args()
    if args.rate is not None:
        if args.rate <= 0 or args.duration <= 0:
            parser.error("--rate and --duration must be positive")
        args.callers = round(args.rate * args.duration)
        args.within_s = args.duration
    if args.callers < 1 or args.within_s <= 0:
        parser.error("--callers must be 1 or more and --within-s positive")

    import asyncpg
    from redis.asyncio import Redis

    database = f"hotline_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_SERVER)
    await admin.execute(f'CREATE DATABASE "{database}"')
    token = secrets.token_urlsafe(24)
    crm_port, agi_port = free_port(), free_port()
    prefix = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    env = {
        **os.environ,
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

    def output(name: str) -> dict[str, Any]:
        if not args.logs:
            return quiet
        log = open(Path(args.logs) / f"{name}.log", "wb")  # closed when the bench exits
        return {"stdout": log, "stderr": log}

    redis = Redis.from_url(REDIS_URL)
    await forget(redis)
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hotline.cli",
            "crm",
            "--port",
            str(crm_port),
            env=env,
            **output("crm"),
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
                **output("agi"),
            )
        )
        await wait_port(agi_port, procs[1])
        await asyncio.sleep(2)  # the AGI server's first stock refill
        cpu_start = [cpu_s(procs[1].pid), cpu_s(procs[0].pid), sum(os.times()[:2])]
        rss_start = {"agi": rss_mb(procs[1].pid), "crm": rss_mb(procs[0].pid)}
        spy = None
        if args.py_spy:
            spy = await asyncio.create_subprocess_exec(
                "py-spy",
                "record",
                "-p",
                str(procs[1].pid),
                "-d",
                str(int(args.within_s + 6)),
                "-r",
                "250",
                "-f",
                "raw",
                "-o",
                args.py_spy,
                **quiet,
            )
            await asyncio.sleep(1)
        start = time.perf_counter() + 0.2
        base = secrets.randbelow(10**6) * 1000
        results = await asyncio.gather(
            *(
                one_call(agi_port, base + i, start + i * args.within_s / args.callers)
                for i in range(args.callers)
            )
        )
        cpu_end = [cpu_s(procs[1].pid), cpu_s(procs[0].pid), sum(os.times()[:2])]
        rss_end = {"agi": rss_mb(procs[1].pid), "crm": rss_mb(procs[0].pid)}
        if spy is not None:
            await spy.wait()
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
                "rate_per_s": round(args.callers / args.within_s, 1),
                "heard_uin": len(digits),
                "heard_apology": sum(bool(r["apology"]) for r in results),
                "no_answer": sum(r["first_audio_s"] is None for r in results),
                "tickets": tickets,
                "still_owed": owed,
                "connected": percentiles_ms([r["connected_s"] for r in results]),
                "first_command": percentiles_ms(
                    [r["first_command_s"] for r in results if r["first_command_s"] is not None]
                ),
                "first_audio": percentiles_ms(audio),
                "first_digit": percentiles_ms(digits),
                "rss_mb": {"start": rss_start, "end": rss_end},
                # CPU seconds each process spent from the first caller to the last one's end
                "cpu_s": {
                    name: round(end - start, 2)
                    for name, start, end in zip(
                        ("agi", "crm", "callers"), cpu_start, cpu_end, strict=True
                    )
                },
                "load_avg_1m": os.getloadavg()[0],
                "baseline_heard_apology": 233,
                "target": {"heard_uin": args.callers, "first_audio_p99_ms": 200},
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
