"""Benchmark AMI ingest: our parser + normaliser against panoramisk's parsing; one JSON object.

The input is the event mix of the recorded transcripts (`tests/fixtures/asterisk/0*.txt`,
bytes as received), fed in 64 KiB reads, repeated until each measurement has run for
about `--seconds` in short rounds taken in turn; each figure is its best round.

- events_per_s: `AmiParser` + `CallTracker` (facts and agent state), frames per second;
- parse_all_events_per_s: our parser alone with every frame's headers parsed (no laziness);
- panoramisk_events_per_s: panoramisk 1.4's own data path (`AMIProtocol.data_received`,
  which builds a `Message` per frame and dispatches events) on the same bytes;
- ratio: events_per_s / panoramisk_events_per_s;
- with_redis_events_per_s: ours plus the product's Redis writes per read: the tracker's
  `LiveState` (agents, waiting callers, outcomes, counters, a change message) flushed in
  one pipeline, and the facts appended to a stream in one more (`FactBus.publish_many`),
  to the real Redis at 127.0.0.1:6379 db 15 under `bench-ingest:`, cleaned after; null
  if that Redis is not reachable.

Usage: `python bench/ingest.py [--seconds 4] [--redis redis://127.0.0.1:6379/15]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "queue")]  # this checkout's code, not an install

from panoramisk.ami_protocol import AMIProtocol  # noqa: E402

from callqueue.agents import AgentBoard  # noqa: E402
from callqueue.live import LiveState  # noqa: E402
from callqueue.tracker import CallTracker  # noqa: E402
from core.ami.parser import AmiParser  # noqa: E402
from core.bus import FactBus  # noqa: E402
from core.facts import CallFact  # noqa: E402
from core.keys import RedisKeys  # noqa: E402

TRANSCRIPTS = ROOT / "tests" / "fixtures" / "asterisk"
READ_BYTES = 64 * 1024
KEYS = RedisKeys("bench-ingest")


def load_sessions() -> list[list[bytes]]:
    paths = sorted(
        p for p in TRANSCRIPTS.glob("0*.txt") if not p.name.endswith((".sent.txt", ".wire.txt"))
    )
    if not paths:
        raise SystemExit(f"no transcripts in {TRANSCRIPTS}")
    sessions = []
    for path in paths:
        data = path.read_bytes()
        sessions.append([data[i : i + READ_BYTES] for i in range(0, len(data), READ_BYTES)])
    return sessions


def best_rates(
    runs: dict[str, Callable[[], int]], seconds: float, rounds: int = 10
) -> dict[str, float]:
    """Events per second of each run, best of `rounds` short rounds taken in turn, so
    that another process stealing the CPU for a while hurts every run alike."""
    best = dict.fromkeys(runs, 0.0)
    for _ in range(rounds):
        for name, run_once in runs.items():
            events = 0
            started = time.perf_counter()
            while True:
                events += run_once()
                elapsed = time.perf_counter() - started
                if elapsed >= seconds / rounds:
                    break
            best[name] = max(best[name], events / elapsed)
    return best


def ours(sessions: list[list[bytes]]) -> int:
    tracker = CallTracker()
    events = 0
    for reads in sessions:
        parser = AmiParser(wanted=tracker.wanted_events)
        for data in reads:
            for message in parser.feed(data):
                tracker.handle(message)
        events += parser.stats.frames
    return events


def ours_parse_all(sessions: list[list[bytes]]) -> int:
    events = 0
    for reads in sessions:
        parser = AmiParser()
        for data in reads:
            for message in parser.feed(data):
                _ = message.headers
                events += 1
    return events


class _Factory:
    """What AMIProtocol expects of its Manager: a `dispatch` for events."""

    save_stream = None

    def __init__(self) -> None:
        self.events = 0

    def dispatch(self, message: object) -> None:
        self.events += 1


class _Transport(asyncio.Transport):
    def write(self, data: bytes) -> None:  # pragma: no cover - nothing is sent
        pass


def panoramisk(sessions: list[list[bytes]]) -> int:
    messages = 0
    for reads in sessions:
        protocol = AMIProtocol()
        protocol.connection_made(_Transport())
        protocol.factory = factory = _Factory()
        protocol.encoding = "utf-8"
        responses = 0
        original = protocol.handle_message

        def count(message: object, original: Callable = original) -> None:
            nonlocal responses
            if "event" not in message:  # type: ignore[operator]
                responses += 1
            original(message)

        protocol.handle_message = count  # type: ignore[method-assign]
        for data in reads:
            protocol.data_received(data)
        messages += factory.events + responses
    return messages


async def ours_with_redis(sessions: list[list[bytes]], redis: object) -> int:
    """The product's path: tracker, `LiveState` flushed in one pipeline per read, facts
    onto a stream as `FactOutbox` sends them (`FactBus.publish_many`)."""
    live = LiveState(redis, KEYS)  # type: ignore[arg-type]
    tracker = CallTracker(AgentBoard(live))
    live.attach(tracker)
    bus = FactBus(redis, KEYS, maxlen=100_000)  # type: ignore[arg-type]
    events = 0
    now = time.time()
    for reads in sessions:
        parser = AmiParser(wanted=tracker.wanted_events)
        for data in reads:
            facts: list[CallFact] = []
            for message in parser.feed(data):
                facts += tracker.handle(message)
            live.collect(facts)
            await live.flush(now)
            if facts:
                await bus.publish_many(facts)
        events += parser.stats.frames
    return events


async def redis_rate(sessions: list[list[bytes]], url: str, seconds: float) -> float | None:
    from redis.asyncio import Redis

    redis = Redis.from_url(url, socket_timeout=5)
    try:
        await redis.ping()
    except OSError:
        return None
    try:
        best = 0.0
        for _ in range(5):
            events = 0
            started = time.perf_counter()
            while time.perf_counter() - started < seconds / 5:
                events += await ours_with_redis(sessions, redis)
            best = max(best, events / (time.perf_counter() - started))
        return best
    finally:
        keys = [key async for key in redis.scan_iter(f"{KEYS.root}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    sessions = load_sessions()
    assert ours(sessions) == panoramisk(sessions), "both must see the same frames"
    rates = best_rates(
        {
            "ours": lambda: ours(sessions),
            "parse_all": lambda: ours_parse_all(sessions),
            "panoramisk": lambda: panoramisk(sessions),
        },
        args.seconds,
    )
    ours_rate, parse_all_rate, panoramisk_rate = (
        rates["ours"],
        rates["parse_all"],
        rates["panoramisk"],
    )
    with_redis = asyncio.run(redis_rate(sessions, args.redis, args.seconds))
    print(
        json.dumps(
            {
                "events_per_s": round(ours_rate),
                "panoramisk_events_per_s": round(panoramisk_rate),
                "ratio": round(ours_rate / panoramisk_rate, 2),
                "with_redis_events_per_s": round(with_redis) if with_redis is not None else None,
                "parse_all_events_per_s": round(parse_all_rate),
                "frames_per_pass": ours(sessions),
            }
        )
    )


if __name__ == "__main__":
    main()
