"""A tracker restarted (a new process) closes or continues the calls its predecessor had
open: it takes them back from Redis, and its resync finds each alive in Asterisk or gone.
A gone one is closed with what Asterisk's queue_log says of it when the tracker can read
it (here a queue_log written as app_queue writes it), else at the resync's time.

The real Asterisk writes the file itself: `tests/asterisk/test_outages.py`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from asterisksim import SimConfig, SimulatedAsterisk
from core.bus import FactBus
from core.facts import CallTicketed
from core.settings import AmiSettings
from tests.conftest import TEST_KEYS
from tests.live.conftest import running_tracker, tracker_settings

pytestmark = pytest.mark.redis


async def _facts_of(redis, linkedid: str) -> list:  # type: ignore[no-untyped-def]
    return [
        f
        for f in await FactBus(redis, TEST_KEYS).read_all(count=10_000)
        if getattr(f, "linkedid", None) == linkedid  # agent facts carry no call
    ]


def _with_queue_log(pbx, path: Path):  # type: ignore[no-untyped-def]
    settings = tracker_settings(pbx)
    ami = AmiSettings(**{**settings.ami.model_dump(), "queue_log": str(path)})
    return settings.model_copy(update={"ami": ami})


async def test_a_call_that_ended_while_the_tracker_was_away_is_closed_from_queue_log(
    pbx, redis, tmp_path: Path
) -> None:
    pbx.add_agent("agent1", "hotline", answer_delay_s=2, talk_s=30)
    call = pbx.place_call("79000000001", "Alice", patience_s=600)
    async with running_tracker(pbx, redis) as first:
        await pbx.run_for(5)
        await first.outbox.drained(5)
        linkedid = call.truth.linkedid
        (entry,) = first.tracker.calls[linkedid].entries
        assert entry.answered and entry.uniqueid
    assert await redis.hexists(TEST_KEYS.open_calls, linkedid), "kept for the next tracker"
    await pbx.run_for(60)  # the call ends with no tracker
    truth = call.truth
    assert truth.outcome == "answered" and truth.ended_at is not None
    visit = truth.visits[0]
    talk_s = int(truth.ended_at - visit.answered_at)
    queue_log = tmp_path / "queue_log"
    queue_log.write_text(
        f"{int(visit.joined_at)}|{entry.uniqueid}|hotline|NONE|ENTERQUEUE||79000000001|1\n"
        f"{int(visit.answered_at)}|{entry.uniqueid}|hotline|agent1|CONNECT|"
        f"{visit.hold_time_field}|1.99|2\n"
        f"{int(truth.ended_at)}|{entry.uniqueid}|hotline|agent1|COMPLETECALLER|"
        f"{visit.hold_time_field}|{talk_s}|1\n"
    )
    await pbx.run_for(30)  # the restart comes well after the end
    async with running_tracker(pbx, redis, settings=_with_queue_log(pbx, queue_log)) as second:
        await second.outbox.drained(5)
        assert linkedid not in second.tracker.calls
        assert second.tracker.closed_from_queue_log == 1
    facts = await _facts_of(redis, linkedid)
    (ended,) = [f for f in facts if f.kind == "ended"]
    (completed,) = [f for f in facts if f.kind == "completed"]
    assert ended.talk_s == completed.talk_s == talk_s
    assert ended.hung_up_by == "caller"
    assert ended.at.timestamp() == int(truth.ended_at), "when Asterisk logged it, not now"
    assert not await redis.hexists(TEST_KEYS.open_calls, linkedid)


async def test_without_queue_log_the_call_is_closed_at_the_resync(pbx, redis) -> None:
    pbx.add_agent("agent1", "hotline", answer_delay_s=2, talk_s=600)
    talking = pbx.place_call("79000000003", "Carol", patience_s=600)
    waiting = pbx.place_call("79000000002", "Bob", patience_s=20)
    async with running_tracker(pbx, redis) as first:
        await pbx.run_for(5)
        await first.outbox.drained(5)
        assert {waiting.truth.linkedid, talking.truth.linkedid} <= set(first.tracker.calls)
    await pbx.run_for(30)  # Bob gives up, Carol still talks
    async with running_tracker(pbx, redis) as second:
        await second.outbox.drained(5)
        assert talking.truth.linkedid in second.tracker.calls, "continued: still alive"
        assert waiting.truth.linkedid not in second.tracker.calls, "closed: gone"
    assert waiting.truth.outcome == "abandoned"
    kinds = [f.kind for f in await _facts_of(redis, waiting.truth.linkedid)]
    assert kinds.count("ended") == kinds.count("abandoned") == 1  # at the resync: an estimate
    assert await redis.hkeys(TEST_KEYS.open_calls) == [talking.truth.linkedid.encode()]


async def test_a_call_that_came_and_went_while_the_tracker_was_down_is_closed(
    redis, tmp_path: Path
) -> None:
    """Never seen by any tracker: the AGI told its ticket meanwhile (with its channel's
    Uniqueid), queue_log its stay; the restarted tracker tells the rest and closes it.
    The simulator on the wall clock: the stream's ids and queue_log's times are."""
    async with SimulatedAsterisk(SimConfig(timestampevents=True, start_s=time.time())) as pbx:
        await _came_and_went(pbx, redis, tmp_path)


async def _came_and_went(pbx: SimulatedAsterisk, redis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async with running_tracker(pbx, redis) as first:
        await first.outbox.drained(5)
    call = pbx.place_call("79000000004", "Dora", patience_s=6)  # no agent: gives up
    await pbx.run_for(30)
    truth = call.truth
    (visit,) = truth.visits
    assert truth.outcome == "abandoned" and visit.hold_time_field is not None
    uniqueid, linkedid = call.two.uniqueid, truth.linkedid
    await FactBus(redis, TEST_KEYS).publish(  # as the AGI route does
        CallTicketed(linkedid=linkedid, uin="00000042", ticket_id=42, uniqueid=uniqueid)
    )
    queue_log = tmp_path / "queue_log"
    queue_log.write_text(
        f"{int(visit.joined_at)}|{uniqueid}|hotline|NONE|ENTERQUEUE||79000000004|1\n"
        f"{int(visit.abandoned_at)}|{uniqueid}|hotline|NONE|ABANDON|1|1|"
        f"{visit.hold_time_field}\n"
    )
    async with running_tracker(pbx, redis, settings=_with_queue_log(pbx, queue_log)) as second:
        await second.outbox.drained(5)
        assert second.tracker.closed_from_queue_log == 1
        assert linkedid not in second.tracker.calls
    facts = await _facts_of(redis, linkedid)
    kinds = [f.kind for f in facts]
    assert kinds.count("queued") == kinds.count("abandoned") == kinds.count("ended") == 1
    (abandoned,) = [f for f in facts if f.kind == "abandoned"]
    assert abandoned.wait_whole_s == visit.hold_time_field
    assert abandoned.at.timestamp() == int(visit.abandoned_at)


async def test_calls_no_tracker_saw_and_no_agi_told_are_told_from_queue_log(
    redis, tmp_path: Path
) -> None:
    """Issue 14: a call that starts and ends while no tracker runs and never reaches the
    AGI (no `ticketed` fact) is in queue_log only. The restarted tracker tells it from
    there, keyed by its queue_log call id: the queue entry, app_queue's wait and the
    outcome. A call the first tracker saw whole (its facts on the stream) and the one
    the AGI told are not told again."""
    async with SimulatedAsterisk(SimConfig(timestampevents=True, start_s=time.time())) as pbx:
        queue_log = tmp_path / "queue_log"
        pbx.write_queue_log(queue_log)  # appended line by line, as app_queue does
        pbx.add_agent("agent1", "hotline", answer_delay_s=2, talk_s=5)
        seen = pbx.place_call("79000000010", "Seen", patience_s=600, use_agi=False)
        async with running_tracker(pbx, redis) as first:
            await pbx.run_for(20)
            await first.outbox.drained(5)
            assert seen.truth.outcome == "answered" and seen.truth.ended_at is not None
        answered = pbx.place_call("79000000011", "Unseen", patience_s=600, use_agi=False)
        await pbx.run_for(1)
        gave_up = pbx.place_call("79000000012", "Gave up", patience_s=4, use_agi=False)
        await pbx.run_for(30)
        assert answered.truth.outcome == "answered" and gave_up.truth.outcome == "abandoned"
        settings = _with_queue_log(pbx, queue_log)
        async with running_tracker(pbx, redis, settings=settings) as second:
            await second.outbox.drained(5)
            assert second.tracker.found_in_queue_log == 2
            assert not second.tracker.calls
    for call, outcome in ((answered, "answered"), (gave_up, "abandoned")):
        callid, (visit,) = call.two.uniqueid, call.truth.visits
        facts = await _facts_of(redis, callid)
        kinds = [f.kind for f in facts]
        assert kinds.count("queued") == kinds.count(outcome) == kinds.count("ended") == 1, kinds
        (started,) = [f for f in facts if f.kind == "started"]
        assert started.caller_num == call.truth.caller_num
        (queued,) = [f for f in facts if f.kind == "queued"]
        assert queued.at.timestamp() == int(visit.joined_at)
        (told,) = [f for f in facts if f.kind == outcome]
        assert told.wait_whole_s == visit.hold_time_field, "app_queue's wait"
        (ended,) = [f for f in facts if f.kind == "ended"]
        assert ended.at.timestamp() <= call.truth.ended_at
    answered_facts = await _facts_of(redis, answered.two.uniqueid)
    (completed,) = [f for f in answered_facts if f.kind == "completed"]
    assert completed.agent == "agent1"
    # The call the first tracker saw: its facts are under its Linkedid, once.
    assert seen.two.uniqueid != seen.truth.linkedid
    assert await _facts_of(redis, seen.two.uniqueid) == []
    kinds = [f.kind for f in await _facts_of(redis, seen.truth.linkedid)]
    assert kinds.count("queued") == kinds.count("ended") == 1
