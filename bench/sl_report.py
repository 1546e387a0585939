"""Benchmark the supervisor's reports on PostgreSQL with millions of recorded calls;
prints one JSON object.

- `quarter_15m`: `GET /api/metrics/service-level` for a quarter (Jul-Sep 2026) of
  `--calls` calls by `15m`, through HTTP against `hotline crm` in its own process, beside
  the bare `GROUP BY` (interval, queue, count) over the same rows in the same run: the API's
  median time, the `GROUP BY`'s, and their ratio.
- `year_day`: the same by `day` over a year (2025) of `--year-calls` calls.
- `memory_kb`: the API process's peak resident memory (VmHWM) after asking by `day` over
  no rows, the quarter's rows and the year's (the rollup emptied first, so these requests
  count every quarter hour again from the entries, the most the process ever does), and
  after the quarter by `15m` (the largest response, 13 MB): the database counts and the
  response is streamed, so it should not grow with the rows. `first_count_s` are those
  first requests' times.
- `call_log`: `GET /api/calls`' first page (50 calls), a filtered one, and the next page.

The rows are made by SQL `generate_series` in the database `hotline_bench_sl_report`, once:
a later run finds them and reuses them (`--fresh` makes them again); `--drop` drops the
database at the end. Every run empties the service-level rollup (`sl_rollup`, its marks)
and vacuums it, so each run starts alike. `load_avg` is the machine's load when the run
began and ended (the timings are upper bounds on a busy machine).

Usage: `python bench/sl_report.py [--calls 1000000] [--year-calls 4000000] [--runs 5]
[--fresh] [--drop]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

from crm.migrate import upgrade

PG_SERVER = os.environ.get("HOTLINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = "hotline_bench_sl_report"
ZONE = "Europe/Moscow"
QUARTER = ("2026-07-01T00:00:00+03:00", "2026-10-01T00:00:00+03:00")
EMPTY_QUARTER = ("2026-04-01T00:00:00+03:00", "2026-07-01T00:00:00+03:00")
YEAR = ("2025-01-01T00:00:00+03:00", "2026-01-01T00:00:00+03:00")

# One row per call in `gen`, then the calls and their queue entries from it. Waits are
# skewed short; HoldTime is the difference of truncated clock seconds, as in app_queue.
GENERATE = """
CREATE UNLOGGED TABLE gen AS
SELECT g + $4::bigint AS id,
       $1::timestamptz + (g - 1) * ($2::timestamptz - $1::timestamptz) / $3::int
         + random() * interval '1 second' AS joined,
       random() AS r_outcome, random() * random() * 150 AS wait_answered,
       random() * 90 AS wait_abandoned, random() AS r_queue, g
FROM generate_series(1, $3::int) AS g;
ALTER TABLE gen ADD COLUMN outcome text, ADD COLUMN wait double precision;
UPDATE gen SET outcome = CASE WHEN r_outcome < 0.86 THEN 'answered'
                              WHEN r_outcome < 0.998 THEN 'abandoned' ELSE 'waiting' END;
UPDATE gen SET wait = CASE outcome WHEN 'answered' THEN wait_answered
                                   WHEN 'abandoned' THEN wait_abandoned END;
INSERT INTO calls (id, linkedid, caller_number, caller_name, started_at, queue, queued_at,
                   answered_at, ended_at, wait_s, agent, outcome, transfer_count, talk_s,
                   hung_up_by, announced_uin, solved, score)
SELECT id, 'bench.' || id, '+7900' || lpad((g % 10000000)::text, 7, '0'), 'Caller ' || g,
       joined - interval '25 seconds',
       CASE WHEN r_queue < 0.8 THEN 'hotline' ELSE 'support' END, joined,
       CASE WHEN outcome = 'answered' THEN joined + wait * interval '1 second' END,
       joined + (wait + 200) * interval '1 second', wait,
       CASE WHEN outcome = 'answered' THEN 'agent' || (g % 40) END,
       CASE outcome WHEN 'waiting' THEN 'in_progress' ELSE outcome END,
       CASE WHEN g % 20 = 0 THEN 1 ELSE 0 END,
       CASE WHEN outcome = 'answered' THEN 200 END, 'caller', lpad(id::text, 8, '0'),
       CASE WHEN g % 3 = 0 THEN g % 2 = 0 END, CASE WHEN g % 3 = 0 THEN 1 + g % 5 END
FROM gen;
INSERT INTO queue_entries (id, call_id, entry, queue, position, joined_at, answered_at,
                           left_at, wait_s, wait_whole_s, agent, outcome)
