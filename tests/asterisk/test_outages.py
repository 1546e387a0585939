"""Hotline's services going away in the middle of calls on the real Asterisk.

- The AGI server down: `AGI()` fails (`AGISTATUS=FAILURE`), the dialplan tries again
  once a second, 4 tries in all, and then sends the caller to `Queue(hotline)` all the
  same; the call is answered and recorded. A server back by a later try gives the UIN.
- The CRM down: the AGI route gives the caller a UIN from its stock (reserved in advance)
  and owes the ticket; once the CRM is back the ticket of that UIN is there.
- The tracker killed (SIGKILL) while a caller waits, and again while they talk, and started
  again each time: its resync at login picks the call up, and it ends recorded with
  Asterisk's outcome, wait and talk time. A call that ends while the tracker is away, and
  a caller who gives up while it is away, are closed by the restarted tracker from
  Asterisk's queue_log (the services read the instance's `log/queue_log`); calls made
  while the tracker and the AGI server are both down are recorded from queue_log alone.

An instance and services of their own (Redis database 10): stopping a service here never
touches the other tests' services; each test starts again what it stopped, and the
fixture stops whatever is left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from redis import Redis

from core.uin import short_uin
from tests.asterisk.conftest import ASTERISK_REDIS_URL, Services, services_of_their_own
from tests.asterisk.harness import Caller, Line
from tests.asterisk.instance import AsteriskInstance, free_port
from tests.asterisk.steps import component, ended, heard_uin, hung_up, start_again, ticket
from tests.conftest import TEST_KEYS

OUTAGE_REDIS_URL = ASTERISK_REDIS_URL.rsplit("/", 1)[0] + "/17"
WAIT_TOLERANCE_S = 1.0
OWED_TICKET_S = 30.0  # the AGI server retries owed tickets every 2 s


@pytest.fixture(scope="module")
def services(asterisk: AsteriskInstance) -> Iterator[Services]:
    with services_of_their_own(asterisk, OUTAGE_REDIS_URL) as started:
        yield started


async def _talk_and_hang_up(line: Line, caller: Caller, member: str, talk_s: float = 2) -> None:
    await asyncio.sleep(talk_s)
    await line.hang_up(caller)
    await line.agent_complete(caller, member)
    await hung_up(line, caller)


async def test_with_the_agi_server_down_callers_still_queue_and_are_recorded(
    line: Line, services: Services
) -> None:
    component(services, "agi").stop()
    try:
        await line.add_agent("agent01", answer_s=1)
        caller = await line.call("79000000011", "Kira")
        status = await line.event("VarSet", caller, Variable="AGISTATUS", timeout_s=30)
        assert status["Value"] == "FAILURE"
        assert status["Channel"] == caller.channel
        connect = await line.event("AgentConnect", caller, timeout_s=30)
        await _talk_and_hang_up(line, caller, "agent01")
    finally:
        await asyncio.to_thread(start_again, services, "agi")
    assert heard_uin(line, caller) == ""  # no UIN: nobody could give one
    call = await line.crm_call(caller, ended)
    assert (call["outcome"], call["queue"], call["agent"]) == ("answered", "hotline", "agent01")
    assert call["wait_s"] == pytest.approx(int(connect["HoldTime"]), abs=WAIT_TOLERANCE_S)
    assert call["caller_number"] in ("79000000011", "+79000000011")


async def _relay(to_port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One FastAGI session passed on to the AGI server on `to_port`, both ways."""
    upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", to_port)

    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()

    await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


async def test_a_caller_who_finds_no_agi_server_is_tried_again_and_hears_a_uin(
    line: Line, services: Services, asterisk: AsteriskInstance
) -> None:
    """The AGI server starting again (2-3 s): the dialplan tries once a second, 4 tries in
    all; the server there by the second try gives the caller a UIN and its ticket."""
    agi_port, spare = asterisk.endpoints.agi_port, free_port()
    await asyncio.to_thread(asterisk.point_agi_at, spare)  # nothing listens there yet
    relay = None
    try:
        caller = await line.call("79000000013", "Mira")
        first = await line.event("VarSet", caller, Variable="AGISTATUS", timeout_s=30)
        assert first["Value"] == "FAILURE"
        relay = await asyncio.start_server(lambda r, w: _relay(agi_port, r, w), "127.0.0.1", spare)
        await line.event("QueueCallerJoin", caller, timeout_s=30)
        await line.hang_up(caller)
        await hung_up(line, caller)
    finally:
        if relay is not None:
            relay.close()
        await asyncio.to_thread(asterisk.point_agi_at, agi_port)
    statuses = [
        f["Value"]
        for f in line.ami.events("VarSet", Channel=caller.channel)
        if f.get("Variable") == "AGISTATUS"
    ]
    assert statuses[0] == "FAILURE" and statuses[-1] == "SUCCESS" and len(statuses) <= 4
    heard = heard_uin(line, caller)
    assert heard.isdigit()
    call = await line.crm_call(caller, ended)
    assert short_uin(call["uin"]) == heard
    assert await ticket(line, call["uin"]) is not None


