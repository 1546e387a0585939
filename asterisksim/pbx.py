"""The PBX model: channels, the [hotline-in] dialplan, hang-ups; queues and transfers mixed in."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable

from asterisksim.calls import Call, Leg
from asterisksim.channels import Channel, ChannelFactory
from asterisksim.clock import Clock
from asterisksim.config import AgentProfile, SimConfig
from asterisksim.errors import SimError
from asterisksim.frames import CLASSES, Event
from asterisksim.noise import ChannelNoise, device_of
from asterisksim.queueing import QueueEngine
from asterisksim.queues import Queue
from asterisksim.transfers import TransferEngine
from asterisksim.truth import CallTruth

log = logging.getLogger(__name__)

CALL = CLASSES["call"]
AGENT = CLASSES["agent"]
AGI = CLASSES["agi"]
_PRIV = {CALL: "call,all", AGENT: "agent,all", AGI: "agi,all", CLASSES["system"]: "system,all"}
CAUSE_TXT = {0: "Unknown", 16: "Normal Clearing", 17: "User busy", 19: "No user responding"}


__all__ = ["PBX", "SimError"]


class PBX(QueueEngine, TransferEngine, ChannelNoise):
    """A small model of Asterisk; every state change is published as AMI events to `sinks`."""

    def __init__(self, config: SimConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.factory = ChannelFactory()
        self.queues: dict[str, Queue] = {q.name: Queue(q) for q in config.queues}
        self.agents: dict[str, AgentProfile] = {}
        self.db: dict[tuple[str, str], str] = {}
        self.calls: list[Call] = []
        self.by_chan: dict[str, Call] = {}
        self.legs: dict[str, tuple[Call, Leg]] = {}
        self.busy: set[str] = set()
        # In-process observers get Event objects; the AMI server takes the raw fast path.
        self.sinks: list[Callable[[Event], None]] = []
        self.fanout: Callable[[int, bytes, bytes, float, bool], None] | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.events_emitted = 0
        self._heads: dict[str, bytes] = {}
        self.cv: tuple[str, ...] = tuple(config.channelvars)
        self._consult_pair: dict[Call, tuple[Channel, Channel]] = {}
        self.device_states: dict[str, str] = {}
        self._uins_used = 0  # how many of config.uins the dialplan has handed out
        self.rng = random.Random(config.seed)  # UINs and the like: reproducible per seed

    # -- publishing ------------------------------------------------------------------------
    def emit(self, cls: int, name: str, body: str, stamped: bool = True) -> None:
        head = self._heads.get(name)  # an event name always has the same class
        if head is None:
            head = f"Event: {name}\r\nPrivilege: {_PRIV.get(cls, 'call,all')}\r\n".encode()
            self._heads[name] = head
        tail = (body + "\r\n").encode()
        now_s = self.clock.now()
        self.events_emitted += 1
        fanout = self.fanout
        if fanout is not None:
            fanout(cls, head, tail, now_s, stamped)
        if self.sinks:
            event = Event(cls, name, head, tail, now_s, stamped)
            for sink in self.sinks:
                sink(event)

    def blk(self, chan: Channel, prefix: str = "", empty: bool = False) -> str:
        return chan.block(prefix, self.cv, empty)

    def chan_event(self, name: str, chan: Channel, extra: str = "") -> None:
        self.emit(CALL, name, self.blk(chan) + extra)

    def hangup_event(self, chan: Channel, cause: int) -> None:
        if chan.hung_up:
            return
        chan.hung_up = True
        self.hangup_requests(chan, cause)
        self.emit(
            CALL,
            "Hangup",
            self.blk(chan) + f"Cause: {cause}\r\nCause-txt: {CAUSE_TXT.get(cause, 'Unknown')}\r\n",
        )
        self.device_state(device_of(chan), "NOT_INUSE")
        self.factory.forget(chan)
        call = self.by_chan.pop(chan.name, None)
        self.legs.pop(chan.name, None)
        if call is not None and call.redirected and chan is call.two:
            self.close_redirected(call)

    def bridge_event(self, name: str, bridge_id: str, count: int, chan: Channel) -> None:
        entering = name == "BridgeEnter"
        chan.set(bridge_id=bridge_id if entering else "")
        if entering and count == 1:
            self.emit(CALL, "BridgeCreate", bridge_headers(bridge_id, 0))
        self.emit(CALL, name, bridge_headers(bridge_id, count) + self.blk(chan))
        if not entering and count == 0:
            self.emit(CALL, "BridgeDestroy", bridge_headers(bridge_id, 0))

    def agent_profile(self, agent: str) -> AgentProfile:
        profile = self.agents.get(agent)
        if profile is None:
            delay = self.db.get(("agentdelay", agent))
            talk = self.db.get(("agenttalk", agent))
            base = self.config.default_agent
            profile = AgentProfile(
                answer_delay_s=float(delay) if delay else base.answer_delay_s,
                talk_s=float(talk) if talk else base.talk_s,
            )
        return profile

    # -- callers ---------------------------------------------------------------------------
    def originate(
        self,
        caller_num: str,
        caller_name: str,
        *,
        use_agi: bool = False,
        patience_s: float | None = None,
        dtmf: str = "",
        action_id: str = "",
        variables: dict[str, str] | None = None,
        talk_s: float | None = None,
    ) -> Call:
        """A caller dials the hotline: the transcripts' Originate of Local/100@hotline-in."""
        cfg, now = self.config, self.clock.now()
        one, two = self.factory.local_pair(cfg.entry_exten, cfg.entry_context, now)
        # The handset half (;1) shows channelvars, always empty: `__` vars are set on ;2.
        truth = CallTruth(one.linkedid, caller_num, caller_name, two.name, now)
        call = Call(
            one, two, truth, use_agi=use_agi, patience_s=patience_s, dtmf=dtmf, action_id=action_id
        )
        call.talk_s = talk_s
        two.update_vars(variables or {})
        if cfg.transfer_context:  # [hotline-in] Set(__TRANSFER_CONTEXT=hotline-transfer)
            two.set_var("__TRANSFER_CONTEXT", cfg.transfer_context)
        self.calls.append(call)
        self.by_chan[one.name] = self.by_chan[two.name] = call
        self.emit(CALL, "Newchannel", self.blk(one, empty=True))
        self.emit(CALL, "Newchannel", self.blk(two, empty=True))
        one.set(cid_num=caller_num, cid_name=caller_name)
        self.chan_event("NewCallerid", one, _CID_PRES)
        one.set(conn_num=caller_num, conn_name=caller_name)
        self.chan_event("NewConnectedLine", one)
        two.set(
            cid_num=caller_num, cid_name=caller_name, conn_num=caller_num, conn_name=caller_name
        )
        self.chan_event("NewCallerid", two, _CID_PRES)
        self.chan_event("NewConnectedLine", two)
        self.local_bridge(one, two, optimized=True)
        self.emit(
            CALL,
            "DialBegin",
            self.blk(one, "Dest") + f"DialString: {cfg.entry_exten}@{cfg.entry_context}\r\n",
        )
        two.set(state=6, priority=2, app="Answer")
        self.chan_event("Newstate", two)
        one.set(state=6)
        self.chan_event("Newstate", one)
        self.emit(CALL, "DialEnd", self.blk(one, "Dest") + "DialStatus: ANSWER\r\n")
        one.set(context="callers", exten="wait", priority=2, app="Wait", app_data="3600")
        if action_id:
            self.emit(
                CALL,
                "OriginateResponse",
                f"ActionID: {action_id}\r\nResponse: Success\r\n"
                f"Channel: {one.name}\r\nContext: callers\r\nExten: wait\r\nReason: 4\r\n"
                f"Uniqueid: {one.uniqueid}\r\nCallerIDNum: {caller_num}\r\n"
                f"CallerIDName: {caller_name}\r\n" + one.channelvar_lines(self.cv),
            )
        device = device_of(one)
        self.device_state(device, "INUSE")
        self.device_state(device, "INUSE")
        # Answer() returns 0.5 s after the channel is up (config.answer_delay_s): only then
        # does [hotline-in] go on (08: QueueCallerJoin 0.501 s after Newstate Up).
        if cfg.answer_delay_s > 0:
            self.clock.call_later(cfg.answer_delay_s, self._answered, call)
        else:
            self._answered(call)
        return call

    def _answered(self, call: Call) -> None:
        cfg, two = self.config, call.two
        if call.state != "dialplan" or call.one.hung_up:
            return
        if cfg.entry_language:
            # [hotline-in] Set(CHANNEL(language)=ru) after Answer(): no event of its own;
            # the channel's snapshot (Language:) shows it from the next event on.
            two.language = cfg.entry_language
        if call.use_agi and cfg.agi_url:
            call.state = "agi"
            two.set(priority=6, app="AGI", app_data=f"{cfg.agi_url},{cfg.entry_exten}")
            self.start_agi(call, cfg.agi_url)
        else:
            self.enter_queue(call)

    def start_agi(
        self,
        call: Call,
        url: str,
        done: Callable[[Call, str], None] | None = None,
        channel: Channel | None = None,
    ) -> None:
        """`AGI(url)` from the dialplan: no simulated time passes before the exchange starts
        (the clock is held here, in the same step, and `run_agi` carries the hold on).

        It runs on the caller's `;2` unless `channel` names another (a member's channel,
        for Queue()'s pre-bridge Gosub)."""
        from asterisksim.agi import run_agi

        self.clock.hold()
        task = asyncio.get_running_loop().create_task(run_agi(self, call, url, done, channel))
        self.tasks.add(task)
        task.add_done_callback(self._task_done)

    def enter_queue(self, call: Call) -> None:
        """The last steps of [hotline-in]: with USE_UIN=yes set __UIN/__TICKET_ID, then Queue()."""
        two = call.two
        if two.get_var("USE_UIN") == "yes" and not two.get_var("UIN"):
            given = self.config.uins
            uin = given[self._uins_used] if self._uins_used < len(given) else ""
            self._uins_used += 1
            uin = uin or f"{self.rng.randrange(10**7, 10**8)}"
            day = time.strftime("%Y%m%d", time.gmtime(self.clock.now()))
            for name, value in (("__UIN", uin), ("__TICKET_ID", f"HL-{day}-{uin}")):
                two.set_var(name, value)
                call.truth.variables[name.lstrip("_")] = value
        self.join_queue(call, self.config.entry_queue)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("simulated AGI task failed", exc_info=task.exception())

    def after_agi(self, call: Call, status: str) -> None:
        """AGI() returned: AGISTATUS set, the dialplan goes on (unless the script hung up)."""
        hung_up = status == "HANGUP"
        status = "SUCCESS" if hung_up else status
        if (
            status == "FAILURE"
            and call.state == "agi"
            and not call.two.get_var("UIN")
            and not call.two.get_var("HOTLINE_OPEN")
            and call.agi_tries < self.config.agi_tries
        ):
            # No UIN given, no opening told (no server): [hotline-in] waits and tries again.
            call.agi_tries += 1
            call.two.set_var("AGISTATUS", status)
            call.two.set(app="Wait", app_data=f"{self.config.agi_retry_wait_s:g}")
            self.clock.call_later(self.config.agi_retry_wait_s, self._retry_agi, call)
            return
        call.truth.agi_status = status
        call.two.set_var("AGISTATUS", status)
        if call.state == "agi" and not hung_up:
            self.enter_queue(call)

    def _retry_agi(self, call: Call) -> None:
        if call.state != "agi" or call.one.hung_up or call.two.hung_up:
            return
        cfg = self.config
        assert cfg.agi_url is not None
        call.two.set(priority=6, app="AGI", app_data=f"{cfg.agi_url},{cfg.entry_exten}")
        self.start_agi(call, cfg.agi_url)

    def find(self, name: str) -> tuple[Call, Leg | None]:
        """The call a channel belongs to, and the leg if it is an agent/target channel."""
        if name in self.by_chan:
            return self.by_chan[name], None
        if name in self.legs:
            return self.legs[name]
        raise SimError("No such channel")

    def hangup(self, name: str) -> None:
        """AMI Hangup of any channel of the model."""
        call, leg = self.find(name)
        if leg is None:
            self.caller_hangup(call)
        elif call.consult is not None and leg is call.leg and name in (leg.one.name, leg.two.name):
            self.complete_atxfer(call)
        elif call.consult is not None:
            self.cancel_atxfer_call(call)
            self._consult_pair.pop(call, None)
        elif leg is call.leg and call.state == "bridged":
            self.agent_hangup(call, leg)
        elif call.entry is not None and leg in call.entry.legs:
            self.leg_no_answer(call, leg)
        else:
            raise SimError("No such channel")

    def caller_hangup(self, call: Call) -> None:
        if call.state == "gone":
            return
        now, state = self.clock.now(), call.state
        if call.patience_timer is not None:
            call.patience_timer.cancel()
        self.hangup_event(call.one, 0)
        if state == "queued" and call.entry is not None:
            self.abandon(call, call.entry)
            self.hangup_event(call.two, 0)
        elif state == "bridged" and call.leg is not None:
            self.end_bridged(call, call.leg, reason="caller")
        elif state == "dialing" and call.leg is not None:
            self.cancel_leg(call, call.leg)
            self.hangup_event(call.two, 0)
        else:
            self.hangup_event(call.two, 16)
        call.state = "gone"
        call.truth.ended_at = now
        if call.truth.outcome == "in_progress":
            call.truth.outcome = "ivr_hangup"

    def agent_hangup(self, call: Call, leg: Leg) -> None:
        """The agent side ends the talk (talk time over, or AMI Hangup of its channel)."""
        if call.state != "bridged" or call.leg is not leg:
            return
        self.end_bridged(call, leg, reason="agent")

    def end_bridged(self, call: Call, leg: Leg, reason: str) -> None:
        if leg.timer is not None:
            leg.timer.cancel()
        bid = call.bridge_id
        if reason == "agent":
            # After an attended transfer the agent sits behind the target's Local pair (via).
            far_bridge = call.via_bridge if call.via is not None else bid
            self.hangup_event(leg.two, 16)
            self.agent_complete(call, leg, "agent")
            self.bridge_event("BridgeLeave", far_bridge, 1, leg.one)
            self.hangup_event(leg.one, 16)
            if call.via is not None:
                self.bridge_event("BridgeLeave", far_bridge, 0, call.via[1])
                self.hangup_event(call.via[1], 16)
                self.bridge_event("BridgeLeave", bid, 1, call.via[0])
                self.hangup_event(call.via[0], 16)
            self.bridge_event("BridgeLeave", bid, 0, call.two)
            survey = self.config.survey_agi_url
            if survey and leg.member is not None:
                # Queue(...,c): the caller's ;2 goes on in the dialplan, to the survey.
                call.state, call.leg = "agi", None
                call.two.set(app="AGI", app_data=survey)
                self.start_agi(call, survey, self.after_survey)
            else:
                # The caller's ;2 ends first (its Queue() returns), then the handset (08).
                self.hangup_event(call.two, 16)
                self.hangup_event(call.one, 16)
                call.state = "gone"
                call.truth.ended_at = self.clock.now()
        else:
            self.agent_complete(call, leg, reason)
            self.bridge_event("BridgeLeave", bid, 1, call.two)
            if call.via is not None:
                self.bridge_event("BridgeLeave", bid, 0, call.via[0])
                self.hangup_event(call.via[0], 16)
            self.hangup_event(call.two, 16)
            if call.via is not None:
                self.bridge_event("BridgeLeave", call.via_bridge, 1, call.via[1])
                self.hangup_event(call.via[1], 16)
                self.bridge_event("BridgeLeave", call.via_bridge, 0, leg.one)
            else:
                self.bridge_event("BridgeLeave", bid, 0, leg.one)
            self.hangup_event(leg.one, 16)
            self.hangup_event(leg.two, 16)
        self.member_done(leg)

    def after_survey(self, call: Call, status: str) -> None:
        """The survey's AGI() returned: the dialplan's Hangup() (unless the script or the
        caller already hung up)."""
        call.two.set_var("AGISTATUS", "SUCCESS" if status == "HANGUP" else status)
        if call.state != "agi":
            return
        self.hangup_event(call.two, 16)
        self.hangup_event(call.one, 16)
        call.state = "gone"
        call.truth.ended_at = self.clock.now()

    def new_bridge_id(self) -> str:
        # From the seeded generator, so a scenario's recording is the same bytes every run.
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


_CID_PRES = "CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n"


def bridge_headers(bridge_id: str, count: int, prefix: str = "") -> str:
    p = prefix
    return (
        f"{p}BridgeUniqueid: {bridge_id}\r\n{p}BridgeType: basic\r\n"
        f"{p}BridgeTechnology: simple_bridge\r\n{p}BridgeCreator: <unknown>\r\n"
        f"{p}BridgeName: <unknown>\r\n{p}BridgeNumChannels: {count}\r\n"
        f"{p}BridgeVideoSourceMode: none\r\n"
    )
