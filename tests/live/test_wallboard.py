"""The supervisor wallboard's figures (`GET /api/wallboard`) and its event stream."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from asgi_lifespan import LifespanManager

from asterisksim import SimConfig, SimulatedAsterisk
from core.context.store import CallContextStore
from core.service_level import EntryOutcome, service_level
from core.settings import ApiSettings, DatabaseSettings, Settings
from crm.supervisor.feed import WallboardFeed
from crm.supervisor.live import LiveRead, queue_figures, read_live
from crm.supervisor.tally import TodayTally
from crm.supervisor.wallboard import answered_today, next_change_at
from hotline.bootstrap import create_app
from hotline.serve import serving
from tests.conftest import REDIS_TEST_URL, TEST_KEYS, TOKENS, auth, redis_settings
from tests.live.conftest import running_tracker
from tests.live.test_live_state import settle
from tests.test_shutdown import _free_port

pytestmark = pytest.mark.redis
MOSCOW = ZoneInfo("Europe/Moscow")
NOON = datetime(2026, 12, 7, 12, 0, tzinfo=MOSCOW).timestamp()


def outcome(at: float, wait_s: float, answered: bool = True, agent: str = "agent1", q="hotline"):
    return {
        "linkedid": f"{at}",
        "entry": 1,
        "queue": q,
        "outcome": "answered" if answered else "abandoned",
        "wait_s": wait_s,
        "wait_whole_s": int(wait_s),
        "agent": agent if answered else "",
        "at": at,
    }


def waiting(joined_at: float, now: float, q="hotline") -> dict:
    return {
        "linkedid": f"w{joined_at}",
        "entry": 1,
        "caller_num": "79000000009",
        "caller_name": "",
        "joined_at": joined_at,
        "position": 1,
        "wait_s": round(now - joined_at, 3),
    }


# -- the figures, from a reading made by hand -------------------------------------------

DONE = [
    outcome(NOON - 5 * 3600, 60.0, agent="agent2"),  # this morning, answered late
    outcome(NOON - 50 * 60, 10.0),  # within the hour
    outcome(NOON - 40 * 60, 20.0, answered=False),  # abandoned after S: counts against
    outcome(NOON - 10 * 60, 45.0),  # within 15 min, answered late
    outcome(NOON - 5 * 60, 3.0, answered=False),  # a short abandon: counts neither way
    outcome(NOON - 60, 39.9, agent="agent2"),
    outcome(NOON - 13 * 3600, 5.0),  # yesterday (23:00): not today
]


def test_each_window_counts_the_outcomes_in_it() -> None:
    live = LiveRead(NOON, {"hotline": []}, DONE, None)
    (hotline,) = queue_figures(live, MOSCOW, 40, 5)["queues"]
    figures = hotline["service_level"]
    # today: 4 answered (2 within), 2 abandoned (1 short): 2 / (4 + 2 - 1)
    assert (figures["today"]["answered"], figures["today"]["abandoned"]) == (4, 2)
    assert figures["today"]["sl"] == 40.0
    assert figures["today"]["asa_s"] == round((60 + 10 + 45 + 39.9) / 4, 3)
    # last 60 min: 10 s, 45 s, 39.9 s answered; 20 s and 3 s abandoned: 2 / (3 + 2 - 1)
    assert figures["last_60m"]["sl"] == 50.0
    # last 15 min: 45 s, 39.9 s answered, the 3 s abandon is short: 1 / 2
    assert (figures["last_15m"]["answered"], figures["last_15m"]["sl"]) == (2, 50.0)
    # the same maths as the history's, over the same entries
    today = [r for r in DONE if r["at"] >= NOON - 12 * 3600]
    reference = service_level(
        [EntryOutcome(r["queue"], r["outcome"], r["wait_s"], r["wait_whole_s"]) for r in today]
    )["hotline"]
    assert {k: reference[k] for k in figures["today"]} == figures["today"]


def test_answered_today_per_agent_adds_up_to_the_queues() -> None:
    live = LiveRead(NOON, {"hotline": []}, DONE, None)
    counts = answered_today(live, MOSCOW)
    assert counts == {"agent1": 2, "agent2": 2}
    today = queue_figures(live, MOSCOW)["all"]["service_level"]["today"]
    assert sum(counts.values()) == today["answered"]


def test_the_next_change_is_the_earliest_one_the_clock_makes() -> None:
    now = NOON
    # a caller who passes T in 25 s; the outcome 50 min ago leaves the hour in 10 min
    live = LiveRead(now, {"hotline": [waiting(now - 15, now)]}, DONE, None)
    assert next_change_at(live, MOSCOW, 40) == pytest.approx(now + 25)
    live = LiveRead(now, {"hotline": []}, DONE, None)
    # the outcome 1 min ago leaves the 15 minutes in 14 min; the one 10 min ago in 5
    assert next_change_at(live, MOSCOW, 40) == pytest.approx(now + 5 * 60)
    quiet = LiveRead(now, {"hotline": []}, [], None)
    midnight = datetime(2026, 12, 8, 0, 0, tzinfo=MOSCOW).timestamp()
    assert next_change_at(quiet, MOSCOW, 40) == midnight


async def test_readings_are_shared_by_streams_that_ask_together() -> None:
    reads = []

    async def read(now: float) -> dict:
        reads.append(now)
        await asyncio.sleep(0.05)
        return {"n": len(reads)}

    feed = WallboardFeed(read)
    seen = time.monotonic()
    boards = await asyncio.gather(*(feed.board(seen) for _ in range(5)))
    assert len(reads) == 1 and all(b == {"n": 1} for b in boards)
    assert await feed.board() == {"n": 2}, "a board asked for later is read again"


# -- through the API, on the simulator --------------------------------------------------


@pytest.fixture
def board_settings(sqlite_url: str) -> Settings:
    """The wallboard reads Redis only: SQLite is enough for the app."""
    return Settings(
        db=DatabaseSettings(url=sqlite_url),
        redis=redis_settings(REDIS_TEST_URL),
        api=ApiSettings(tokens=",".join(f"{r}:{t}" for r, t in TOKENS.items())),
    )


@pytest.fixture
async def board_client(board_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(board_settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as http:
            yield http


async def test_the_wallboard_needs_a_supervisor(board_client) -> None:
    for path in ("/api/wallboard", "/api/stream/wallboard"):
        assert (await board_client.get(path)).status_code == 401
        assert (await board_client.get(path, headers=auth("agent"))).status_code == 403
        assert (await board_client.get(path, headers=auth("service"))).status_code == 403


async def test_the_board_shows_callers_agents_and_pauses(board_client, redis) -> None:
    async with SimulatedAsterisk(SimConfig(timestampevents=True, start_s=time.time())) as pbx:
        async with running_tracker(pbx, redis) as service:
            pbx.add_agent("agent1", "hotline", answer_delay_s=2, talk_s=600)
            pbx.add_agent("agent2", "hotline", answer_delay_s=2, talk_s=600)
            pbx.pause_agent("agent2", True, "обед")
            pbx.place_call("79000000001", "Alice", patience_s=600)
            pbx.place_call("79000000002", "Bob", patience_s=600)
            pbx.place_call("79000000003", "Carol", patience_s=6)
            await pbx.run_for(8)
            await settle(service)
            alice = next(
                c.linkedid for c in service.tracker.calls.values() if c.caller_name == "Alice"
            )
            await CallContextStore(redis, TEST_KEYS).update(alice, uin="00000208")
            board = (await board_client.get("/api/wallboard", headers=auth("supervisor"))).json()
            queues = (await board_client.get("/api/queues/live", headers=auth("supervisor"))).json()

    (hotline,) = board["queues"]
    assert [w["caller_name"] for w in hotline["waiting"]] == ["Bob"]
    for window in ("today", "last_15m", "last_60m"):
        figures = hotline["service_level"][window]
        assert (figures["answered"], figures["abandoned"], figures["sl"]) == (1, 1, 50.0)
        # the live API's reading of the same keys gives the same figures
        assert figures == queues["queues"][0]["service_level"][window]
    assert hotline["alerts"] == {
        "sl_below_goal": ["today", "last_15m", "last_60m"],
        "long_wait": False,
    }
    assert board["goal_pct"] == 96.0 and board["threshold_s"] == 40
    agents = {a["name"]: a for a in board["agents"]}
    talking = agents["agent1"]
    assert talking["status"] == "talking"
    assert (talking["caller_num"], talking["caller_name"]) == ("79000000001", "Alice")
    assert talking["uin"] == "00000208"
    assert talking["answered_today"] == 1
    assert talking["since"] > 0 and talking["status_s"] is not None
    paused = agents["agent2"]
    assert (paused["status"], paused["paused_reason"]) == ("paused", "обед")
    assert paused["paused_since"] == pytest.approx(board["at"], abs=30)
    assert paused["caller_num"] == "" and paused["answered_today"] == 0
    assert board["tracker_alive"] is True


async def _stream_boards(
    http: httpx.AsyncClient, boards: list[tuple[float, dict]], opened: asyncio.Event
) -> None:
    async with http.stream("GET", "/api/stream/wallboard", headers=auth("supervisor")) as reply:
        assert reply.status_code == 200
        event = ""
        async for line in reply.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "board":
                boards.append((time.monotonic(), json.loads(line[6:])))
                opened.set()


async def test_a_caller_who_joins_is_on_the_stream_within_a_second(board_settings, redis) -> None:
    """Wall-clock simulator, the app served over TCP: the time from the caller's
    `QueueCallerJoin` to the board that shows them."""
    port = _free_port()
    app = create_app(board_settings)
    boards: list[tuple[float, dict]] = []
    opened = asyncio.Event()
    async with SimulatedAsterisk(SimConfig(timestampevents=True), accelerated=False) as pbx:
        async with running_tracker(pbx, redis) as service:
            pbx.add_agent("agent1", "hotline", answer_delay_s=30, talk_s=600)
            pbx.pause_agent("agent1", True, "break")
            await settle(service)
            async with (
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
                serving(app, "127.0.0.1", port),
            ):
                reader = asyncio.create_task(_stream_boards(http, boards, opened))
                await asyncio.wait_for(opened.wait(), 5)
                assert boards[0][1]["all"]["waiting_count"] == 0
                joined = time.monotonic()
                pbx.place_call("79000000001", "Alice", patience_s=600)
                for _ in range(200):
                    if any(b["all"]["waiting_count"] == 1 for _, b in boards):
                        break
                    await asyncio.sleep(0.01)
                reader.cancel()
    shown = next(at for at, b in boards if b["all"]["waiting_count"] == 1)
    print(f"join to board: {shown - joined:.3f} s")
    assert shown - joined < 1.0, f"shown {shown - joined:.3f} s after the join"
    (hotline,) = next(b for _, b in boards if b["all"]["waiting_count"] == 1)["queues"]
    assert hotline["waiting"][0]["caller_name"] == "Alice"


# -- the tally: today's figures kept, always equal to a count from scratch ---------------


async def _zadd(redis, row: dict) -> None:
    member = json.dumps(row, sort_keys=True)
    await redis.zadd(f"{TEST_KEYS.live}queue:{row['queue']}:done", {member: row["at"]})
    await redis.sadd(TEST_KEYS.live + "queues", row["queue"])


async def _check(redis, tally, now: float) -> LiveRead:
    kept = await tally.read(redis, TEST_KEYS, now, MOSCOW)
    counted = await read_live(redis, TEST_KEYS, now, MOSCOW)
    assert queue_figures(kept, MOSCOW) == queue_figures(counted, MOSCOW)
    assert kept.answered_today == answered_today(counted, MOSCOW)
    return kept


async def test_the_tally_equals_a_count_from_scratch(redis) -> None:
    """Random outcomes arrive between readings, some written late (over an hour after
    their moment), across midnight, and once the keys vanish (a dead tracker)."""
    rng = random.Random(7)
    tally = TodayTally(40, 5)
    now = datetime(2026, 12, 7, 22, 30, tzinfo=MOSCOW).timestamp()
    for step in range(60):
        now += rng.uniform(30, 240)  # ends past midnight
        for _ in range(rng.randrange(4)):
            late = rng.random() < 0.1
            at = now - (rng.uniform(3700, 7000) if late else rng.uniform(0, 5))
            row = outcome(at, rng.uniform(0, 90), rng.random() < 0.8, f"agent{rng.randrange(3)}")
            row["queue"] = rng.choice(["hotline", "support"])
            row["linkedid"] = f"{step}.{rng.random()}"
            await _zadd(redis, row)
        if step == 40:
            await redis.delete(TEST_KEYS.live + "queue:support:done")
        await _check(redis, tally, now)
    assert tally.recounts >= 3  # the first reading, late rows, midnight, the deletion


async def test_the_tally_reads_only_the_last_hour_once_caught_up(redis) -> None:
    tally = TodayTally(40, 5)
    moments = [NOON - 6 * 3600 + n * 60 for n in range(360)]  # one a minute since 06:00
    for at in moments:
        await _zadd(redis, outcome(at, 10.0))
    await _check(redis, tally, NOON)
    recounts = tally.recounts
    await _zadd(redis, outcome(NOON + 1, 50.0))
    kept = await _check(redis, tally, NOON + 2)
    assert tally.recounts == recounts, "one new outcome: added, not counted again"
    # the last hour's outcomes were read (59 and the new one), not the day's 361
    assert len(kept.done) == 1 + sum(at >= NOON + 2 - 3600 for at in moments) == 60
    assert kept.today["hotline"].answered == 361
