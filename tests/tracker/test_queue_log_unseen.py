"""A restarted tracker's resync and the calls only queue_log knows (issue 14, "Counting").

A call that entered a queue and left it (answered and done, abandoned, timed out) while
no tracker ran, and that never reached the AGI (no `ticketed` fact with its Uniqueid),
is in Asterisk's queue_log alone. The resync tells it from there, keyed by its call id,
with app_queue's wait and outcome, so the service level is Asterisk's; what the facts,
the open calls or the snapshots already tell is not told again. Hand-built queue_log
lines in the formats of `apps/app_queue.c` (Asterisk 22)."""

from __future__ import annotations

from pathlib import Path

from callqueue.calls import CallState, QueueEntry
from callqueue.queue_log import read_queue_log
from callqueue.tracker import CallTracker
from core.ami.parser import AmiMessage
from core.facts import CallFact, CallTicketed
from core.queue_log import QueueLogLines
from core.service_level import service_level

T0 = 1_796_602_000  # when the tracker before went away (Asterisk's clock)
AT = T0 + 400  # the restarted tracker's resync
THRESHOLD_S = 40


def _lines() -> list[str]:
    return [
        f"{T0 - 30}|NONE|NONE|NONE|QUEUESTART|",
        f"{T0 - 20}|MANAGER|hotline|agent1|ADDMEMBER|",
        f"{T0 - 10}|NONE|hotline|agent1|PAUSE|lunch",
        # entered before the tracker went away: its tracker told it (or it is open)
        f"{T0 - 400}|1.old|hotline|NONE|ENTERQUEUE||79000000001|1",
        f"{T0 - 380}|1.old|hotline|NONE|ABANDON|1|1|20",
        # answered within the service level, the agent hung up
        f"{T0 + 10}|1.21|hotline|NONE|ENTERQUEUE||79000000021|1",
        f"{T0 + 12}|1.21|hotline|agent1|RINGNOANSWER|2000",
        f"{T0 + 22}|1.21|hotline|agent1|CONNECT|12|1.99|3",
        f"{T0 + 52}|1.21|hotline|agent1|COMPLETEAGENT|12|30|1",
        # answered after it, then blind-transferred (the caller's Queue() ends there)
        f"{T0 + 11}|1.31|hotline|NONE|ENTERQUEUE||79000000031|2|Ivan",
        f"{T0 + 66}|1.31|hotline|agent2|CONNECT|55|1.98|4",
        f"{T0 + 90}|1.31|hotline|agent2|BLINDTRANSFER|300|hotline-targets|55|24|2",
        # gave up after 7 s; a crash's zero-filled block before the line and a CRLF end
        f"\0\0\0\0{T0 + 20}|1.41|hotline|NONE|ENTERQUEUE||79000000041|3\r",
        f"{T0 + 27}|1.41|hotline|NONE|ABANDON|2|3|7",
        # timed out: left unanswered, not abandoned (app_queue counts neither)
        f"{T0 + 30}|1.51|hotline|NONE|ENTERQUEUE||79000000051|2",
        f"{T0 + 90}|1.51|hotline|NONE|EXITWITHTIMEOUT|1|2|60",
        "not a queue_log line",
        f"{T0 + 95}|1.5|hot\0line|NONE|ABANDON|1|1|5",
        # told by a fact read back (its call id), and by an older tracker's `queued` fact
        # (no call id: queue and second)
        f"{T0 + 40}|1.61|hotline|NONE|ENTERQUEUE||79000000061|1",
        f"{T0 + 45}|1.61|hotline|NONE|ABANDON|1|1|5",
        f"{T0 + 41}|1.71|hotline|NONE|ENTERQUEUE||79000000071|1",
        f"{T0 + 46}|1.71|hotline|NONE|ABANDON|1|1|5",
        # the AGI told it (`ticketed` with its Uniqueid): told once, under its Linkedid
        f"{T0 + 50}|1.81|hotline|NONE|ENTERQUEUE||79000000081|1",
        f"{T0 + 59}|1.81|hotline|NONE|ABANDON|1|1|9",
        # still waiting at the resync: the QueueStatus snapshot tells it, not queue_log
        f"{T0 + 300}|1.91|hotline|NONE|ENTERQUEUE||79000000091|1",
        # an open call of the tracker before (restored): closed from its lines, once
        f"{T0 + 5}|1.101|hotline|NONE|ENTERQUEUE||79000000101|1",
        f"{T0 + 25}|1.101|hotline|NONE|ABANDON|1|1|20",
    ]


