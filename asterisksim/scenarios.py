"""Named, exactly scripted scenarios (the transcripts' set-up), run through a real AMI session."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from asterisksim.config import SimConfig
from asterisksim.production import PRODUCTION_CONFIG, PRODUCTION_SAMPLE
from asterisksim.sim import SimulatedAsterisk
from asterisksim.steps import Step
from asterisksim.steps import originate as _call
from asterisksim.truth import CallTruth

_REF = re.compile(r"\{(caller|agent):([^}]+)\}")


def _agent_setup(*agents: tuple[str, int]) -> list[Step]:
    steps: list[Step] = []
    for name, delay_s in agents:
        steps.append(
            (0, {"Action": "DBPut", "Family": "agentdelay", "Key": name, "Val": str(delay_s)})
        )
        steps.append((0, {"Action": "DBPut", "Family": "agenttalk", "Key": name, "Val": "3600"}))
    return steps


def _add(queue: str, agent: str, **extra: str) -> Step:
    return (
        0,
        {
            "Action": "QueueAdd",
            "Queue": queue,
            "Interface": f"Local/{agent}@agents/n",
            "MemberName": agent,
            "Penalty": "0",
            **extra,
        },
    )


def _hangup(at_s: float, channel: str) -> Step:
    return (at_s, {"Action": "Hangup", "Channel": channel})


def _xfer(at_s: float, action: str, channel: str, exten: str) -> Step:
    return (
        at_s,
        {"Action": action, "Channel": channel, "Context": "transfer-targets", "Exten": exten},
    )


def _status(at_s: float, queue: str | None = "hotline") -> Step:
    return (at_s, {"Action": "QueueStatus", **({"Queue": queue} if queue else {})})


def _remove(at_s: float, queue: str, agent: str) -> Step:
    return (at_s, {"Action": "QueueRemove", "Queue": queue, "Interface": f"Local/{agent}@agents/n"})


def _transfers(action: str, who: tuple[str, str]) -> list[Step]:
    return [
        *_agent_setup(("agent1", 2), ("agent2", 2), ("agent3", 2)),
        _add("hotline", "agent1"),
        _add("support", "agent3"),
        _call(0, "Dave", "79000000004"),
        _xfer(5, action, who[0], "200"),
        _xfer(10, action, who[1], "300"),
        _hangup(15, "{caller:1:1}"),
        _status(15.1),
        _status(15.1, "support"),
        _remove(15.2, "hotline", "agent1"),
        _remove(15.2, "support", "agent3"),
    ]


SCENARIOS: dict[str, list[Step]] = {
    "answered": [
        (0, {"Action": "QueueReset", "Queue": "hotline"}),
        (0, {"Action": "QueueReset", "Queue": "support"}),
        *_agent_setup(("agent1", 2)),
        _add("hotline", "agent1"),
        _call(0, "Alice", "79000000001"),
        _hangup(5, "{caller:1:1}"),
        _status(5.1),
        _remove(5.2, "hotline", "agent1"),
    ],
    "slow-answer-outside-sl": [
        *_agent_setup(("agent1", 2)),
        _add("hotline", "agent1"),
        (
            0,
            {
                "Action": "QueuePause",
                "Queue": "hotline",
                "Interface": "Local/agent1@agents/n",
                "Paused": "true",
                "Reason": "coffee",
            },
        ),
        _call(0, "Bob", "79000000002"),
        (
            45.5,
            {
                "Action": "QueuePause",
                "Queue": "hotline",
                "Interface": "Local/agent1@agents/n",
                "Paused": "false",
            },
        ),
        _hangup(51, "{caller:1:1}"),
        _status(51.1),
        _remove(51.2, "hotline", "agent1"),
    ],
    "abandon": [_call(0, "Carol", "79000000003"), _hangup(5, "{caller:1:1}"), _status(5.1)],
    "blind-transfer-twice": _transfers("BlindTransfer", ("{agent:agent1}", "{agent:agent2}")),
    "redirect-transfer-twice": _transfers("Redirect", ("{caller:1:2}", "{caller:1:2}")),
    "attended-transfer": [
        *_agent_setup(("agent1", 2), ("agent3", 2)),
        _add("hotline", "agent1"),
        _call(0, "Erin", "79000000005"),
        _xfer(5, "Atxfer", "{agent:agent1}", "201"),
        _hangup(9, "{agent:agent1}"),
        _hangup(12, "{caller:1:1}"),
        _status(12.1),
        _remove(12.2, "hotline", "agent1"),
    ],
    "attended-transfer-cancel": [
        *_agent_setup(("agent1", 2), ("agent3", 4)),
        _add("hotline", "agent1"),
        _call(0, "Erin", "79000000005"),
        _xfer(5, "Atxfer", "{agent:agent1}", "201"),
        (6, {"Action": "CancelAtxfer", "Channel": "{agent:agent1}"}),
        _hangup(9, "{caller:1:1}"),
        _status(9.1),
        _remove(9.2, "hotline", "agent1"),
    ],
    "status-actions": [
        *_agent_setup(("agent1", 1)),
        _add("hotline", "agent1"),
        _add("hotline", "agent2", Paused="true", Reason="training"),
        _call(0, "Frank", "79000000006"),
        _call(1, "Grace", "79000000007"),
        _status(4),
        _status(4, None),
        (4, {"Action": "QueueSummary"}),
        (4, {"Action": "QueueSummary", "Queue": "hotline"}),
        (4, {"Action": "CoreShowChannels"}),
        (4, {"Action": "Command", "Command": "queue show hotline"}),
        (4, {"Action": "Command", "Command": "queue show"}),
        (4, {"Action": "Command", "Command": "core show channels concise"}),
        (4, {"Action": "Status"}),
        _hangup(4.5, "{caller:2:1}"),
        _hangup(5, "{caller:1:1}"),
        _status(5.1),
        _remove(5.2, "hotline", "agent1"),
        _remove(5.2, "hotline", "agent2"),
    ],
    "fastagi": [
        *_agent_setup(("agent1", 2)),
        _add("hotline", "agent1"),
        _call(0, "Hank", "79000000008", agi=True),
        *[
            (
                4.9 + 0.2 * i,
                {"Action": "PlayDTMF", "Channel": "{caller:1:1}", "Digit": d, "Duration": "120"},
            )
            for i, d in enumerate("42#")
        ],
        _hangup(10.5, "{caller:1:1}"),
        _remove(10.6, "hotline", "agent1"),
    ],
}


# 08-production-sample replayed on its own timeline (see asterisksim.production).
SCENARIOS["production-sample"] = PRODUCTION_SAMPLE

# manager.conf of the production-like recording (08): per-scenario SimConfig overrides.
SCENARIO_CONFIG: dict[str, dict[str, object]] = {"production-sample": PRODUCTION_CONFIG}

# The FastAGI script of 07-fastagi.wire.txt, served in-process for the `fastagi` scenario.
DEMO_AGI_COMMANDS = [
    "SET VARIABLE UIN 12345",
    'SAY DIGITS 12345 ""',
    'STREAM FILE hello-world ""',
    "GET DATA beep 5000 3",
    "GET VARIABLE UIN",
    'VERBOSE "ticket 12345 read out" 1',
    "NOOP done",
]


@dataclass
class ScenarioRun:
    name: str
    received: bytes
    truth: list[CallTruth] = field(default_factory=list)
    # The FastAGI exchange as in 07-fastagi.wire.txt: ("A", line) from Asterisk, ("S", line).
    agi_wire: list[tuple[str, str]] = field(default_factory=list)

    @property
    def agi_replies(self) -> list[str]:
        """Asterisk's answers to the commands (the `A>` lines after the environment)."""
        sent = [i for i, (who, _) in enumerate(self.agi_wire) if who == "S"]
        return [self.agi_wire[i + 1][1] for i in sent if i + 1 < len(self.agi_wire)]


