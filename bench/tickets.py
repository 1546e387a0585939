"""Benchmark `POST /api/tickets` over HTTP on PostgreSQL; prints one JSON object.

- tickets_per_s: throughput with 20 concurrent clients for 10 s (closed loop), driven by
  `wrk` when it is installed (`apt-get install wrk`), else by an httpx client;
- p50_ms / p99_ms: latency at a steady open-loop rate of 100 tickets/s for 10 s, measured
  from each request's scheduled send time (so a stall is not hidden by waiting clients).

The server is `hotline crm` in its own process, on a fresh PostgreSQL database that is
dropped afterwards. Usage: `python bench/tickets.py [--seconds 10] [--clients 20] [--rate 100]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import asyncpg
import httpx

PG_SERVER = os.environ.get("HOTLINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BODY = {
    "channel": "phone",
    "caller_phone": "+79000000001",
    "caller_name": "Алиса Петрова",
    "org_inn": "7707083893",
    "category": "INC",
    "priority": 2,
    "summary": "Не формируется отчёт",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_SERVER)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def wait_up(base: str, proc: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            if proc.returncode is not None:
                raise RuntimeError("hotline crm exited during start-up")
            try:
                if (await http.get(f"{base}/api/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("hotline crm did not come up")


async def closed_loop(base: str, headers: dict[str, str], clients: int, seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as http:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                response = await http.post("/api/tickets", json=BODY)
                response.raise_for_status()
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return done / (time.perf_counter() - started)


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "%s"
"""


async def closed_loop_wrk(
    base: str, headers: dict[str, str], clients: int, seconds: float
) -> tuple[float, int]:
    """Throughput measured by wrk (a C load generator): (requests/s, non-2xx answers).

    A Python client spends more CPU per request than the server does, and on two cores it
    would measure itself; wrk barely shows up.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (json.dumps(BODY, ensure_ascii=False), headers["Authorization"]))
    try:
        proc = await asyncio.create_subprocess_exec(
            "wrk",
            "-t",
            "2",
            "-c",
            str(clients),
            "-d",
            f"{int(seconds)}s",
            "-s",
            script.name,
            f"{base}/api/tickets",
            stdout=asyncio.subprocess.PIPE,
        )
        out = (await proc.communicate())[0].decode()
    finally:
        os.unlink(script.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, int(bad[1]) if bad else 0


async def open_loop(base: str, headers: dict[str, str], rate: float, seconds: float) -> list[float]:
    latencies_ms: list[float] = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as http:

        async def one(scheduled: float) -> None:
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            response = await http.post("/api/tickets", json=BODY)
            response.raise_for_status()
            latencies_ms.append((time.perf_counter() - scheduled) * 1000)

        start = time.perf_counter() + 0.2
        count = int(rate * seconds)
        await asyncio.gather(*(one(start + i / rate) for i in range(count)))
    return latencies_ms


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(share * 1000) - 1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--workers", type=int, default=1, help="CRM server processes")
    args = parser.parse_args()

    database = f"hotline_bench_{secrets.token_hex(4)}"
    await admin(f'CREATE DATABASE "{database}"')
    token = secrets.token_urlsafe(24)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": PG_SERVER.rsplit("/", 1)[0].replace(
            "postgresql://", "postgresql+asyncpg://"
        )
        + f"/{database}",
        "HOTLINE_API_TOKENS": f"service:{token}",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline.cli",
        "crm",
        "--port",
        str(port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_up(base, proc)
        headers = {"Authorization": f"Bearer {token}"}
        await closed_loop(base, headers, args.clients, 1.0)  # warm-up
        failed = 0
        if shutil.which("wrk"):
            client = "wrk"
            throughput, failed = await closed_loop_wrk(base, headers, args.clients, args.seconds)
        else:
            client = "httpx (install wrk: the Python client saturates before the server)"
            throughput = await closed_loop(base, headers, args.clients, args.seconds)
        latencies = await open_loop(base, headers, args.rate, args.seconds)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)
        await admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print(
        json.dumps(
            {
                "tickets_per_s": round(throughput, 1),
                "p50_ms": round(percentile(latencies, 0.5), 2),
                "p99_ms": round(percentile(latencies, 0.99), 2),
                "requests_at_rate": len(latencies),
                "rate_per_s": args.rate,
                "clients": args.clients,
                "throughput_client": client,
                "failed_at_throughput": failed,
                "workers": args.workers,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