def _resync(tmp_path: Path, *, unseen_since: float | None = T0) -> tuple[CallTracker, list]:
    path = tmp_path / "queue_log"
    path.write_bytes("\n".join(_lines()).encode() + b"\n")
    tracker = CallTracker(keep_finished=True)
    tracker.restore(
        CallState(
            linkedid="1.100",
            started_at=T0,
            entries=[
                QueueEntry(
                    linkedid="1.100",
                    entry=1,
                    queue="hotline",
                    channel="Local/100@hotline-in-1;2",
                    caller_num="79000000101",
                    caller_name="",
                    position=1,
                    joined_at=T0 + 5,
                    uniqueid="1.101",
                )
            ],
        )
    )
    tracker.begin_resync()
    ticketed = CallTicketed(linkedid="1.80", uin="00000081", uniqueid="1.81")
    tracker.use_outage_facts(
        {"1.80": (ticketed, T0 + 49.5)},
        set(),
        unseen_since=unseen_since,
        told={"1.61"},
        told_joins={("hotline", T0 + 41)},
    )
    tracker.use_queue_log(read_queue_log(path, since=T0 - 300))
    facts = tracker.apply_resync([], [], AT)
    return tracker, facts


def _of(facts: list[CallFact], linkedid: str) -> dict[str, list[CallFact]]:
    kinds: dict[str, list[CallFact]] = {}
    for fact in facts:
        if getattr(fact, "linkedid", None) == linkedid:
            kinds.setdefault(fact.kind, []).append(fact)  # type: ignore[union-attr]
    return kinds


def test_calls_only_queue_log_knows_are_told_from_it(tmp_path: Path) -> None:
    tracker, facts = _resync(tmp_path)
    found = {"1.21", "1.31", "1.41", "1.51"}
    assert tracker.found_in_queue_log == len(found)
    assert not tracker.calls, "every call is over"
    answered = _of(facts, "1.21")
    (started,) = answered["started"]
    assert started.caller_num == "79000000021"
    (queued,) = answered["queued"]
    assert queued.at.timestamp() == T0 + 10 and queued.uniqueid == "1.21"
    (answer,) = answered["answered"]
    assert (answer.agent, answer.wait_whole_s, answer.at.timestamp()) == ("agent1", 12, T0 + 22)
    (completed,) = answered["completed"]
    assert (completed.reason, completed.talk_s) == ("agent", 30)
    (ended,) = answered["ended"]
    assert ended.at.timestamp() == T0 + 52, "at its last line, not at the resync"
    transferred = _of(facts, "1.31")
    assert transferred["answered"][0].wait_whole_s == 55
    assert transferred["completed"][0].reason == "transfer"
    assert transferred["started"][0].caller_name == "Ivan"
    (abandoned,) = _of(facts, "1.41")["abandoned"]
    assert (abandoned.wait_whole_s, abandoned.original_position) == (7, 3)
    timed_out = _of(facts, "1.51")
    assert set(timed_out) == {"started", "queued", "ended"}, "left, neither answered nor abandoned"
    entries = {entry.uniqueid: entry for entry in tracker.entries()}
    assert entries["1.51"].outcome == "left"


def test_what_is_told_elsewhere_is_not_told_again(tmp_path: Path) -> None:
    _tracker, facts = _resync(tmp_path)
    told = {getattr(f, "linkedid", None) for f in facts}
    for callid in ("1.old", "1.61", "1.71", "1.91", "1.101", "1.81"):
        assert callid not in told, callid
    came_and_went = _of(facts, "1.80")  # the AGI's ticket: its Linkedid, queue_log's stay
    assert len(came_and_went["queued"]) == len(came_and_went["abandoned"]) == 1
    restored = _of(facts, "1.100")
    assert restored["abandoned"][0].wait_whole_s == 20
    assert len(restored["ended"]) == 1


def test_without_an_outage_to_look_at_nothing_is_told_from_queue_log_alone(
    tmp_path: Path,
) -> None:
    tracker, facts = _resync(tmp_path, unseen_since=None)
    assert tracker.found_in_queue_log == 0
    assert not _of(facts, "1.21")


def test_the_service_level_is_asterisks(tmp_path: Path) -> None:
    """app_queue's figures over the calls the resync told from queue_log, from the same
    lines: answered within the service level (hold time <= T at CONNECT) over answered,
    and with the abandons (`ServicelevelPerf`, `ServicelevelPerf2`)."""
    tracker, _facts = _resync(tmp_path)
    told = {entry.uniqueid for entry in tracker.entries()}
    assert told == {"1.21", "1.31", "1.41", "1.51", "1.81"}
    lines = [r for r in QueueLogLines(_lines()) if r.callid in told]
    holds = [r.int_field("hold_s") or 0 for r in lines if r.event == "CONNECT"]
    gave_up = [r.int_field("wait_s") or 0 for r in lines if r.event == "ABANDON"]
    within = sum(hold <= THRESHOLD_S for hold in holds)
    within_abandoned = sum(wait <= THRESHOLD_S for wait in gave_up)
    figures = service_level(
        [entry.as_outcome() for entry in tracker.entries()], threshold_s=THRESHOLD_S
    )["hotline"]
    assert (figures["answered"], figures["abandoned"]) == (len(holds), len(gave_up))
    assert figures["perf"] == round(100 * within / len(holds), 1)
    assert figures["perf2"] == round(
        100 * (within + within_abandoned) / (len(holds) + len(gave_up)), 1
    )


