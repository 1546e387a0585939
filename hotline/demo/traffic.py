"""The demo's busy hour on the simulated Asterisk: callers through the AGI, agents, transfers."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from asterisksim.calls import Call
from asterisksim.sim import SimulatedAsterisk
from asterisksim.traffic import poisson_arrivals

HOUR_S = 3600.0
RETRY_S = 30.0
# The agents' phones transfer to 300; the dialplan's TRANSFER_CONTEXT ([hotline-transfer])
# runs the AGI route `transfer` first, then [hotline-targets] 300: Queue(support).
TRANSFER_EXTEN = "300"
PHONE_TRANSFER_CONTEXT = "hotline-transfer"


@dataclass
class BusyHour:
    """What the hour looks like; numbers carry their unit."""

    calls: int
    agents: int
    seed: int = 1
    mean_talk_s: float = 150.0
    mean_patience_s: float = 75.0
    answer_delay_s: tuple[float, float] = (1.0, 5.0)
    pause_share: float = 0.3  # agents who take one 3-8 minute break in the hour
    transfer_share: float = 0.1  # answered calls the agent transfers to line 2
    again_share: float = 0.8  # of those: line 2 transfers again, and again (a third try)

    @staticmethod
    def agents_for(calls: int, mean_talk_s: float = 150.0) -> int:
        """Enough agents for ~90 % occupancy: queues form, but the level is not hopeless."""
        return max(3, math.ceil(calls * mean_talk_s / HOUR_S / 0.9))


@dataclass
class TrafficCounts:
    placed: int = 0
    transfer_tries: int = 0
    third_transfer_tries: int = 0


class BusyHourTraffic:
    """Schedules the hour on the simulator's clock; every caller runs the AGI first."""

    def __init__(self, sim: SimulatedAsterisk, hour: BusyHour) -> None:
        self.sim = sim
        self.hour = hour
        self.rng = random.Random(hour.seed)
        self.counts = TrafficCounts()
        self.calls: list[Call] = []

    def schedule(self) -> float:
        """Put the hour on the clock from now; returns when the last caller rings."""
        h, rng, clock = self.hour, self.rng, self.sim.clock
        start_s = self.sim.now()
        support_agents = max(2, h.agents // 6)
        for n in range(h.agents):
            name = f"agent{n + 1}"
            self.sim.add_agent(name, "hotline", answer_delay_s=rng.uniform(*h.answer_delay_s))
            if rng.random() < h.pause_share:
                at_s = start_s + rng.uniform(0, HOUR_S * 0.8)
                clock.call_at(at_s, self.sim.pause_agent, name, True, "break")
                clock.call_at(at_s + rng.uniform(180, 480), self.sim.pause_agent, name, False)
        for n in range(support_agents):
            self.sim.add_agent(
                f"line2-{n + 1}", "support", answer_delay_s=rng.uniform(*h.answer_delay_s)
            )
        # Arrival times: the hour's calls, uniformly at random (a Poisson process given N).
        arrivals = sorted(start_s + rng.uniform(0, HOUR_S) for _ in range(h.calls))
        for at_s in arrivals:
            clock.call_at(at_s, self.call)
        return arrivals[-1] if arrivals else start_s

    def call(self) -> None:
        """One caller now (with the transfers the hour gives some of them)."""
        h, rng = self.hour, self.rng
        self.counts.placed += 1
        call = self.sim.place_call(
            f"7900{rng.randrange(10**7):07d}",
            f"Caller {self.counts.placed}",
            use_agi=True,
            patience_s=rng.expovariate(1 / h.mean_patience_s),
            talk_s=rng.expovariate(1 / h.mean_talk_s) + 20,
        )
        self.calls.append(call)
        if rng.random() < h.transfer_share:
            # Decided now so the random sequence does not depend on what the agents do.
            tries = 1
            while tries < 3 and rng.random() < h.again_share:
                tries += 1
            self.sim.clock.call_later(rng.uniform(40, 120), self._transfer, call, tries)

    def _transfer(self, call: Call, tries_left: int) -> None:
        """The agent on the call transfers it from the phone; line 2 may pass it on again
        (up to 3 tries: the third is Hotline's to refuse, and the caller rings back)."""
        leg = call.leg
        if call.state == "gone":
            return  # the caller hung up: nothing to transfer
        if call.state != "bridged" or leg is None or leg.member is None:
            # Still in the IVR or waiting: the agent decides once they have talked a while.
            self.sim.clock.call_later(RETRY_S, self._transfer, call, tries_left)
            return
        done = len(call.truth.transfers)
        self.counts.transfer_tries += 1
        self.counts.third_transfer_tries += done >= 2
        self.sim.pbx.phone_blind_transfer(leg.one.name, TRANSFER_EXTEN)
        if tries_left > 1:
            self.sim.clock.call_later(
                self.rng.uniform(40, 90), self._transfer, call, tries_left - 1
            )


@dataclass
class SteadyHours:
    """`hotline demo --rate`: callers at a constant Poisson rate for `hours`, exponential talk
    times of mean `aht_s` and patience of mean `patience_s`; every agent logged in all along,
    no breaks, no transfers (the load Erlang C and A describe)."""

    rate_per_hour: float
    aht_s: float
    patience_s: float
    hours: float
    agents: int
    seed: int = 1
    answer_delay_s: tuple[float, float] = (1.0, 5.0)


class SteadyTraffic:
    """Schedules `SteadyHours` on the simulator's clock; every caller runs the AGI first.

    Same face as `BusyHourTraffic` (`counts`, `calls`, `schedule`) for the demo's loop and report.
    """

    def __init__(self, sim: SimulatedAsterisk, load: SteadyHours) -> None:
        self.sim = sim
        self.load = load
        self.rng = random.Random(load.seed)
        self.counts = TrafficCounts()
        self.calls: list[Call] = []
        self.total = 0  # callers scheduled

    def schedule(self) -> float:
        """Put the hours on the clock from now; returns when the last caller rings."""
        load, rng = self.load, self.rng
        start_s = self.sim.now()
        for n in range(load.agents):
            self.sim.add_agent(
                f"agent{n + 1}", "hotline", answer_delay_s=rng.uniform(*load.answer_delay_s)
            )
        arrivals = poisson_arrivals(rng, load.rate_per_hour, start_s, load.hours * HOUR_S)
        self.total = len(arrivals)
        for at_s in arrivals:
            self.sim.clock.call_at(at_s, self.call)
        return arrivals[-1] if arrivals else start_s

    def call(self) -> None:
        """One caller now."""
        load, rng = self.load, self.rng
        self.counts.placed += 1
        self.calls.append(
            self.sim.place_call(
                f"7900{rng.randrange(10**7):07d}",
                f"Caller {self.counts.placed}",
                use_agi=True,
                patience_s=rng.expovariate(1 / load.patience_s),
                talk_s=rng.expovariate(1 / load.aht_s),
            )
        )


class KeepCalling:
    """`hotline demo --keep --keep-calling`: after the hour, callers go on arriving at
    `rate_per_hour` (Poisson) through `traffic.call`, with the agents the hour logged in,
    until `stop()`."""

    def __init__(self, traffic: BusyHourTraffic | SteadyTraffic, rate_per_hour: float) -> None:
        if rate_per_hour <= 0:
            raise ValueError("the calling rate must be positive")
        self.traffic = traffic
        self.rate_per_s = rate_per_hour / HOUR_S
        self.placed = 0
        self._stopped = False

    def start(self) -> None:
        self._next()

    def stop(self) -> None:
        self._stopped = True

    def _next(self) -> None:
        gap_s = self.traffic.rng.expovariate(self.rate_per_s)
        self.traffic.sim.clock.call_later(gap_s, self._arrive)

    def _arrive(self) -> None:
        if self._stopped:
            return
        self.placed += 1
        self.traffic.call()
        self._next()