async def test_with_the_crm_down_callers_hear_a_uin_whose_ticket_comes_later(
    line: Line, services: Services
) -> None:
    stock = Redis.from_url(OUTAGE_REDIS_URL)
    try:
        for _ in range(100):  # the AGI server reserves its stock soon after it starts
            if stock.llen(TEST_KEYS.uin_stock):
                break
            await asyncio.sleep(0.2)
        assert stock.llen(TEST_KEYS.uin_stock) > 0
    finally:
        stock.close()
    component(services, "crm").stop()
    try:
        caller = await line.call("79000000012", "Lev")
        await line.event("QueueCallerJoin", caller, timeout_s=60)
        heard = heard_uin(line, caller)
        assert heard.isdigit()  # the caller heard a UIN (its short form) with the CRM down
        await asyncio.sleep(1)
        await line.hang_up(caller)
        abandon = await line.event("QueueCallerAbandon", caller, timeout_s=30)
        await hung_up(line, caller)
    finally:
        await asyncio.to_thread(start_again, services, "crm")
    for _ in range(int(OWED_TICKET_S / 0.5)):
        reply = await line.crm.get(f"/api/tickets/{heard}")
        if reply.status_code == 200:
            break
        await asyncio.sleep(0.5)
    assert reply.status_code == 200, reply.text  # the owed ticket, paid
    assert reply.json()["caller_phone"] == "+79000000012"
    uin = reply.json()["uin"]
    assert short_uin(uin) == heard
    call = await line.crm_call(caller, lambda c: ended(c) and c["uin"] == uin)
    assert call["outcome"] == "abandoned"
    assert call["wait_s"] == pytest.approx(int(abandon["HoldTime"]), abs=WAIT_TOLERANCE_S)


async def test_the_tracker_killed_while_a_caller_waits_and_again_while_they_talk(
    line: Line, services: Services
) -> None:
    """One caller, two crashes: each restarted tracker's resync picks the call up where
    Asterisk has it (waiting in the queue, then bridged with the agent)."""
    caller = await line.call("79000000013", "Mira")
    await line.event("QueueCallerJoin", caller, timeout_s=60)
    component(services, "tracker").kill()
    await asyncio.sleep(1)  # the caller waits with no tracker
    await asyncio.to_thread(start_again, services, "tracker")
    await line.add_agent("agent01", answer_s=1)
    connect = await line.event("AgentConnect", caller, timeout_s=30)
    component(services, "tracker").kill()
    await asyncio.sleep(1)  # the caller talks with no tracker
    await asyncio.to_thread(start_again, services, "tracker")
    await line.hang_up(caller)
    complete = await line.agent_complete(caller, "agent01")
    await hung_up(line, caller)
    # The AgentComplete may come after the Hangup (app_queue's stasis thread): the call's
    # talk is then recorded a moment after its end.
    call = await line.crm_call(caller, lambda c: ended(c) and bool(c["talk_s"]))
    assert (call["outcome"], call["agent"]) == ("answered", "agent01")
    assert call["wait_s"] == pytest.approx(int(connect["HoldTime"]), abs=WAIT_TOLERANCE_S)
    assert call["talk_s"] == pytest.approx(int(complete["TalkTime"]), abs=WAIT_TOLERANCE_S)
    assert call["hung_up_by"] == "caller"


