"""The simulated Asterisk places calls into the FastAGI server: ticket, UIN readout, facts."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime

import httpx

from core.facts import load_fact
from core.uin import spoken_groups
from tests.agi.conftest import CLOSED, CRM_TIMEOUT_S, MSK, Hotline
from tests.conftest import REDIS_TEST_PORT, TOKENS
from tests.support import TcpProxy


def readout(uin: str) -> list[str]:
    """The short form in groups of three, our pause between groups, no padding zeros."""
    said: list[str] = []
    for group in spoken_groups(uin):
        if said:
            said.append('STREAM FILE "hotline/pause" ""')
        said.append(f'SAY DIGITS "{group}" ""')
    return said


MENU = 'GET DATA "hotline/uin-menu" 2000 1'
# Set last on an open line (the dialplan reads it after the AGI): the greeting waits for
# nothing but ANSWER and the channel's language.
OPEN = 'SET VARIABLE "HOTLINE_OPEN" "1"'


def opening(language: str = "ru") -> list[str]:
    return [
        "ANSWER",
        f'SET VARIABLE "CHANNEL(language)" "{language}"',
        'GET VARIABLE "CHANNEL(linkedid)"',
    ]


async def ticket(h: Hotline, uin: str) -> dict[str, object]:
    response = await h.crm.get(f"/api/tickets/{uin}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_new_caller_hears_the_uin_of_a_new_ticket(hotline: Hotline) -> None:
    hotline.pbx.add_agent("agent1")
    call = hotline.pbx.place_call("79000000001", "Алиса Петрова")
    await hotline.pbx.run_for(60)
    truth = call.truth
    uin = truth.variables["UIN"]
    assert re.fullmatch(r"\d{8}", uin)
    stored = await ticket(hotline, uin)
    assert stored["caller_phone"] == "+79000000001"
    assert stored["caller_name"] == "Алиса Петрова"
    assert stored["channel"] == "phone" and stored["status"] == "registered"
    assert truth.agi_commands == [
        *opening(),
        'STREAM FILE "hotline/welcome" ""',  # the greeting, the ticket registered meanwhile
        f'SET VARIABLE "__UIN" "{uin}"',
        f'SET VARIABLE "__TICKET_ID" "{stored["id"]}"',
        *readout(uin),
        MENU,
        OPEN,
    ]
    said = "".join(c.split('"')[1] for c in readout(uin) if c.startswith("SAY DIGITS"))
    assert said == uin.lstrip("0")  # no padding zeros
    assert truth.agi_status == "SUCCESS"
    # The agent's channel inherited __UIN: the agent was connected with it.
    assert truth.outcome in ("answered", "in_progress") and truth.agent == "agent1"
    facts = [load_fact(f[b"fact"]) for f in await hotline.facts()]
    [ticketed] = [f for f in facts if f.kind == "ticketed"]
    assert ticketed.linkedid == truth.linkedid and ticketed.uin == uin
    assert ticketed.attached is False
    # The AGI environment's caller ID travels with it (one more source for the call).
    assert (ticketed.caller_num, ticketed.caller_name) == ("79000000001", "Алиса Петрова")


async def test_agent_channel_inherits_uin(hotline: Hotline) -> None:
    hotline.pbx.add_agent("agent1", talk_s=300)
    call = hotline.pbx.place_call("79000000002", "Борис")
    await hotline.pbx.run_for(60)  # answered after 2 s, still talking
    uin = call.truth.variables["UIN"]
    assert call.leg is not None, "the agent should be on the call"
    for half in (call.leg.one, call.leg.two):  # Local/agent1@agents-...;1 and ;2
        assert half.get_var("UIN") == uin
        assert half.get_var("TICKET_ID") == call.truth.variables["TICKET_ID"]


async def test_repeat_on_request(hotline: Hotline) -> None:
    call = hotline.pbx.place_call("79000000003", "Вера", dtmf="1")  # 1: hear it again
    await hotline.pbx.run_for(60)
    uin = call.truth.variables["UIN"]
    commands = call.truth.agi_commands
    assert commands[-(2 * len(readout(uin)) + 3) :] == [
        *readout(uin),
        MENU,
        *readout(uin),
        MENU,
        OPEN,
    ]


async def test_existing_uin_attaches_the_call_and_withdraws_the_new_one(hotline: Hotline) -> None:
    existing = (await hotline.crm.post("/api/tickets", json={"caller_name": "Галина"})).json()
    short = existing["uin"].lstrip("0")  # typed as heard
    call = hotline.pbx.place_call("79000000004", "Галина", dtmf=f"2{short}#")
    await hotline.pbx.run_for(60)
    assert call.truth.variables["UIN"] == existing["uin"]
    commands = call.truth.agi_commands
    heard = ['STREAM FILE "hotline/uin-attached" ""', *readout(existing["uin"]), OPEN]
    assert commands[-len(heard) :] == heard
    listed = (await hotline.crm.get("/api/tickets")).json()
    assert listed["total"] == 1  # one request, one ticket: the new UIN is out of the counts
    facts = [load_fact(f[b"fact"]) for f in await hotline.facts()]
    told, named = [f for f in facts if f.kind == "ticketed"]
    assert (told.attached, named.attached) == (False, True)
    assert named.uin == existing["uin"] and told.uin != existing["uin"]
    withdrawn = await ticket(hotline, told.uin)
    assert (withdrawn["status"], withdrawn["withdrawn_into"]) == ("withdrawn", existing["uin"])


async def test_a_withdrawal_the_crm_cannot_take_now_is_owed(hotline: Hotline) -> None:
    existing = (await hotline.crm.post("/api/tickets", json={"caller_name": "Тимур"})).json()
    original = hotline.crm_transport.inner

    class NoWithdrawals(type(original)):  # type: ignore[misc]
        async def handle_async_request(self, request):  # type: ignore[no-untyped-def]
            if request.url.path.endswith("/withdraw"):
                raise httpx.ConnectError("CRM unreachable (test switch)")
            return await super().handle_async_request(request)

    hotline.crm_transport.inner = NoWithdrawals(app=original.app)
    call = hotline.pbx.place_call("79000000018", "Тимур", dtmf=f"2{existing['uin']}#")
    await hotline.pbx.run_for(60)
    assert call.truth.variables["UIN"] == existing["uin"]  # the caller is not held up
    owed = await hotline.redis.hgetall(hotline.keys.pending_withdrawals)
    [(new, into)] = [(k.decode(), v.decode()) for k, v in owed.items()]
    assert into == existing["uin"]
    hotline.crm_transport.inner = original
    await hotline.agi.pending.flush()
    assert await hotline.redis.hlen(hotline.keys.pending_withdrawals) == 0
    assert (await ticket(hotline, new))["status"] == "withdrawn"


async def test_an_owed_ticket_is_withdrawn_once_it_exists(hotline: Hotline) -> None:
    """The CRM took no registration (the ticket is owed) but answers the lookup: the
    withdrawal waits for the owed ticket, and both are paid in that order."""
    await hotline.agi.stock.refill()
    existing = (await hotline.crm.post("/api/tickets", json={"caller_name": "Ульяна"})).json()
    original = hotline.crm_transport.inner

    class NoRegistrations(type(original)):  # type: ignore[misc]
        async def handle_async_request(self, request):  # type: ignore[no-untyped-def]
            if request.method in ("PUT", "POST"):
                return httpx.Response(503, json={"detail": "busy"}, request=request)
            return await super().handle_async_request(request)

    hotline.crm_transport.inner = NoRegistrations(app=original.app)
    call = hotline.pbx.place_call("79000000019", "Ульяна", dtmf=f"2{existing['uin']}#")
    await hotline.pbx.run_for(60)
    facts = [load_fact(f[b"fact"]) for f in await hotline.facts()]
    new = next(f.uin for f in facts if f.kind == "ticketed" and not f.attached)
    assert await hotline.redis.hget(hotline.keys.pending_tickets, new) is not None
    assert (await hotline.redis.hget(hotline.keys.pending_withdrawals, new)).decode() == existing[
        "uin"
    ]
    assert call.truth.variables["UIN"] == existing["uin"]
    hotline.crm_transport.inner = original
    await hotline.agi.pending.flush()
    withdrawn = await ticket(hotline, new)
    assert (withdrawn["status"], withdrawn["withdrawn_into"]) == ("withdrawn", existing["uin"])
    assert (await hotline.crm.get("/api/tickets")).json()["total"] == 1


async def test_a_withdrawn_uin_typed_later_names_the_ticket_it_went_into(
    hotline: Hotline,
) -> None:
    existing = (await hotline.crm.post("/api/tickets", json={"caller_name": "Яна"})).json()
    first = hotline.pbx.place_call("79000000020", "Яна", dtmf=f"2{existing['uin']}#")
    await hotline.pbx.run_for(60)
    facts = [load_fact(f[b"fact"]) for f in await hotline.facts()]
    withdrawn = next(f.uin for f in facts if f.kind == "ticketed" and not f.attached)
    assert first.truth.variables["UIN"] == existing["uin"]
    again = hotline.pbx.place_call("79000000021", "Яна", dtmf=f"2{withdrawn.lstrip('0')}#")
    await hotline.pbx.run_for(60)
    assert again.truth.variables["UIN"] == existing["uin"]


async def test_wrong_uin_gets_one_retry_then_the_new_ticket_stays(hotline: Hotline) -> None:
    call = hotline.pbx.place_call("79000000005", "Дмитрий", dtmf="299999999#99999998#")
    await hotline.pbx.run_for(60)
    commands = call.truth.agi_commands
    assert commands.count('GET DATA "hotline/existing-uin-enter" 10000 8') == 2
    assert commands.count('STREAM FILE "hotline/uin-not-found" ""') == 2
    uin = call.truth.variables["UIN"]
    assert uin not in ("99999999", "99999998")
    assert (await ticket(hotline, uin))["caller_name"] == "Дмитрий"
    assert (await ticket(hotline, uin))["status"] == "registered"  # theirs still


async def test_out_of_hours(hotline: Hotline) -> None:
    hotline.now[0] = CLOSED
    call = hotline.pbx.place_call("79000000006", "Елена")
    await hotline.pbx.run_for(30)
    assert call.truth.agi_commands == [
        *opening(),
        'SET VARIABLE "HOTLINE_OPEN" "0"',
        'STREAM FILE "hotline/closed-hours" ""',
    ]
    assert "UIN" not in call.truth.variables
    assert (await hotline.crm.get("/api/tickets")).json()["total"] == 0
    facts = [load_fact(f[b"fact"]) for f in await hotline.facts()]
    assert [f.kind for f in facts] == ["out_of_hours"]
    assert facts[0].caller_num == "79000000006"


async def test_on_a_holiday_the_caller_hears_that_today_is_a_day_off(hotline: Hotline) -> None:
    hotline.now[0] = datetime(2026, 11, 4, 11, 0, tzinfo=MSK)  # a Wednesday, Unity Day
    call = hotline.pbx.place_call("79000000022", "Эмма")
    await hotline.pbx.run_for(30)
    assert call.truth.agi_commands[-3:] == [
        'SET VARIABLE "HOTLINE_OPEN" "0"',
        'STREAM FILE "hotline/closed-today" ""',
        'STREAM FILE "hotline/closed-hours" ""',
    ]


async def test_a_day_the_supervisor_closed_is_a_day_off_too(hotline: Hotline) -> None:
    reply = await hotline.crm.put(
        "/api/calendar/overrides/2026-11-23",
        json={"kind": "holiday"},
        headers={"Authorization": f"Bearer {TOKENS['supervisor']}"},
    )
    assert reply.status_code in (200, 201), reply.text
    await hotline.agi.calendar.refresh()
    call = hotline.pbx.place_call("79000000023", "Юлия")  # OPEN: Monday 10:00, closed today
    await hotline.pbx.run_for(30)
    assert 'STREAM FILE "hotline/closed-today" ""' in call.truth.agi_commands


async def test_english_prompts_on_request(hotline: Hotline) -> None:
    hotline.pbx.config.agi_url += "?lang=en"
    call = hotline.pbx.place_call("79000000007", "Fiona")
    await hotline.pbx.run_for(60)
    # The channel's language is English already (agi_language): nothing to set before the
    # greeting.
    assert call.truth.agi_commands[:3] == [
        "ANSWER",
        'GET VARIABLE "CHANNEL(linkedid)"',
        'STREAM FILE "hotline/welcome" ""',
    ]


async def test_crm_down_for_30_calls_then_back_loses_no_ticket(hotline: Hotline) -> None:
    await hotline.agi.stock.refill()
    assert await hotline.redis.llen(hotline.keys.uin_stock) >= 30
    hotline.crm_transport.down = True
    calls = [hotline.pbx.place_call(f"7900000{i:04d}", f"Caller {i}") for i in range(30)]
    await hotline.pbx.run_for(120)
    uins = [c.truth.variables.get("UIN") for c in calls]
    assert all(uins) and len(set(uins)) == 30  # every caller heard a distinct UIN
    assert await hotline.redis.hlen(hotline.keys.pending_tickets) == 30
    hotline.crm_transport.down = False
    # The service's own loop may pay part of the debt at the same moment: either way,
    # once flushed, every owed ticket exists exactly once.
    await hotline.agi.pending.flush()
    for i, uin in enumerate(uins):
        stored = await ticket(hotline, uin or "")
        assert stored["caller_name"] == f"Caller {i}"
    assert await hotline.redis.hlen(hotline.keys.pending_tickets) == 0
    assert (await hotline.crm.get("/api/tickets")).json()["total"] == 30


async def test_crm_slow_is_like_crm_down(hotline: Hotline) -> None:
    await hotline.agi.stock.refill()
    hotline.crm_transport.delay_s = CRM_TIMEOUT_S + 0.5  # over the AGI's deadline
    call = hotline.pbx.place_call("79000000008", "Жанна")
    await hotline.pbx.run_for(60)
    uin = call.truth.variables["UIN"]
    pending = await hotline.redis.hget(hotline.keys.pending_tickets, uin)
    assert pending is not None and json.loads(pending)["caller_name"] == "Жанна"


async def test_a_late_crm_answer_leaves_exactly_the_ticket_the_caller_heard(
    hotline: Hotline,
) -> None:
    """The CRM commits after the AGI's deadline: no second ticket, none the caller never heard."""
    await hotline.agi.stock.refill()
    hotline.crm_transport.delay_s = CRM_TIMEOUT_S + 0.5
    call = hotline.pbx.place_call("79000000014", "Инна")
    await hotline.pbx.run_for(60)
    uin = call.truth.variables["UIN"]
    await hotline.crm_transport.drain()  # the late answer has landed in the CRM
    hotline.crm_transport.delay_s = 0
    await hotline.agi.pending.flush()  # the owed ticket, paid again: idempotent
    listed = (await hotline.crm.get("/api/tickets")).json()
    assert [t["uin"] for t in listed["items"]] == [uin]
    assert (await ticket(hotline, uin))["caller_name"] == "Инна"


