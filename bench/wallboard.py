"""Benchmark the wallboard's reading: one board of a busy day, and many open wallboards
after one change; prints one JSON object.

A day's live state is written into Redis the way the tracker writes it (`LiveState`):
`--outcomes` answered or abandoned queue entries spread over the last 24 hours in
`--queues` queues, `--waiting` callers waiting, `--agents` agents (half of them talking
to a caller). Measured, each the median of `--rounds`:

- baseline: the bare Redis round trip that fetches the rows (a pipeline of HVALS and
  ZRANGEBYSCORE over 25 hours per queue), nothing parsed;
- queues: `read_queues` (what `GET /api/queues/live` reads);
- board_counted: `read_wallboard` counting today from scratch (the same plus agents, their
  callers' contexts, calls answered today, alerts, the next moment of change);
- board: `read_wallboard` with the `TodayTally` the app keeps (`GET /api/wallboard`), in
  its steady state: one new outcome before each reading;
- metrics: `GET /metrics` in the same steady state: the board with the tally, the
  counters beside it (`read_snapshot`) and the text (`prometheus_text`); `metrics_bytes`
  its size;
- fan_out: `--streams` wallboards asking the shared `WallboardFeed` for a board after the
  same change at once: the readings made (1 when shared) and the time until all had one.

Redis is the in-process fakeredis unless `--redis-url` names a server (its database is
flushed). Usage: `python bench/wallboard.py [--outcomes 5000] [--streams 50]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "queue")]  # this checkout's code, not an install

from callqueue.agents import AgentState  # noqa: E402
from callqueue.live import LiveState  # noqa: E402
from core.context.store import CallContextStore  # noqa: E402
from core.facts import CallAbandoned, CallAnswered  # noqa: E402
from core.settings import Settings  # noqa: E402
from crm.supervisor.feed import WallboardFeed  # noqa: E402
from crm.supervisor.live import read_queues  # noqa: E402
from crm.supervisor.metrics import prometheus_text, read_snapshot  # noqa: E402
from crm.supervisor.tally import TodayTally  # noqa: E402
from crm.supervisor.wallboard import read_wallboard  # noqa: E402

KEYS = Settings().redis.keys  # HOTLINE_REDIS_PREFIX, `hotline` by default


async def fill(redis, args: argparse.Namespace, now: float) -> None:
    rng = random.Random(1)
    live = LiveState(redis, KEYS, ttl_s=3600)
    queues = [f"q{n}" for n in range(args.queues)]
    facts = []
    for n in range(args.outcomes):
        at = datetime.fromtimestamp(now - rng.uniform(0, 24 * 3600), UTC)
        queue, wait_s = rng.choice(queues), rng.expovariate(1 / 25)
        if rng.random() < 0.9:
            agent = f"agent{rng.randrange(args.agents)}"
            facts.append(
                CallAnswered(linkedid=f"1.{n}", queue=queue, agent=agent, wait_s=wait_s, at=at)
            )
        else:
            facts.append(
                CallAbandoned(linkedid=f"1.{n}", queue=queue, wait_s=wait_s, position=1,
                              original_position=1, at=at)
            )  # fmt: skip
    live.collect(facts)
    for n in range(args.agents):
        talking = n % 2 == 0
        live.agent_changed(
            AgentState(name=f"agent{n}", queues={queues[n % len(queues)]},
                       status="talking" if talking else "available",
                       linkedid=f"2.{n}" if talking else "", since=now - 60)
        )  # fmt: skip
    await live.flush(now)
    contexts = CallContextStore(redis, KEYS)
    for n in range(0, args.agents, 2):
        await contexts.update(f"2.{n}", uin=f"{n:08d}", caller_num=f"7900{n:07d}")
    pipe = redis.pipeline()
    for n in range(args.waiting):
        row = {"linkedid": f"3.{n}", "entry": 1, "caller_num": f"7911{n:07d}", "caller_name": "",
               "joined_at": now - rng.uniform(0, 90), "position": n + 1}  # fmt: skip
        pipe.hset(
            f"{KEYS.live}queue:{queues[n % len(queues)]}:waiting", f"3.{n}:1", json.dumps(row)
        )
    await pipe.execute()


async def median_ms(action, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await action()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


async def main(args: argparse.Namespace) -> dict:
    if args.redis_url:
        from redis.asyncio import Redis

        redis = Redis.from_url(args.redis_url)
        await redis.flushdb()
    else:
        from fakeredis import FakeAsyncRedis, FakeServer

        redis = FakeAsyncRedis(server=FakeServer())
    settings, tz = Settings(), ZoneInfo("Europe/Moscow")
    # 18:00 in Moscow: three quarters of the day's outcomes are today's
    now = datetime.now(tz).replace(hour=18, minute=0, second=0, microsecond=0).timestamp()
    await fill(redis, args, now)
    contexts = CallContextStore(redis, KEYS)
    board = await read_wallboard(redis, contexts, now, tz, settings)

    async def fetch() -> None:
        pipe = redis.pipeline(transaction=False)
        for n in range(args.queues):
            pipe.hvals(f"{KEYS.live}queue:q{n}:waiting")
            pipe.zrangebyscore(f"{KEYS.live}queue:q{n}:done", now - 25 * 3600, "+inf")
        await pipe.execute()

    baseline = await median_ms(fetch, args.rounds)
    queues = await median_ms(lambda: read_queues(redis, KEYS, now, tz), args.rounds)
    counted = await median_ms(
        lambda: read_wallboard(redis, contexts, now, tz, settings), args.rounds
    )
    tally = TodayTally(settings.sl.threshold_s, settings.sl.short_abandon_s)
    await read_wallboard(redis, contexts, now, tz, settings, tally)
    live = LiveState(redis, KEYS, ttl_s=3600)
    added = 0

    async def one_more() -> dict:
        nonlocal added
        added += 1
        at = datetime.fromtimestamp(now - 1, UTC)
        fact = CallAnswered(linkedid=f"4.{added}", queue="q0", agent="agent0", wait_s=9.0, at=at)
        live.collect([fact])
        await live.flush(now)
        return await read_wallboard(redis, contexts, now, tz, settings, tally)

    reading = await median_ms(one_more, args.rounds)

    async def scrape() -> bytes:
        return prometheus_text(await read_snapshot(redis, KEYS, await one_more()))

    metrics = await median_ms(scrape, args.rounds)
    metrics_bytes = len(await scrape())
    recounts = tally.recounts
    # the bench's fixed moment, not the clock: the warm tally
    feed = WallboardFeed(lambda _at: read_wallboard(redis, contexts, now, tz, settings, tally))
    seen = time.monotonic()
    started = time.perf_counter()
    await asyncio.gather(*(feed.board(seen) for _ in range(args.streams)))
    fan_out_ms = (time.perf_counter() - started) * 1000
    await redis.aclose()
    return {
        "outcomes": args.outcomes,
        "today_answered": board["all"]["service_level"]["today"]["answered"],
        "agents": len(board["agents"]),
        "waiting": board["all"]["waiting_count"],
        "redis": "server" if args.redis_url else "fakeredis",
        "baseline_fetch_ms": baseline,
        "queues_ms": queues,
        "board_counted_ms": counted,
        "metrics_ms": metrics,
        "metrics_bytes": metrics_bytes,
        "board_ms": reading,
        "tally_recounts": recounts,
        "board_vs_baseline": round(reading / baseline, 2),
        "fan_out": {"streams": args.streams, "readings": feed.reads, "ms": round(fan_out_ms, 2)},
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outcomes", type=int, default=5000)
    parser.add_argument("--queues", type=int, default=2)
    parser.add_argument("--agents", type=int, default=30)
    parser.add_argument("--waiting", type=int, default=20)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--redis-url", default="")
    return parser.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse()))))
