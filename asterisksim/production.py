"""The `production-sample` scenario: 08-production-sample.sent.txt replayed on its own timeline.

Every action of the recording is sent at the moment the real client sent it, read off the
recording's `Timestamp:` headers (the first event each action caused, or for `DBPut`s the
gap they fell into). The clock starts at the real login time, so whole-second truncation
(HoldTime/TalkTime) lands the same way as on the real box (e.g. the 5th caller waits
16.014 s and gets HoldTime 17). The UINs are the recording's (its truth file), handed out
in order by the dialplan model instead of random ones.
"""

from __future__ import annotations

from asterisksim.config import ANSWER_DELAY_S
from asterisksim.steps import Step, originate

# The real client logged in at this epoch (SuccessfulAuth 1795312103.505).
LOGIN_S = 1795312103.5


def _at(real_s: float) -> float:
    """Scenario time of a real epoch time of the recording."""
    return round(real_s - LOGIN_S, 3)


def _db(at_s: float, family: str, agent: str, value: int) -> Step:
    return (at_s, {"Action": "DBPut", "Family": family, "Key": agent, "Val": str(value)})


def _agent(at_s: float, agent: str, delay_s: int | None, talk_s: int) -> list[Step]:
    steps = [] if delay_s is None else [_db(at_s, "agentdelay", agent, delay_s)]
    return [*steps, _db(at_s, "agenttalk", agent, talk_s)]


def _member(action: str, at_s: float, queue: str, agent: str) -> Step:
    body = {"Action": action, "Queue": queue, "Interface": f"Local/{agent}@agents/n"}
    if action == "QueueAdd":
        body |= {"MemberName": agent, "Penalty": "0"}
    return (at_s, body)


def _call(at_s: float, name: str, number: str) -> Step:
    return originate(at_s, name, number, uin=True)


def _hangup(at_s: float, caller: int) -> Step:
    return (at_s, {"Action": "Hangup", "Channel": f"{{caller:{caller}:1}}"})


def _xfer(at_s: float, exten: str) -> Step:
    return (
        at_s,
        {"Action": "BlindTransfer", "Channel": "{agent:agent1}", "Context": "transfer-targets",
         "Exten": exten},
    )  # fmt: skip


def _pause(at_s: float, paused: bool) -> Step:
    body = {"Action": "QueuePause", "Queue": "hotline", "Interface": "Local/agent2@agents/n",
            "Paused": "true" if paused else "false"}  # fmt: skip
    if paused:
        body["Reason"] = "lunch"
    return (at_s, body)


_SETUP_S = 0.2  # QueueMemberAdded at 1795312103.711
_END_S = _at(1795312196.2)  # QueueStatus/QueueSummary/QueueRemove, just before 196.223

PRODUCTION_SAMPLE: list[Step] = [
    (0, {"Action": "QueueReset", "Queue": "hotline"}),
    (0, {"Action": "QueueReset", "Queue": "support"}),
    *_agent(0, "agent1", 2, 13), *_agent(0, "agent2", 2, 12),
    *_agent(0, "agent3", 3, 17), *_agent(0, "agent4", 2, 10),
    _member("QueueAdd", _SETUP_S, "hotline", "agent1"),
    _member("QueueAdd", _SETUP_S, "hotline", "agent2"),
    _member("QueueAdd", _SETUP_S, "hotline", "agent3"),
    _member("QueueAdd", _SETUP_S, "support", "agent4"),
    # Originates: at the callers' Newchannel times.
    _call(_at(1795312105.715), "Elena Sokolova", "79423938499"),
    _call(_at(1795312107.082), "Boris Orlov", "79976787301"),
    _call(_at(1795312107.298), "Olga Kuznetsova", "79591682483"),
    _call(_at(1795312108.056), "Boris Orlov", "79619659571"),
    _call(_at(1795312110.496), "Elena Sokolova", "79310965605"),
    _call(_at(1795312112.961), "Oksana Shevchenko", "380588136138"),
    _hangup(_at(1795312121.121), 3),  # Olga hangs up while talking to agent1
    *_agent(_at(1795312121.124), "agent1", 1, 7),
    *_agent(_at(1795312121.570), "agent1", None, 30),  # just after agent1 is called again
    *_agent(_at(1795312122.103), "agent2", 2, 22),
    _xfer(_at(1795312125.090), "300"),  # agent1 sends the 4th caller to queue support
    *_agent(_at(1795312125.094), "agent1", 1, 14),
    *_agent(_at(1795312126.012), "agent1", None, 30),
    *_agent(_at(1795312126.735), "agent3", 3, 19),
    _xfer(_at(1795312129.518), "400"),  # agent1 sends the 5th caller to the IVR
    *_agent(_at(1795312129.521), "agent1", 1, 13),
    _hangup(_at(1795312135.522), 5),  # the 5th caller hangs up in the IVR
    _hangup(_at(1795312142.588), 6),
    *_agent(_at(1795312142.591), "agent2", 3, 13),
    _pause(_at(1795312144.715), True),
    _pause(_at(1795312194.719), False),  # 50 s of lunch
    (_END_S, {"Action": "QueueStatus"}),
    (_END_S, {"Action": "QueueSummary"}),
    _member("QueueRemove", _END_S, "hotline", "agent1"),
    _member("QueueRemove", _END_S, "hotline", "agent2"),
    _member("QueueRemove", _END_S, "hotline", "agent3"),
    _member("QueueRemove", _END_S, "support", "agent4"),
    *[step for n in range(1, 5) for step in _agent(_END_S, f"agent{n}", 2, 3600)],
]  # fmt: skip

# manager.conf of the production-like recording, and the recording's clock and UINs.
PRODUCTION_CONFIG: dict[str, object] = {
    "timestampevents": True,
    "channelvars": ("UIN", "TICKET_ID", "TRANSFER_COUNT"),
    "start_s": LOGIN_S,
    "answer_delay_s": ANSWER_DELAY_S,
    "uins": ("92106399", "92107403", "92107405", "92108411", "92110413", "92113415"),
}