async def test_crm_and_redis_down_caller_still_reaches_the_queue(hotline: Hotline) -> None:
    proxy = TcpProxy("127.0.0.1", REDIS_TEST_PORT)
    await proxy.start()
    await proxy.cut()  # a Redis address that does not answer
    from redis.asyncio import Redis

    dead = Redis(host="127.0.0.1", port=proxy.port, socket_timeout=0.3, socket_connect_timeout=0.3)
    hotline.agi.stock._redis = dead
    hotline.crm_transport.down = True
    hotline.pbx.add_agent("agent1")
    call = hotline.pbx.place_call("79000000009", "Зоя")
    await hotline.pbx.run_for(60)
    assert 'STREAM FILE "hotline/apology-no-uin" ""' in call.truth.agi_commands
    assert "UIN" not in call.truth.variables
    assert call.truth.agi_status == "SUCCESS"
    assert call.truth.visits and call.truth.visits[0].queue == "hotline"  # queued all the same
    await dead.aclose()


async def test_a_crm_refusal_still_gives_a_uin(hotline: Hotline) -> None:
    """A CRM that answers 4xx (say, a token it no longer accepts as valid input) is treated
    like a CRM that is down: the caller still hears a UIN, from the stock."""
    await hotline.agi.stock.refill()
    original = hotline.crm_transport.inner

    class Refusing(type(original)):  # type: ignore[misc]
        async def handle_async_request(self, request):  # type: ignore[no-untyped-def]
            registering = request.method == "POST" and request.url.path == "/api/tickets"
            if registering or request.method == "PUT":
                return httpx.Response(400, json={"detail": "refused"}, request=request)
            return await super().handle_async_request(request)

    hotline.crm_transport.inner = Refusing(app=original.app)
    call = hotline.pbx.place_call("79000000013", "Пётр")
    await hotline.pbx.run_for(60)
    uin = call.truth.variables["UIN"]
    # Owed: still pending, or (once the owed-ticket loop got the same 400) set aside for a
    # person, since a retry of the same body cannot succeed. Never dropped.
    owed = await hotline.redis.hget(hotline.keys.pending_tickets, uin) or await hotline.redis.hget(
        hotline.keys.pending_refused, uin
    )
    assert owed is not None and json.loads(owed)["caller_name"] == "Пётр"


