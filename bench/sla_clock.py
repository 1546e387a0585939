"""Benchmark: SLA clocks of thousands of tickets from their events; prints one JSON object."""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from crm.sla import (
    BusinessCalendar,
    Created,
    PriorityChanged,
    Resolved,
    Resumed,
    Suspended,
    SuspendReason,
    sla_clock,
)


def make_tickets(count: int, seed: int = 7) -> list[list]:
    rng = random.Random(seed)
    msk = ZoneInfo("Europe/Moscow")
    origin = datetime(2026, 1, 1, tzinfo=msk)
    tickets = []
    for _ in range(count):
        at = origin + timedelta(seconds=rng.randrange(0, 365 * 86400))
        priority = rng.choice([1, 2, 3, 4])
        events: list = [Created(at, "INC", priority)]
        for _ in range(rng.randrange(0, 4)):
            at += timedelta(seconds=rng.randrange(600, 3 * 86400))
            events.append(Suspended(at, SuspendReason.more_information))
            at += timedelta(seconds=rng.randrange(600, 3 * 86400))
            events.append(Resumed(at))
        if priority > 1 and rng.random() < 0.3:
            at += timedelta(seconds=rng.randrange(600, 86400))
            events.append(PriorityChanged(at, priority, priority - 1))
        if rng.random() < 0.5:
            at += timedelta(seconds=rng.randrange(600, 5 * 86400))
            events.append(Resolved(at))
        tickets.append(events)
    return tickets


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    tickets = make_tickets(count)
    now = datetime(2027, 1, 20, 12, tzinfo=ZoneInfo("Europe/Moscow"))
    calendar = BusinessCalendar()
    started = time.perf_counter()
    for events in tickets:
        sla_clock(events, calendar, now)
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    for events in tickets:
        sla_clock(events, calendar, now)
    warm_s = time.perf_counter() - started
    print(
        json.dumps(
            {
                "tickets": count,
                "events": sum(len(e) for e in tickets),
                "cold_cache_s": round(cold_s, 3),
                "warm_cache_s": round(warm_s, 3),
                "warm_us_per_ticket": round(warm_s / count * 1e6, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