async def test_the_tracker_away_while_a_call_ends(line: Line, services: Services) -> None:
    """The restarted tracker takes back the calls its predecessor kept open (Redis) and
    closes the one that ended meanwhile with what Asterisk logged (queue_log): answered,
    Asterisk's wait and talk time, hung up by the caller."""
    await line.add_agent("agent01", answer_s=1)
    caller = await line.call("79000000015", "Olga")
    connect = await line.event("AgentConnect", caller, timeout_s=60)
    await asyncio.sleep(0.5)  # the tracker's live writer keeps its open calls (50 ms)
    component(services, "tracker").kill()
    await asyncio.sleep(2)  # they talk with no tracker
    await line.hang_up(caller)
    complete = await line.agent_complete(caller, "agent01")
    await hung_up(line, caller)
    await asyncio.to_thread(start_again, services, "tracker")
    call = await line.crm_call(caller, ended, timeout_s=8)
    assert (call["outcome"], call["agent"]) == ("answered", "agent01")
    assert call["wait_s"] == pytest.approx(int(connect["HoldTime"]), abs=WAIT_TOLERANCE_S)
    assert call["talk_s"] == pytest.approx(int(complete["TalkTime"]), abs=WAIT_TOLERANCE_S)
    assert call["hung_up_by"] == "caller"


async def test_the_tracker_away_while_a_caller_gives_up(line: Line, services: Services) -> None:
    """A caller waiting when the tracker is killed hangs up before it is back: counted
    abandoned with Asterisk's wait (queue_log's ABANDON), not the restart's time."""
    caller = await line.call("79000000016", "Pavel")
    await line.event("QueueCallerJoin", caller, timeout_s=60)
    await asyncio.sleep(0.5)
    component(services, "tracker").kill()
    await asyncio.sleep(1)
    await line.hang_up(caller)
    abandon = await line.event("QueueCallerAbandon", caller, timeout_s=30)
    await hung_up(line, caller)
    await asyncio.sleep(3)  # the restart comes well after the abandon
    await asyncio.to_thread(start_again, services, "tracker")
    call = await line.crm_call(caller, ended, timeout_s=8)
    assert call["outcome"] == "abandoned"
    assert call["wait_s"] == pytest.approx(int(abandon["HoldTime"]), abs=WAIT_TOLERANCE_S)


async def test_calls_that_came_and_went_with_the_tracker_and_the_agi_down(
    line: Line, services: Services
) -> None:
    """Issue 14: two calls made while the tracker and the AGI server are both down (no
    tracker saw them, no `ticketed` fact names them), one answered, one given up. The
    restarted tracker finds them whole in queue_log and records them under queue_log's
    call id (the queue-side `;2` channel's Uniqueid): queue entry, Asterisk's wait and
    outcome."""
    await line.add_agent("agent01", answer_s=1)
    await asyncio.sleep(0.5)  # the tracker's heartbeat and live writer are at rest
    component(services, "tracker").kill()
    component(services, "agi").stop()
    try:
        answered = await line.call("79000000017", "Rita")
        answered_join = await line.event("QueueCallerJoin", answered, timeout_s=60)
        connect = await line.event("AgentConnect", answered, timeout_s=60)
        gave_up = await line.call("79000000018", "Semyon")  # agent01 talks: it waits
        gave_up_join = await line.event("QueueCallerJoin", gave_up, timeout_s=60)
        await asyncio.sleep(1.5)
        await line.hang_up(gave_up)
        abandon = await line.event("QueueCallerAbandon", gave_up, timeout_s=30)
        await hung_up(line, gave_up)
        await _talk_and_hang_up(line, answered, "agent01")
    finally:
        await asyncio.to_thread(start_again, services, "agi")
        await asyncio.to_thread(start_again, services, "tracker")
    assert answered_join["Uniqueid"] != answered.linkedid  # Local channels: two names
    as_logged = Caller(answered_join["Uniqueid"], answered.handset, answered.number)
    call = await line.crm_call(as_logged, ended, timeout_s=15)
    assert (call["outcome"], call["queue"], call["agent"]) == ("answered", "hotline", "agent01")
    assert call["wait_s"] == pytest.approx(int(connect["HoldTime"]), abs=WAIT_TOLERANCE_S)
    assert call["caller_number"] in ("79000000017", "+79000000017")
    as_logged = Caller(gave_up_join["Uniqueid"], gave_up.handset, gave_up.number)
    call = await line.crm_call(as_logged, ended, timeout_s=15)
    assert (call["outcome"], call["queue"]) == ("abandoned", "hotline")
    assert call["wait_s"] == pytest.approx(int(abandon["HoldTime"]), abs=WAIT_TOLERANCE_S)