async def test_a_slow_crm_still_fills_the_stock(hotline: Hotline) -> None:
    """Reserving UINs keeps no caller waiting: it is not held to the callers' deadline."""
    hotline.crm_transport.delay_s = CRM_TIMEOUT_S + 0.5
    uins = await hotline.agi.crm.reserve_uins(5)
    assert len(set(uins)) == 5


async def test_concurrent_refills_reserve_one_block(hotline: Hotline) -> None:
    await hotline.redis.delete(hotline.keys.uin_stock)
    stock = hotline.agi.stock
    await asyncio.gather(stock.refill(), stock.refill(), stock.refill())
    assert await hotline.redis.llen(hotline.keys.uin_stock) == stock.block


async def test_a_stock_the_crm_does_not_know_is_discarded(hotline: Hotline) -> None:
    """A stock older than the CRM's database (restored from a back-up): the caller still gets
    a ticket, from the CRM, and the stale UINs are dropped rather than told to callers."""
    await hotline.redis.delete(hotline.keys.uin_stock)
    await hotline.redis.rpush(hotline.keys.uin_stock, *[f"9{i:011d}" for i in range(5)])
    call = hotline.pbx.place_call("79000000015", "Олег")
    await hotline.pbx.run_for(60)
    uin = call.truth.variables["UIN"]
    assert not uin.startswith("9")
    assert (await ticket(hotline, uin))["caller_name"] == "Олег"
    stale = [u.decode() for u in await hotline.redis.lrange(hotline.keys.uin_stock, 0, -1)]
    assert not any(u.startswith("9") for u in stale)
    assert await hotline.redis.hlen(hotline.keys.pending_tickets) == 0


async def test_an_owed_ticket_the_crm_refuses_does_not_block_the_others(hotline: Hotline) -> None:
    await hotline.agi.stock.refill()
    good = (await hotline.redis.lrange(hotline.keys.uin_stock, 0, 0))[0].decode()
    await hotline.agi.pending.add("900000000001", "+79000000016", "Unknown UIN")
    await hotline.agi.pending.add(good, "+79000000017", "Known UIN")
    await hotline.agi.pending.flush()  # the service's own loop may take part of it: either way
    assert (await ticket(hotline, good))["caller_name"] == "Known UIN"
    assert await hotline.redis.hlen(hotline.keys.pending_tickets) == 0
    assert await hotline.redis.hexists(hotline.keys.pending_refused, "900000000001")
