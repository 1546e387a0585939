"""List-style AMI replies: QueueStatus, QueueSummary, CoreShowChannels and `queue show`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from asterisksim.channels import STATE_DESC
from asterisksim.frames import render

if TYPE_CHECKING:
    from asterisksim.channels import Channel
    from asterisksim.pbx import PBX
    from asterisksim.queues import Queue


def _aid(aid: str | None) -> str:
    return f"ActionID: {aid}\r\n" if aid is not None else ""


def _start(aid: str | None, message: str) -> bytes:
    pairs = [("Response", "Success")]
    if aid is not None:
        pairs.append(("ActionID", aid))
    return render([*pairs, ("EventList", "start"), ("Message", message)])


def _complete(name: str, aid: str | None, items: int, extra: str = "") -> bytes:
    return (
        f"Event: {name}\r\n{_aid(aid)}EventList: Complete\r\nListItems: {items}\r\n{extra}\r\n"
    ).encode()


def _queues(pbx: PBX, name: str | None) -> list[Queue]:
    return [q for q in pbx.queues.values() if not name or q.name == name]


def queue_status(pbx: PBX, aid: str | None, name: str | None, member: str | None) -> bytes:
    now = pbx.clock.now()
    parts = [_start(aid, "Queue status will follow")]
    items = 0
    for queue in _queues(pbx, name):
        parts.append(f"Event: QueueParams\r\n{queue.params_body()}{_aid(aid)}\r\n".encode())
        items += 1
        for m in queue.members.values():
            if member and m.interface != member and m.name != member:
                continue
            body = m.body(ringinuse_header=False).replace("MemberName:", "Name:", 1)
            body = body.replace("Interface:", "Location:", 1)
            parts.append(f"Event: QueueMember\r\n{body}{_aid(aid)}\r\n".encode())
            items += 1
        for pos, entry in enumerate(queue.entries, 1):
            two = entry.call.two
            # app_queue: `now - qe->start`, two time(NULL) readings (whole clock seconds,
            # as HoldTime): a caller who joined at x.99 has Wait 1 at the next x+1.00
            wait_s = int(now) - int(entry.join_s)
            parts.append(
                f"Event: QueueEntry\r\nQueue: {queue.name}\r\nPosition: {pos}\r\n"
                f"Channel: {two.name}\r\nUniqueid: {two.uniqueid}\r\n"
                f"CallerIDNum: {two.cid_num}\r\nCallerIDName: {two.cid_name}\r\n"
                f"ConnectedLineNum: {two.conn_num}\r\nConnectedLineName: {two.conn_name}\r\n"
                f"Wait: {wait_s}\r\nPriority: 0\r\n{_aid(aid)}\r\n".encode()
            )
            items += 1
    parts.append(_complete("QueueStatusComplete", aid, items))
    return b"".join(parts)


def queue_summary(pbx: PBX, aid: str | None, name: str | None) -> bytes:
    now = pbx.clock.now()
    parts = [_start(aid, "Queue summary will follow")]
    queues = _queues(pbx, name)
    for q in queues:
        available = sum(1 for m in q.members.values() if m.available(now, m.interface in pbx.busy))
        longest = int(now - q.entries[0].join_s) if q.entries else 0
        parts.append(
            f"Event: QueueSummary\r\nQueue: {q.name}\r\nLoggedIn: {len(q.members)}\r\n"
            f"Available: {available}\r\nCallers: {len(q.entries)}\r\n"
            f"HoldTime: {q.holdtime_s}\r\nTalkTime: {q.talktime_s}\r\n"
            f"LongestHoldTime: {longest}\r\n{_aid(aid)}\r\n".encode()
        )
    parts.append(_complete("QueueSummaryComplete", aid, len(queues)))
    return b"".join(parts)


def live_channels(pbx: PBX) -> list[Channel]:
    return [c for c in pbx.factory.by_name.values() if not c.hung_up]


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def core_show_channels(pbx: PBX, aid: str | None) -> bytes:
    now = pbx.clock.now()
    parts = [_start(aid, "Channels will follow")]
    chans = live_channels(pbx)
    for chan in chans:
        text = (
            f"Event: CoreShowChannel\r\n{_aid(aid)}{chan.block('', ())}"
            f"Application: {chan.app}\r\nApplicationData: {chan.app_data}\r\n"
            f"Duration: {_duration(now - chan.created_s)}\r\nBridgeId: {chan.bridge_id}\r\n\r\n"
        )
        parts.append(text.encode())
    parts.append(_complete("CoreShowChannelsComplete", aid, len(chans)))
    return b"".join(parts)


def _queue_show(pbx: PBX, queue: Queue) -> list[str]:
    now = pbx.clock.now()
    c = queue.config
    lines = [
        f"{c.name} has {len(queue.entries)} calls (max unlimited) in '{c.strategy}' strategy "
        f"({queue.holdtime_s}s holdtime, {queue.talktime_s}s talktime), W:0, "
        f"C:{queue.completed}, A:{queue.abandoned}, SL:{queue.sl_perf:.1f}%, "
        f"SL2:{queue.sl_perf2:.1f}% within {c.servicelevel_s}s"
    ]
    if queue.members:
        lines.append("   Members: ")
        for m in queue.members.values():
            flags = " (ringinuse disabled)" if not m.ringinuse else ""
            flags += " (dynamic)"
            if m.paused:
                flags += f" (paused:{m.paused_reason} was {int(now) - m.last_pause} secs ago)"
            if m.in_call:
                flags += " (in call)"
            flags += " (In use)" if m.in_call else " (Not in use)"
            taken = (
                f"has taken {m.calls_taken} calls (last was {int(now) - m.last_call} secs ago)"
                if m.calls_taken
                else "has taken no calls yet"
            )
            lines.append(
                f"      {m.name} ({m.interface}){flags} {taken} "
                f"(login was {int(now) - m.login_time} secs ago)"
            )
    else:
        lines.append("   No Members")
    if queue.entries:
        lines.append("   Callers: ")
        for pos, entry in enumerate(queue.entries, 1):
            wait = int(now - entry.join_s)
            lines.append(
                f"      {pos}. {entry.call.two.name} (wait: {wait // 60}:{wait % 60:02d}, prio: 0)"
            )
    else:
        lines.append("   No Callers")
    lines.append("")
    return lines


def command_output(pbx: PBX, aid: str | None, command: str) -> bytes:
    words = command.split()
    pairs = [("Response", "Success")]
    if aid is not None:
        pairs.append(("ActionID", aid))
    if words[:2] == ["queue", "show"]:
        name = words[2] if len(words) > 2 else None
        if name and name not in pbx.queues:
            lines = [f"No such queue: {name}.", ""]
        else:
            lines = [line for q in _queues(pbx, name) for line in _queue_show(pbx, q)] + [""]
        return render(
            [*pairs, ("Message", "Command output follows")] + [("Output", line) for line in lines]
        )
    if words == ["core", "show", "channels", "concise"]:
        now = pbx.clock.now()
        lines = [
            f"{c.name}!{c.context}!{c.exten}!{c.priority}!{STATE_DESC.get(c.state, 'Unknown')}!"
            f"{c.app}!{c.app_data}!{c.cid_num}!!!3!{int(now - c.created_s)}!{c.bridge_id}!"
            f"{c.uniqueid}"
            for c in live_channels(pbx)
        ]
        return render(
            [*pairs, ("Message", "Command output follows")] + [("Output", line) for line in lines]
        )
    pairs[0] = ("Response", "Error")
    return render(
        [
            *pairs,
            ("Message", "Command output follows"),
            (
                "Output",
                f"No such command '{command}' (type 'core show help "
                f"{command}' for other possible commands)",
            ),
        ]
    )


def channel_status(pbx: PBX, aid: str | None, channel: str | None) -> bytes:
    """The `Status` action: one `Status` event per live channel (or the one asked for)."""
    now = pbx.clock.now()
    chans = [c for c in live_channels(pbx) if not channel or c.name == channel]
    parts = [_start(aid, "Channel status will follow")]
    for c in chans:
        parts.append(
            f"Event: Status\r\nPrivilege: Call\r\n{c.block('', ())}Type: Local\r\nDNID: \r\n"
            f"EffectiveConnectedLineNum: {c.conn_num}\r\n"
            f"EffectiveConnectedLineName: {c.conn_name}\r\nTimeToHangup: 0\r\n"
            f"BridgeID: {c.bridge_id}\r\nApplication: {c.app}\r\nData: {c.app_data}\r\n"
            "Nativeformats: (slin)\r\nReadformat: slin\r\nReadtrans: \r\n"
            "Writeformat: slin\r\nWritetrans: \r\nCallgroup: 0\r\nPickupgroup: 0\r\n"
            f"Seconds: {int(now - c.created_s)}\r\n{_aid(aid)}\r\n".encode()
        )
    parts.append(_complete("StatusComplete", aid, len(chans), f"Items: {len(chans)}\r\n"))
    return b"".join(parts)