SELECT id, id, 1, CASE WHEN r_queue < 0.8 THEN 'hotline' ELSE 'support' END, 1 + g % 5,
       joined, CASE WHEN outcome = 'answered' THEN joined + wait * interval '1 second' END,
       CASE WHEN outcome = 'abandoned' THEN joined + wait * interval '1 second' END, wait,
       (floor(extract(epoch FROM joined) + wait) - floor(extract(epoch FROM joined)))::int,
       CASE WHEN outcome = 'answered' THEN 'agent' || (g % 40) END, outcome
FROM gen;
DROP TABLE gen;
"""

BARE_GROUP_BY = {
    "15m": "date_bin('15 minutes', joined_at AT TIME ZONE '{zone}', timestamp '2000-01-01')",
    "day": "date_trunc('day', joined_at AT TIME ZONE '{zone}')",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def url_of(database: str, driver: str = "postgresql") -> str:
    return PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", f"{driver}://", 1) + f"/{database}"


async def prepare(calls: int, year_calls: int, fresh: bool) -> dict[str, float]:
    """The database with its rows (made only when missing or `fresh`): seconds spent."""
    admin = await asyncpg.connect(PG_SERVER)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if exists and fresh:
            await admin.execute(f'DROP DATABASE "{DATABASE}" WITH (FORCE)')
            exists = False
        if not exists:
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    made: dict[str, float] = {}
    await asyncio.to_thread(upgrade, url_of(DATABASE, "postgresql+asyncpg"))
    conn = await asyncpg.connect(url_of(DATABASE))
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_made (name text PRIMARY KEY, n int)")
        have = dict(await conn.fetch("SELECT name, n FROM bench_made"))
        for name, count, (start, end), base in (
            ("quarter", calls, QUARTER, 0),
            ("year", year_calls, YEAR, 100_000_000),
        ):
            if have.get(name) == count or count == 0:
                continue
            if name in have:
                raise SystemExit(f"{DATABASE} holds another {name} ({have[name]}): use --fresh")
            started = time.perf_counter()
            async with conn.transaction():
                for statement in filter(str.strip, GENERATE.split(";")):
                    args = [start, end, count, base]
                    needed = [a for i, a in enumerate(args, 1) if f"${i}" in statement]
                    await conn.execute(statement, *_typed(needed))
                await conn.execute("INSERT INTO bench_made VALUES ($1, $2)", name, count)
            made[f"generated_{name}_s"] = round(time.perf_counter() - started, 1)
        # The rollup is derived data: emptied, every report counts its quarter hours again.
        await conn.execute("TRUNCATE sl_rollup, sl_rollup_done, sl_dirty")
        for table in ("sl_rollup", "sl_rollup_done", "sl_dirty"):
            await conn.execute(f"VACUUM ANALYZE {table}")
        if made:
            await conn.execute("SELECT setval('calls_id_seq', (SELECT max(id) FROM calls))")
            await conn.execute(
                "SELECT setval('queue_entries_id_seq', (SELECT max(id) FROM queue_entries))"
            )
            started = time.perf_counter()
            await conn.execute("VACUUM ANALYZE calls")
            await conn.execute("VACUUM ANALYZE queue_entries")
            made["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
    finally:
        await conn.close()
    return made


def _typed(values: list) -> list:
    from datetime import datetime

    return [datetime.fromisoformat(v) if isinstance(v, str) else v for v in values]


def memory_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


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


async def timed_get(http: httpx.AsyncClient, path: str, params: dict) -> tuple[float, dict]:
    started = time.perf_counter()
    reply = await http.get(path, params=params)
    elapsed = time.perf_counter() - started
    reply.raise_for_status()
    return elapsed, reply.json()


async def bare_group_by(conn: asyncpg.Connection, interval: str, span: tuple[str, str]) -> float:
    bucket = BARE_GROUP_BY[interval].format(zone=ZONE)
    start, end = _typed(list(span))
    started = time.perf_counter()
    await conn.fetch(
        f"SELECT {bucket}, queue, count(*) FROM queue_entries"
        " WHERE joined_at >= $1 AND joined_at < $2 GROUP BY 1, 2",
        start,
        end,
    )
    return time.perf_counter() - started


async def compare(
    http: httpx.AsyncClient,
    conn: asyncpg.Connection,
    interval: str,
    span: tuple[str, str],
    runs: int,
) -> dict:
    params = {"from": span[0], "to": span[1], "interval": interval}
    await timed_get(http, "/api/metrics/service-level", params)  # warm-up (plans, caches)
    await bare_group_by(conn, interval, span)
    api_s, sql_s = [], []
    body: dict = {}
    for _ in range(runs):
        elapsed, body = await timed_get(http, "/api/metrics/service-level", params)
        api_s.append(elapsed)
        sql_s.append(await bare_group_by(conn, interval, span))
    api, bare = statistics.median(api_s), statistics.median(sql_s)
    return {
        "rows": body["total"]["all"]["offered"],
        "intervals": len(body["series"]),
        "api_s": round(api, 3),
        "api_best_s": round(min(api_s), 3),
        "bare_group_by_s": round(bare, 3),
        "ratio": round(api / bare, 2),
        "sl_pct": body["total"]["all"]["sl"],
        "perf": body["total"]["all"]["perf"],
    }


async def memory_by_rows(
    http: httpx.AsyncClient, pid: int, year: bool
) -> tuple[dict[str, int], dict[str, float]]:
    """Peak resident memory (VmHWM, kB) of the API process after asking by `day` over 0,
    1M and 4M rows (their quarter hours never counted before), and those requests' times."""
    peaks = {"before": memory_kb(pid)["VmHWM"]}
    times = {}
    spans = [("no_rows", EMPTY_QUARTER), ("quarter_rows", QUARTER)]
    if year:
        spans.append(("year_rows", YEAR))
    for name, (start, end) in spans:
        elapsed, _ = await timed_get(
            http, "/api/metrics/service-level", {"from": start, "to": end, "interval": "day"}
        )
        peaks[f"peak_after_{name}"] = memory_kb(pid)["VmHWM"]
        times[name] = round(elapsed, 3)
    return peaks, times