def test_an_agent_talking_now_stays_talking(tmp_path: Path) -> None:
    """agent1 completed a call no tracker saw, then answered a caller the tracker before
    left waiting: the replayed past does not leave agent1 free."""
    waiting = "Local/200@hotline-in-2;2"
    agent_channel = "Local/agent1@hotline-agents-00000001;1"
    path = tmp_path / "queue_log"
    path.write_text(
        f"{T0 + 10}|1.21|hotline|NONE|ENTERQUEUE||79000000021|1\n"
        f"{T0 + 22}|1.21|hotline|agent1|CONNECT|12|1.99|3\n"
        f"{T0 + 52}|1.21|hotline|agent1|COMPLETEAGENT|12|30|1\n"
        f"{T0 + 60}|1.201|hotline|agent1|CONNECT|70|1.98|2\n"
    )
    tracker = CallTracker(keep_finished=True)
    tracker.restore(
        CallState(
            linkedid="1.200",
            started_at=T0 - 15,
            channels={waiting},
            caller_channels={waiting},
            entries=[
                QueueEntry(
                    linkedid="1.200",
                    entry=1,
                    queue="hotline",
                    channel=waiting,
                    caller_num="79000000201",
                    caller_name="",
                    position=1,
                    joined_at=T0 - 10,
                    uniqueid="1.201",
                )
            ],
        )
    )
    tracker.begin_resync()
    tracker.use_outage_facts({}, set(), unseen_since=T0)
    tracker.use_queue_log(read_queue_log(path, since=T0 - 300))
    channels = [
        AmiMessage(
            f"Event: CoreShowChannel\nChannel: {name}\nLinkedid: 1.200\nUniqueid: {uniqueid}\n"
            "BridgeId: b-1\nApplication: AppQueue\nDuration: 00:01:10\n",
            AT,
        )
        for name, uniqueid in ((waiting, "1.201"), (agent_channel, "1.202"))
    ]
    member = (
        "Event: QueueMember\nQueue: hotline\nName: agent1\nLocation: Local/agent1@hotline-agents\n"
        "Status: 2\nPaused: 0\nCallsTaken: 1\n"
    )
    facts = tracker.apply_resync(channels, [AmiMessage(member, AT)], AT)
    assert tracker.found_in_queue_log == 1 and _of(facts, "1.21")["completed"]
    agent = tracker.agents.agents["agent1"]
    assert (agent.status, agent.linkedid) == ("talking", "1.200")


def test_an_open_call_in_the_ivr_when_the_tracker_went_away_gets_its_stay(
    tmp_path: Path,
) -> None:
    """The tracker before saw these calls start (restored, no queue entry yet); they joined
    the queue and ended while no tracker ran. Each stay is replayed from queue_log, under
    the Linkedid (a SIP caller's call id) or under the Uniqueid its `ticketed` fact gives
    (a Local caller's `;2`), and told once (the fault suite saw such a call without its
    queue entry now and then)."""
    path = tmp_path / "queue_log"
    path.write_text(
        f"{T0 + 8}|1.300|hotline|NONE|ENTERQUEUE||79000000300|1\n"
        f"{T0 + 10}|1.300|hotline|agent1|CONNECT|2|1.97|2\n"
        f"{T0 + 40}|1.300|hotline|agent1|COMPLETECALLER|2|30|1\n"
        f"{T0 + 9}|1.401|hotline|NONE|ENTERQUEUE||79000000400|2\n"
        f"{T0 + 16}|1.401|hotline|NONE|ABANDON|1|2|7\n"
    )
    tracker = CallTracker(keep_finished=True)
    tracker.restore(CallState(linkedid="1.300", started_at=T0 - 3))
    tracker.restore(CallState(linkedid="1.400", started_at=T0 - 2))
    tracker.begin_resync()
    tracker.use_outage_facts(
        {}, set(), unseen_since=T0, told={"1.401"}, callids={"1.400": {"1.401"}}
    )
    tracker.use_queue_log(read_queue_log(path, since=T0 - 300))
    facts = tracker.apply_resync([], [], AT)
    sip = _of(facts, "1.300")
    assert len(sip["queued"]) == 1
    (answered,) = sip["answered"]
    assert (answered.agent, answered.wait_whole_s) == ("agent1", 2)
    (completed,) = sip["completed"]
    assert completed.talk_s == 30
    (ended,) = sip["ended"]
    assert ended.at.timestamp() == T0 + 40
    local = _of(facts, "1.400")
    assert len(local["queued"]) == 1
    (abandoned,) = local["abandoned"]
    assert abandoned.wait_whole_s == 7
    assert len(local["ended"]) == 1
    assert tracker.found_in_queue_log == 0, "neither is told again as a call of its own"
    assert not _of(facts, "1.401")
