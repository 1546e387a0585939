"""Benchmark the recorder: call facts into SQL, one transaction per fact against one per
read; prints one JSON object.

The facts are those of `--calls` synthetic calls (started, ticketed, queued, ringing,
answered or abandoned, some transferred into a second queue, ended: about 7 a call), each
call with its ticket registered first as the AGI server would. Both ways record the same
facts from a Redis stream into a fresh, migrated database:

- per_fact: `Recorder.apply` for each fact in turn and one XACK per entry (the recorder's
  way before it batched);
- batched: `Recorder.process`, which applies the facts of each read (`--count` entries)
  in one transaction and acknowledges them with one XACK after the commit.

Figures: facts_per_s and ms_per_fact (wall) and cpu_ms_per_fact (this process, so with
SQLite the database's own work too) of each, and speedup = batched / per_fact facts per
second. Both are checked to record the same calls. Redis is the in-process fakeredis
(the demo's); the database SQLite in a temporary folder (in /dev/shm when there is one,
as the demo does) unless `--database-url` names another (it must be empty: it is
migrated, and its calls, tickets and facts are deleted between the runs).

Usage: `python bench/recorder.py [--calls 400] [--count 200] [--database-url URL]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "queue")]  # this checkout's code, not an install

from sqlalchemy import delete, func, select  # noqa: E402

from core.bus import FactBus  # noqa: E402
from core.facts import (  # noqa: E402
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallFact,
    CallQueued,
    CallRinging,
    CallStarted,
    CallTicketed,
    CallTransferred,
    load_fact,
)
from core.keys import RedisKeys  # noqa: E402
from crm.db import make_engine, make_sessionmaker  # noqa: E402
from crm.migrate import upgrade  # noqa: E402
from crm.models import Base, Call, QueueEntry  # noqa: E402
from crm.recorder import Recorder  # noqa: E402
from crm.schemas import TicketCreate  # noqa: E402
from crm.service import TicketService  # noqa: E402
from hotline.demo.stack import EmbeddedRedisServer  # noqa: E402

KEYS = RedisKeys("bench-recorder")
STREAM = KEYS.facts
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def call_facts(n: int, uin: str, rng: random.Random) -> list[CallFact]:
    """One call's facts in the tracker's order."""
    linkedid = f"1795310945.{n}"
    start = T0 + timedelta(seconds=7 * n)
    at = lambda s: start + timedelta(seconds=s)  # noqa: E731
    agent = f"Local/agent{n % 20}@agents"
    facts: list[CallFact] = [
        CallStarted(
            linkedid=linkedid,
            channel=f"PJSIP/trunk-{n:08x}",
            caller_num="79000000001",
            caller_name="Алиса",
            at=at(0),
        ),
        CallTicketed(linkedid=linkedid, uin=uin),
        CallQueued(linkedid=linkedid, queue="hotline", position=1, at=at(12)),
    ]
    wait_s = rng.uniform(0, 60)
    if rng.random() < 0.12:
        facts.append(
            CallAbandoned(
                linkedid=linkedid,
                queue="hotline",
                wait_s=wait_s,
                position=1,
                original_position=1,
                at=at(12 + wait_s),
            )
        )
        return [
            *facts,
            CallEnded(linkedid=linkedid, talk_s=0, hung_up_by="caller", at=at(13 + wait_s)),
        ]
    facts += [
        CallRinging(linkedid=linkedid, queue="hotline", agent=agent, at=at(11 + wait_s)),
        CallAnswered(
            linkedid=linkedid, queue="hotline", agent=agent, wait_s=wait_s, at=at(12 + wait_s)
        ),
    ]
    end_s = 12 + wait_s + 90
    if rng.random() < 0.15:
        facts += [
            CallTransferred(
                linkedid=linkedid, n=1, how="blind", from_agent=agent, to="support", at=at(end_s)
            ),
            CallQueued(linkedid=linkedid, queue="support", position=1, entry=2, at=at(end_s + 1)),
            CallAnswered(
                linkedid=linkedid,
                queue="support",
                agent="Local/agent99@agents",
                wait_s=5,
                entry=2,
                at=at(end_s + 6),
            ),
        ]
        end_s += 60
    return [*facts, CallEnded(linkedid=linkedid, talk_s=90, hung_up_by="agent", at=at(end_s))]


async def prepare(url: str, calls: int) -> list[CallFact]:
    """Empty the tables, register one ticket per call, return the calls' facts."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                if table.name not in ("alembic_version", "uin_counters"):
                    await conn.execute(delete(table))
        tickets = TicketService(make_sessionmaker(engine))
        rng = random.Random(1)
        facts: list[CallFact] = []
        for n in range(calls):
            ticket = await tickets.register_ticket(TicketCreate(category="ZnK", priority=3), "agi")
            facts += call_facts(n, ticket.uin, rng)
        return facts
    finally:
        await engine.dispose()


async def run(url: str, facts: list[CallFact], batched: bool, count: int) -> dict[str, Any]:
    redis = EmbeddedRedisServer().client()
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    recorder = Recorder(redis, KEYS, sessions, TicketService(sessions))
    try:
        await recorder.ensure_group()
        await FactBus(redis, KEYS, maxlen=len(facts) + 1).publish_many(facts)
        wall, cpu = time.perf_counter(), time.process_time()
        if batched:
            while await recorder.process(count=count):
                pass
        else:
            while reply := await redis.xreadgroup(
                recorder.group, recorder.consumer, {STREAM: ">"}, count=count
            ):
                for _stream, entries in reply:
                    for entry_id, fields in entries:
                        await recorder.apply(load_fact(fields[b"fact"]))
                        await redis.xack(STREAM, recorder.group, entry_id)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        async with engine.connect() as conn:
            recorded = (
                await conn.execute(
                    select(func.count(Call.id), func.count(Call.ticket_id), func.sum(Call.wait_s))
                )
            ).one()
            entries = (await conn.execute(select(func.count(QueueEntry.id)))).scalar_one()
        assert recorder.stats.applied == len(facts), recorder.stats
        return {
            "facts_per_s": round(len(facts) / wall),
            "ms_per_fact": round(1000 * wall / len(facts), 3),
            "cpu_ms_per_fact": round(1000 * cpu / len(facts), 3),
            "_check": [recorded[0], recorded[1], round(recorded[2] or 0, 3), entries],
        }
    finally:
        await engine.dispose()
        await redis.aclose()


async def bench(url: str, calls: int, count: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, batched in (("per_fact", False), ("batched", True)):
        facts = await prepare(url, calls)
        result[name] = await run(url, facts, batched, count)
    checks = {result[name].pop("_check").__repr__() for name in ("per_fact", "batched")}
    assert len(checks) == 1, f"the two ways recorded different calls: {checks}"
    return {
        "database": url.split(":", 1)[0],
        "calls": calls,
        "facts": len(facts),
        "count": count,
        **result,
        "speedup": round(result["batched"]["facts_per_s"] / result["per_fact"]["facts_per_s"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--count", type=int, default=200, help="entries per read")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    if args.calls < 1 or args.count < 1:
        parser.error("--calls and --count must be at least 1")
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        print(json.dumps(asyncio.run(bench(url, args.calls, args.count))))


if __name__ == "__main__":
    main()
