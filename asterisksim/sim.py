"""`SimulatedAsterisk`: the PBX model, its AMI server and its clock behind one small API."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from asterisksim.actions import Actions
from asterisksim.calls import Call
from asterisksim.clock import Clock, RealClock, VirtualClock
from asterisksim.config import AgentProfile, SimConfig
from asterisksim.frames import CLASSES
from asterisksim.pbx import PBX
from asterisksim.queue_log import QueueLogWriter
from asterisksim.queues import Member
from asterisksim.server import AmiServer
from asterisksim.truth import CallTruth


class SimulatedAsterisk:
    """A running simulated Asterisk; use as `async with SimulatedAsterisk(config) as pbx:`."""

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        accelerated: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self.config = config or SimConfig()
        if clock is None:
            clock = VirtualClock(self.config.start_s) if accelerated else RealClock()
        self.clock = clock
        self.pbx = PBX(self.config, clock)
        self.server = AmiServer(self.pbx, Actions(self.pbx))
        if isinstance(clock, VirtualClock):
            clock.after_batch = self.server.drain
        self.host = self.config.host
        self.port = self.config.port

    async def __aenter__(self) -> SimulatedAsterisk:
        self.host, self.port = await self.server.start(self.config.host, self.config.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        for task in list(self.pbx.tasks):
            task.cancel()
        await self.server.close()

    def now(self) -> float:
        return self.clock.now()

    def drop_ami_clients(self) -> int:
        """Cut every AMI client's connection (the fault suite's "AMI connection cut"); the
        PBX goes on. How many were cut."""
        return self.server.drop_clients()

    async def run_until(self, when_s: float) -> None:
        """Let simulated time reach `when_s` (epoch seconds of the simulated clock)."""
        await self.clock.run_until(when_s)
        await self.server.drain()

    async def run_for(self, duration_s: float) -> None:
        await self.run_until(self.clock.now() + duration_s)

    def place_call(
        self,
        caller_num: str,
        caller_name: str = "",
        *,
        use_agi: bool | None = None,
        patience_s: float | None = None,
        dtmf: str = "",
        talk_s: float | None = None,
    ) -> Call:
        """A caller rings the hotline now.

        `patience_s`: hangs up if still waiting in the queue then; `talk_s`: the agent ends the
        call after that long (else the agent's own `talk_s`); `dtmf`: digits for GET DATA.
        """
        agi = bool(self.config.agi_url) if use_agi is None else use_agi
        return self.pbx.originate(
            caller_num, caller_name, use_agi=agi, patience_s=patience_s, dtmf=dtmf, talk_s=talk_s
        )

    def add_agent(
        self,
        name: str,
        queue: str = "hotline",
        *,
        answer_delay_s: float = 2.0,
        talk_s: float | None = None,
        paused: bool = False,
        reason: str = "",
    ) -> Member:
        """Log `Local/<name>@agents/n` into `queue` (QueueMemberAdded) with its behaviour."""
        self.pbx.agents[name] = AgentProfile(answer_delay_s, talk_s)
        q = self.pbx.queues[queue]
        interface = f"Local/{name}@agents/n"
        now = int(self.clock.now())
        member = Member(
            queue,
            interface,
            name,
            0,
            paused,
            reason if paused else "",
            now if paused else 0,
            now,
            ringinuse=q.config.ringinuse,
            wrapuptime_s=q.config.wrapuptime_s,
        )
        q.members[interface] = member
        self.pbx.device_state(
            f"Queue:{queue}_pause_{interface}", "INUSE" if paused else "NOT_INUSE"
        )
        self.pbx.emit(CLASSES["agent"], "QueueMemberAdded", member.body())
        self.pbx.queue_states(q)
        self.pbx.kick()
        return member

    def pause_agent(self, name: str, paused: bool, reason: str = "") -> None:
        for q in self.pbx.queues.values():
            member = q.members.get(f"Local/{name}@agents/n")
            if member is not None:
                member.paused, member.paused_reason = paused, reason if paused else ""
                if paused:
                    member.last_pause = int(self.clock.now())
                self.pbx.device_state(f"Queue:{q.name}_pause_{member.interface}",
                                      "INUSE" if paused else "NOT_INUSE")  # fmt: skip
                self.pbx.emit(CLASSES["agent"], "QueueMemberPause", member.body())
                self.pbx.queue_states(q)
        self.pbx.kick()

    def write_queue_log(self, path: Path | None = None) -> QueueLogWriter:
        """From now on, keep a queue_log as app_queue writes one (`writer.text()`; with
        `path`, appended to that file line by line too)."""
        writer = QueueLogWriter(path)
        self.pbx.sinks.append(writer.sink)
        return writer

    @property
    def ground_truth(self) -> list[CallTruth]:
        return [call.truth for call in self.pbx.calls]
