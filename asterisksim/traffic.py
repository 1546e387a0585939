"""Generated traffic from a seed: Poisson arrivals by hour, handling and patience, agent shifts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from asterisksim.calls import Call
from asterisksim.config import AgentProfile
from asterisksim.sim import SimulatedAsterisk

# Calls per hour over a day (index = hour), a typical hotline curve.
DEFAULT_RATE_PER_HOUR = [
    2,
    1,
    1,
    1,
    1,
    2,
    8,
    25,
    60,
    80,
    85,
    80,
    70,
    75,
    80,
    75,
    65,
    50,
    35,
    25,
    15,
    10,
    6,
    3,
]


@dataclass
class TrafficProfile:
    """What a simulated day looks like; every number has its unit in its name."""

    seed: int = 1
    rate_per_hour: list[float] = field(default_factory=lambda: list(DEFAULT_RATE_PER_HOUR))
    mean_talk_s: float = 180.0
    mean_patience_s: float = 90.0
    answer_delay_s: tuple[float, float] = (1.0, 6.0)
    agents: int = 5
    shift_hours: tuple[int, int] = (7, 21)  # agents logged in from..to (hours of the day)
    pause_probability: float = 0.1  # per agent per hour: a 5-10 min pause
    transfer_probability: float = 0.05
    queue: str = "hotline"


class TrafficGenerator:
    """Schedules a day of callers and agent behaviour on a SimulatedAsterisk's clock."""

    def __init__(self, sim: SimulatedAsterisk, profile: TrafficProfile) -> None:
        self.sim = sim
        self.profile = profile
        self.rng = random.Random(profile.seed)
        self.placed = 0

    def schedule_day(self, start_s: float | None = None, hours: int = 24) -> float:
        """Put `hours` of traffic on the clock from `start_s`; returns the end time."""
        p, clock, rng = self.profile, self.sim.clock, self.rng
        day_s = self.sim.now() if start_s is None else start_s
        lo, hi = p.shift_hours
        for n in range(p.agents):
            name = f"agent{n + 1}"
            self.sim.pbx.agents[name] = self._profile_for()
            clock.call_at(day_s + lo * 3600, self._login, name)
            clock.call_at(day_s + hi * 3600, self._logout, name)
            for hour in range(lo, hi):
                if rng.random() < p.pause_probability:
                    at_s = day_s + hour * 3600 + rng.uniform(0, 3000)
                    clock.call_at(at_s, self.sim.pause_agent, name, True, "break")
                    clock.call_at(at_s + rng.uniform(300, 600), self.sim.pause_agent, name, False)
        for hour in range(hours):
            rate = p.rate_per_hour[hour % 24]
            t_s = day_s + hour * 3600 + rng.expovariate(rate / 3600) if rate else None
            while t_s is not None and t_s < day_s + (hour + 1) * 3600:
                clock.call_at(t_s, self._call)
                t_s += rng.expovariate(rate / 3600)
        return day_s + hours * 3600

    def _profile_for(self) -> AgentProfile:
        lo, hi = self.profile.answer_delay_s
        return AgentProfile(self.rng.uniform(lo, hi), None)

    def _login(self, name: str) -> None:
        interface = f"Local/{name}@agents/n"
        if interface not in self.sim.pbx.queues[self.profile.queue].members:
            profile = self.sim.pbx.agents[name]
            self.sim.add_agent(
                name,
                self.profile.queue,
                answer_delay_s=profile.answer_delay_s,
                talk_s=profile.talk_s,
            )

    def _logout(self, name: str) -> None:
        self.sim.pbx.queues[self.profile.queue].members.pop(f"Local/{name}@agents/n", None)

    def _call(self) -> None:
        p, rng = self.profile, self.rng
        self.placed += 1
        call = self.sim.place_call(
            f"7900{rng.randrange(10**7):07d}",
            f"Caller {self.placed}",
            patience_s=rng.expovariate(1 / p.mean_patience_s),
            talk_s=rng.expovariate(1 / p.mean_talk_s),
            use_agi=False,
        )
        if rng.random() < p.transfer_probability:
            self.sim.clock.call_later(rng.uniform(20, 60), self._maybe_transfer, call)

    def _maybe_transfer(self, call: Call) -> None:
        if call.state == "bridged" and call.leg is not None and call.leg.member is not None:
            self.sim.pbx.blind_transfer(call.leg.one.name, "transfer-targets", "300")


def poisson_arrivals(
    rng: random.Random, rate_per_hour: float, start_s: float, duration_s: float
) -> list[float]:
    """Arrival times of a Poisson process of `rate_per_hour` over [start_s, start_s + duration_s)
    (exponential gaps)."""
    if rate_per_hour < 0 or duration_s < 0:
        raise ValueError("the rate and the duration must be >= 0")
    arrivals: list[float] = []
    if rate_per_hour == 0:
        return arrivals
    t_s = start_s + rng.expovariate(rate_per_hour / 3600)
    while t_s < start_s + duration_s:
        arrivals.append(t_s)
        t_s += rng.expovariate(rate_per_hour / 3600)
    return arrivals


@dataclass
class SteadyLoad:
    """A stationary load, what Erlang C and A assume: callers at a constant Poisson rate,
    exponential talk times and patience, a fixed team logged in all along."""

    rate_per_hour: float
    mean_talk_s: float
    agents: int
    hours: float = 1.0
    mean_patience_s: float | None = None  # None: nobody hangs up while waiting
    answer_delay_s: float = 0.0  # each agent's phone rings this long before they answer
    queue: str = "hotline"
    seed: int = 1
    use_agi: bool = False


class SteadyTraffic:
    """Schedules a `SteadyLoad` on a SimulatedAsterisk's clock."""

    def __init__(self, sim: SimulatedAsterisk, load: SteadyLoad) -> None:
        self.sim = sim
        self.load = load
        self.rng = random.Random(load.seed)
        self.placed = 0
        self.calls: list[Call] = []
        self.arrivals: list[float] = []

    def schedule(self, start_s: float | None = None) -> float:
        """Agents in from `start_s` (default now), callers over `hours`; returns the end."""
        load, clock = self.load, self.sim.clock
        begin_s = self.sim.now() if start_s is None else start_s
        for n in range(load.agents):
            self.sim.add_agent(f"agent{n + 1}", load.queue, answer_delay_s=load.answer_delay_s)
        self.arrivals = poisson_arrivals(self.rng, load.rate_per_hour, begin_s, load.hours * 3600)
        for at_s in self.arrivals:
            clock.call_at(at_s, self._call)
        return begin_s + load.hours * 3600

    def _call(self) -> None:
        load, rng = self.load, self.rng
        self.placed += 1
        patience_s = (
            None if load.mean_patience_s is None else rng.expovariate(1 / load.mean_patience_s)
        )
        self.calls.append(
            self.sim.place_call(
                f"7900{rng.randrange(10**7):07d}",
                f"Caller {self.placed}",
                patience_s=patience_s,
                talk_s=rng.expovariate(1 / load.mean_talk_s),
                use_agi=load.use_agi,
            )
        )