async def _demo_agi(
    wire: list[tuple[str, str]], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            line = (await asyncio.wait_for(reader.readline(), 10)).decode().rstrip("\n")
            wire.append(("A", line))
            if not line:
                break
        for command in DEMO_AGI_COMMANDS:
            writer.write(command.encode() + b"\n")
            await writer.drain()
            wire.append(("S", command))
            reply = await asyncio.wait_for(reader.readline(), 60)
            wire.append(("A", reply.decode().rstrip("\n")))
    finally:
        writer.close()


def _resolve(sim: SimulatedAsterisk, text: str, first_call: int) -> str:
    def one(match: re.Match[str]) -> str:
        kind, ref = match.groups()
        if kind == "caller":
            index, half = ref.split(":")
            call = sim.pbx.calls[first_call + int(index) - 1]
            return (call.one if half == "1" else call.two).name
        live = [leg for _, leg in sim.pbx.legs.values() if leg.agent == ref and not leg.one.hung_up]
        if not live:
            raise LookupError(f"no live channel of {ref}")
        return live[-1].one.name

    return _REF.sub(one, text)


async def run_scenario(
    name: str, sim: SimulatedAsterisk | None = None, config: SimConfig | None = None
) -> ScenarioRun:
    """Run scenario `name`; returns the bytes a client logged in for the whole run received."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    if sim is None:
        config = config or SimConfig(**SCENARIO_CONFIG.get(name, {}))  # type: ignore[arg-type]
        agi_wire: list[tuple[str, str]] = []
        agi_server = None
        if name == "fastagi":
            agi_server = await asyncio.start_server(
                lambda r, w: _demo_agi(agi_wire, r, w), "127.0.0.1", 0
            )
            port = agi_server.sockets[0].getsockname()[1]
            config.agi_url = f"agi://127.0.0.1:{port}/hotline"
        try:
            async with SimulatedAsterisk(config) as own:
                run = await run_scenario(name, own)
        finally:
            if agi_server is not None:
                agi_server.close()
        run.agi_wire = agi_wire
        return run
    reader, writer = await asyncio.open_connection(sim.host, sim.port)
    received = bytearray()

    async def wait_for(marker: bytes) -> None:
        while marker not in received:
            chunk = await asyncio.wait_for(reader.read(65536), 10)
            if not chunk:
                return
            received.extend(chunk)

    steps: list[Step] = [
        (0, {"Action": "Login", "Username": sim.config.username, "Secret": sim.config.secret}),
        *SCENARIOS[name],
    ]
    steps.append((steps[-1][0] + 0.1, {"Action": "Logoff"}))
    start_s, first_call = sim.now(), len(sim.pbx.calls)
    for number, (at_s, action) in enumerate(steps, 1):
        await sim.run_until(start_s + at_s)
        aid = f"{name}-{number}"
        headers = [("Action", action["Action"]), ("ActionID", aid)]
        headers += [(k, _resolve(sim, v, first_call)) for k, v in action.items() if k != "Action"]
        writer.write("".join(f"{k}: {v}\r\n" for k, v in headers).encode() + b"\r\n")
        await writer.drain()
        await wait_for(f"ActionID: {aid}\r\n".encode())
        await sim.run_until(sim.now())
    await wait_for(b"Thanks for all the fish.\r\n\r\n")
    writer.close()
    return ScenarioRun(name, bytes(received), sim.ground_truth[first_call:])