async def call_log(http: httpx.AsyncClient, runs: int) -> dict[str, float]:
    """The call log's first page (50 calls, newest first), a filtered one, the next page."""
    first = []
    for _ in range(runs + 1):
        elapsed, body = await timed_get(http, "/api/calls", {"limit": 50})
        first.append(elapsed)
    filtered = []
    for _ in range(runs + 1):
        elapsed, _ = await timed_get(
            http,
            "/api/calls",
            {"from": QUARTER[0], "to": QUARTER[1], "queue": "support", "outcome": "abandoned"},
        )
        filtered.append(elapsed)
    elapsed_next, _ = await timed_get(
        http, "/api/calls", {"limit": 50, "cursor": body["next_cursor"]}
    )
    return {
        "first_page_ms": round(statistics.median(first[1:]) * 1000, 1),
        "filtered_page_ms": round(statistics.median(filtered[1:]) * 1000, 1),
        "next_page_ms": round(elapsed_next * 1000, 1),
        "calls_on_page": len(body["calls"]),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--year-calls", type=int, default=4_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="make the rows again")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args()

    made = await prepare(args.calls, args.year_calls, args.fresh)
    token = secrets.token_urlsafe(24)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": url_of(DATABASE, "postgresql+asyncpg"),
        "HOTLINE_API_TOKENS": f"supervisor:{token}",
        "HOTLINE_TIMEZONE": ZONE,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline.cli",
        "crm",
        "--port",
        str(port),
        "--no-upgrade-db",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    result: dict = {"database": DATABASE, "load_avg": [os.getloadavg()[0]], **made}
    conn = await asyncpg.connect(url_of(DATABASE))
    try:
        await wait_up(base, proc)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as http:
            # first: VmHWM is the peak since the process started
            memory, result["first_count_s"] = await memory_by_rows(
                http, proc.pid, args.year_calls > 0
            )
            result["memory_kb"] = memory
            result["quarter_15m"] = await compare(http, conn, "15m", QUARTER, args.runs)
            memory["peak_after_quarter_15m"] = memory_kb(proc.pid)["VmHWM"]
            if args.year_calls:
                runs = max(args.runs // 2, 1)
                result["year_day"] = await compare(http, conn, "day", YEAR, runs)
            result["call_log"] = await call_log(http, args.runs)
            memory["rss_end"] = memory_kb(proc.pid)["VmRSS"]
    finally:
        await conn.close()
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)
        if args.drop:
            admin = await asyncpg.connect(PG_SERVER)
            await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            await admin.close()
    result["load_avg"].append(os.getloadavg()[0])
    memory = result["memory_kb"]
    most_rows = memory.get("peak_after_year_rows", memory["peak_after_quarter_rows"])
    memory["growth_by_rows"] = most_rows - memory["peak_after_no_rows"]
    # 1M -> 4M rows: the first rows also pay once for the code that handles them (the
    # rollup's first reads and writes), so growth with the rows shows from 1M on.
    memory["growth_1m_to_4m_rows"] = most_rows - memory["peak_after_quarter_rows"]
    result["targets"] = {
        "quarter_15m_api_le_1s": result["quarter_15m"]["api_s"] <= 1.0,
        "quarter_15m_within_3x": result["quarter_15m"]["ratio"] <= 3.0,
        "call_log_first_page_le_100ms": result["call_log"]["first_page_ms"] <= 100,
        "memory_1m_to_4m_rows_le_5mb": memory["growth_1m_to_4m_rows"] <= 5_120,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
