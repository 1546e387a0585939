"""AMI actions of the simulated Asterisk: responses shaped like Asterisk 22's."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from asterisksim.agi import play_dtmf
from asterisksim.frames import FrameError, parse_mask, render
from asterisksim.pbx import PBX, SimError
from asterisksim.queues import Member
from asterisksim.status import (
    channel_status,
    command_output,
    core_show_channels,
    queue_status,
    queue_summary,
)

if TYPE_CHECKING:
    from asterisksim.server import Session

Frame = dict[str, str]
_CID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')
AGENT = 32


def parse_callerid(text: str) -> tuple[str, str]:
    match = _CID.match(text)
    if match:
        return match.group(2), match.group(1).strip()
    return text.strip(), ""


class Actions:
    """Dispatches a client's action frames to handlers; unknown ones get Asterisk's error."""

    def __init__(self, pbx: PBX) -> None:
        self.pbx = pbx
        self.handlers: dict[str, Callable[[Session, Frame, list[tuple[str, str]]], None]] = {
            name[3:].lower(): getattr(self, name) for name in dir(self) if name.startswith("do_")
        }

    def handle(self, session: Session, headers: list[tuple[str, str]]) -> None:
        frame = {k.lower(): v for k, v in headers}
        action = frame.get("action", "").lower()
        aid = frame.get("actionid")
        if not session.authed and action not in ("login", "logoff", "challenge"):
            session.send(self.reply(aid, "Error", "Authentication Required"))
            return
        handler = self.handlers.get(action)
        if handler is None:
            session.send(self.reply(aid, "Error", "Invalid/unknown command"))
            return
        try:
            handler(session, frame, headers)
        except (SimError, FrameError, ValueError, KeyError) as exc:
            session.send(self.reply(aid, "Error", str(exc).strip("'") or "Failed"))

    @staticmethod
    def reply(
        aid: str | None, response: str, message: str, extra: list[tuple[str, str]] | None = None
    ) -> bytes:
        pairs = [("Response", response)]
        if aid is not None:
            pairs.append(("ActionID", aid))
        pairs.append(("Message", message))
        return render(pairs + (extra or []))

    def later(self, fn: Callable[..., object], *args: object) -> None:
        """Act after the response is written, as Asterisk does for call-changing actions."""
        self.pbx.clock.call_later(0, fn, *args)

    # -- session ---------------------------------------------------------------------------
    def do_login(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        cfg = self.pbx.config
        if f.get("username") != cfg.username or f.get("secret") != cfg.secret:
            s.send(self.reply(f.get("actionid"), "Error", "Authentication failed"))
            s.close()
            return
        s.authed = True
        if "events" in f:
            s.mask = parse_mask(f["events"])
        s.send(self.reply(f.get("actionid"), "Success", "Authentication accepted"))
        s.send(
            b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 6\r\nLastReload: 6\r\n"
            b"Status: Fully Booted\r\n\r\n"
        )

    def do_logoff(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        s.send(self.reply(f.get("actionid"), "Goodbye", "Thanks for all the fish."))
        s.close()

    def do_ping(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        pairs = [("Response", "Success")]
        if "actionid" in f:
            pairs.append(("ActionID", f["actionid"]))
        pairs += [("Ping", "Pong"), ("Timestamp", f"{self.pbx.clock.now():.6f}")]
        s.send(render(pairs))

    def do_events(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        s.mask = parse_mask(f.get("eventmask", "on"))
        pairs = [("Response", "Success")]
        if "actionid" in f:
            pairs.append(("ActionID", f["actionid"]))
        s.send(render([*pairs, ("Events", "On" if s.mask else "Off")]))

    # -- calls -----------------------------------------------------------------------------
    def do_originate(self, s: Session, f: Frame, headers: list[tuple[str, str]]) -> None:
        channel = f.get("channel", "")
        cfg = self.pbx.config
        if channel != f"Local/{cfg.entry_exten}@{cfg.entry_context}":
            raise SimError("Originate only models callers of " + cfg.entry_exten)
        num, name = parse_callerid(f.get("callerid", ""))
        # Several `Variable:` headers, or one with comma-separated pairs, as manager.c takes.
        pairs = [p for k, v in headers if k.lower() == "variable" for p in v.split(",")]
        variables = dict(p.split("=", 1) for p in pairs if "=" in p)
        use_agi = variables.pop("USE_AGI", "yes" if cfg.agi_url else "no").lower() == "yes"
        s.send(self.reply(f.get("actionid"), "Success", "Originate successfully queued"))
        self.later(self._originate, num, name, use_agi, f.get("actionid", ""), variables)

    def _originate(
        self, num: str, name: str, use_agi: bool, aid: str, variables: dict[str, str]
    ) -> None:
        self.pbx.originate(num, name, use_agi=use_agi, action_id=aid, variables=variables)

    def do_hangup(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        self.pbx.find(f.get("channel", ""))
        s.send(self.reply(f.get("actionid"), "Success", "Channel Hungup"))
        self.later(self.pbx.hangup, f["channel"])

    def do_redirect(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        self.pbx.find(f.get("channel", ""))
        s.send(self.reply(f.get("actionid"), "Success", "Redirect successful"))
        self.later(self.pbx.redirect, f["channel"], f.get("context", ""), f.get("exten", ""))

    def do_blindtransfer(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        self.pbx._bridged_leg(f.get("channel", ""))
        s.send(self.reply(f.get("actionid"), "Success", "Transfer succeeded"))
        self.pbx.blind_transfer(f["channel"], f.get("context", ""), f.get("exten", ""))

    def do_atxfer(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        self.pbx._bridged_leg(f.get("channel", ""))
        s.send(self.reply(f.get("actionid"), "Success", "Atxfer successfully queued"))
        self.later(self.pbx.atxfer, f["channel"], f.get("context", ""), f.get("exten", ""))

    def do_canceltxfer(self, s: Session, f: Frame, h: list[tuple[str, str]]) -> None:
        self.do_cancelatxfer(s, f, h)

    def do_cancelatxfer(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        call, _leg = self.pbx.find(f.get("channel", ""))
        if call.consult is None:
            raise SimError("No active transfer")
        s.send(self.reply(f.get("actionid"), "Success", "CancelAtxfer successfully queued"))
        self.later(self.pbx.cancel_atxfer, f["channel"])

    def do_playdtmf(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        call, _leg = self.pbx.find(f.get("channel", ""))
        s.send(self.reply(f.get("actionid"), "Success", "DTMF successfully queued"))
        play_dtmf(self.pbx, call, f.get("digit", ""))

    def do_setvar(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        call, leg = self.pbx.find(f.get("channel", ""))
        chan = call.two if leg is None else leg.one
        chan.set_var(f["variable"], f.get("value", ""))
        s.send(self.reply(f.get("actionid"), "Success", "Variable Set"))

    def do_getvar(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        call, leg = self.pbx.find(f.get("channel", ""))
        chan = call.two if leg is None else leg.one
        name = f["variable"]
        pairs = [("Response", "Success")]
        if "actionid" in f:
            pairs.append(("ActionID", f["actionid"]))
        s.send(render([*pairs, ("Variable", name), ("Value", chan.get_var(name) or "")]))

    def do_dbput(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        self.pbx.db[(f["family"], f["key"])] = f.get("val", "")
        self.pbx.agents.pop(f["key"], None)
        s.send(self.reply(f.get("actionid"), "Success", "Updated database successfully"))

    # -- queues ----------------------------------------------------------------------------
    def do_queueadd(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        # app_queue's own words for each refusal (manager_add_queue_member).
        if not f.get("queue"):
            raise SimError("'Queue' not specified.")
        interface = f.get("interface", "")
        if not interface:
            raise SimError("'Interface' not specified.")
        queue = self.pbx.queues.get(f["queue"])
        if queue is None:
            raise SimError("Unable to add interface to queue: No such queue")
        if interface in queue.members:
            raise SimError("Unable to add interface: Already there")
        now = int(self.pbx.clock.now())
        name = f.get("membername") or interface
        paused = f.get("paused", "false").lower() in ("true", "1", "yes")
        member = Member(
            queue.name,
            interface,
            name,
            int(f.get("penalty") or 0),
            paused,
            f.get("reason", "") if paused else "",
            now if paused else 0,
            now,
            ringinuse=queue.config.ringinuse,
            wrapuptime_s=queue.config.wrapuptime_s,
        )
        queue.members[interface] = member
        s.send(self.reply(f.get("actionid"), "Success", "Added interface to queue"))
        self.pbx.device_state(f"Queue:{queue.name}_pause_{interface}",
                              "INUSE" if paused else "NOT_INUSE")  # fmt: skip
        self.pbx.emit(AGENT, "QueueMemberAdded", member.body())
        self.pbx.queue_states(queue)
        self.pbx.kick()

    def do_queueremove(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        if not f.get("queue") or not f.get("interface"):
            raise SimError("Need 'Queue' and 'Interface' parameters.")
        queue = self.pbx.queues.get(f["queue"])
        if queue is None:
            raise SimError("Unable to remove interface from queue: No such queue")
        if f["interface"] not in queue.members:
            raise SimError("Unable to remove interface: Not there")
        member = queue.members.pop(f["interface"])
        s.send(self.reply(f.get("actionid"), "Success", "Removed interface from queue"))
        self.pbx.emit(AGENT, "QueueMemberRemoved", member.body())
        self.pbx.queue_states(queue)

    def do_queuepause(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        if not f.get("interface") or not f.get("paused"):
            raise SimError("Need 'Interface' and 'Paused' parameters.")
        paused = f.get("paused", "").lower() in ("true", "1", "yes")
        interface = f.get("interface", "")
        names = [f["queue"]] if f.get("queue") else list(self.pbx.queues)
        members = [
            self.pbx.queues[q].members[interface]
            for q in names
            if q in self.pbx.queues and interface in self.pbx.queues[q].members
        ]
        if not members:
            raise SimError("Interface not found")
        word = "paused" if paused else "unpaused"
        s.send(self.reply(f.get("actionid"), "Success", f"Interface {word} successfully"))
        now = int(self.pbx.clock.now())
        for member in members:
            member.paused = paused
            member.paused_reason = f.get("reason", "") if paused else ""
            member.last_pause = now if paused else member.last_pause
            self.pbx.device_state(f"Queue:{member.queue}_pause_{interface}",
                                  "INUSE" if paused else "NOT_INUSE")  # fmt: skip
            self.pbx.emit(AGENT, "QueueMemberPause", member.body())
            self.pbx.queue_states(self.pbx.queues[member.queue])
        self.pbx.kick()

    def do_queuereset(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        names = [f["queue"]] if f.get("queue") else list(self.pbx.queues)
        for name in names:
            if name not in self.pbx.queues:
                raise SimError("Invalid queue")
            self.pbx.queues[name].reset_stats()
        s.send(self.reply(f.get("actionid"), "Success", "Queue stats reset successfully"))

    def do_queuestatus(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        s.send(queue_status(self.pbx, f.get("actionid"), f.get("queue"), f.get("member")))

    def do_queuesummary(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        s.send(queue_summary(self.pbx, f.get("actionid"), f.get("queue")))

    def do_coreshowchannels(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        s.send(core_show_channels(self.pbx, f.get("actionid")))

    def do_command(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        s.send(command_output(self.pbx, f.get("actionid"), f.get("command", "")))

    def do_status(self, s: Session, f: Frame, _: list[tuple[str, str]]) -> None:
        s.send(channel_status(self.pbx, f.get("actionid"), f.get("channel")))
