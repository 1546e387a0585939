"""Erlang C and Erlang A (Palm's M/M/n+M): the service level, ASA and abandon rate of n agents,
and the fewest agents that reach a target.

- Erlang C (M/M/n): Poisson arrivals, exponential handle times, nobody gives up. Closed forms
  through Erlang B's stable recursion: P(wait) = B / (1 - rho (1 - B)),
  P(W > t) = P(wait) e^-(n mu - lambda) t, ASA = P(wait) / (n mu - lambda).
- Erlang A (Garnett, Mandelbaum and Reiman 2002): as C, and every waiting caller hangs up
  after an exponential patience of mean 1/theta. The birth-death chain's stationary law is
  a product form (states 0..n as Erlang B's; a queue of j: rates lambda / (n mu + i theta));
  an arrival (PASTA) who finds j waiting moves forward through j + 1 exponential phases of
  rate n mu + i theta while its own patience runs, which is an absorbing chain solved by
  uniformisation over all j at once.

The service level is Hotline's own figure (`core.service_level`): answered within T over
answered plus abandoned after S (short abandons count neither way); with no abandonment it
is P(W <= T). Rates are per second, times in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from crm.staffing.errors import StaffingError

Model = Literal["erlang_c", "erlang_a"]
MAX_AGENTS = 5_000  # a load needing more is refused, not searched for ever
MAX_QUEUE = 200_000  # longest queue the Erlang A chain follows (its tail is far below 1e-15)
TAIL = 1e-15  # queue states lighter than this (relative) are left out
POISSON_TAIL = 1e-13


@dataclass(frozen=True)
class Load:
    """What the agents face: arrivals per second, handle time, and (Erlang A) patience."""

    rate_per_s: float
    aht_s: float
    patience_s: float | None = None  # None: nobody gives up (Erlang C)

    def __post_init__(self) -> None:
        if not (self.rate_per_s >= 0 and math.isfinite(self.rate_per_s)):
            raise StaffingError(f"the call rate must be a number >= 0, not {self.rate_per_s!r}")
        if not (self.aht_s > 0 and math.isfinite(self.aht_s)):
            raise StaffingError(f"the handle time must be > 0 s, not {self.aht_s!r}")
        if self.patience_s is not None and not (
            self.patience_s > 0 and math.isfinite(self.patience_s)
        ):
            raise StaffingError(f"the patience must be > 0 s, not {self.patience_s!r}")

    @property
    def erlangs(self) -> float:
        """The offered load a = lambda / mu (agents kept busy on average)."""
        return self.rate_per_s * self.aht_s

    @property
    def model(self) -> Model:
        return "erlang_c" if self.patience_s is None else "erlang_a"


@dataclass(frozen=True)
class Figures:
    """What n agents give: fractions in [0, 1], seconds."""

    agents: int
    model: Model
    wait_probability: float  # an arrival finds every agent busy
    sl: float  # Hotline's service level (see the module docstring), a fraction
    asa_s: float  # mean wait of the answered calls
    abandon_rate: float  # abandoned / offered
    occupancy: float  # busy agents / agents

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "agents": self.agents,
            "expected_sl": round(100 * self.sl, 2),
            "expected_asa_s": round(self.asa_s, 2),
            "expected_abandon_rate": round(100 * self.abandon_rate, 2),
            "model": self.model,
        }


def erlang_b(agents: int, erlangs: float) -> float:
    """Blocking probability of `agents` lines offered `erlangs` (stable recursion)."""
    b = 1.0
    for k in range(1, agents + 1):
        b = erlangs * b / (k + erlangs * b)
    return b


def erlang_c(agents: int, erlangs: float) -> float:
    """Probability that an arrival waits (M/M/n); 1.0 when the agents cannot keep up."""
    if agents <= erlangs:
        return 1.0
    b = erlang_b(agents, erlangs)
    return b / (1 - erlangs / agents * (1 - b))


def figures(load: Load, agents: int, threshold_s: float, short_abandon_s: float = 0.0) -> Figures:
    """The expected figures of `agents` agents under `load`."""
    if agents < 1:
        raise StaffingError("the number of agents must be at least 1")
    if threshold_s < 0 or short_abandon_s < 0:
        raise StaffingError("the threshold and the short abandon must be >= 0 s")
    if load.patience_s is None:
        return _erlang_c_figures(load, agents, threshold_s)
    return _erlang_a_figures(load, agents, threshold_s, short_abandon_s)


def _erlang_c_figures(load: Load, agents: int, threshold_s: float) -> Figures:
    a, mu = load.erlangs, 1 / load.aht_s
    if load.rate_per_s == 0:
        return Figures(agents, "erlang_c", 0.0, 1.0, 0.0, 0.0, 0.0)
    if agents <= a:  # the queue grows without end: nobody is answered within T in the long run
        return Figures(agents, "erlang_c", 1.0, 0.0, math.inf, 0.0, 1.0)
    c = erlang_c(agents, a)
    drain = agents * mu - load.rate_per_s
    return Figures(
        agents=agents,
        model="erlang_c",
        wait_probability=c,
        sl=1 - c * math.exp(-drain * threshold_s),
        asa_s=c / drain,
        abandon_rate=0.0,
        occupancy=a / agents,
    )


def _queue_law(load: Load, agents: int) -> tuple[float, np.ndarray]:
    """P(an arrival finds a free agent) and P(it finds all busy and j waiting), j = 0, 1, ..."""
    lam, mu = load.rate_per_s, 1 / load.aht_s
    theta = 1 / load.patience_s  # type: ignore[operator]
    b = erlang_b(agents, load.erlangs)
    # States 0..n-1 weigh 1 - B, state n weighs B (Erlang B's normalisation), then the queue.
    weights = [b]
    total, term = b, b
    for j in range(1, MAX_QUEUE):
        term *= lam / (agents * mu + j * theta)
        weights.append(term)
        total += term
        if term < TAIL * total and j * theta > lam:
            break
    z = (1 - b) + total
    return (1 - b) / z, np.asarray(weights) / z


def _poisson_weights(mean: float) -> np.ndarray:
    """Poisson(mean) probabilities from 0 up to where the tail is negligible."""
    if mean <= 0:
        return np.ones(1)
    top = int(mean + 10 * math.sqrt(mean) + 20)
    k = np.arange(top + 1)
    logs = -mean + k * math.log(mean) - np.array([math.lgamma(x + 1) for x in k])
    weights = np.exp(logs)
    keep = np.nonzero(np.cumsum(weights[::-1])[::-1] > POISSON_TAIL)[0]
    return weights[: keep[-1] + 1] if keep.size else weights[:1]


def _erlang_a_figures(
    load: Load, agents: int, threshold_s: float, short_abandon_s: float
) -> Figures:
    lam, mu = load.rate_per_s, 1 / load.aht_s
    theta = 1 / load.patience_s  # type: ignore[operator]
    if lam == 0:
        return Figures(agents, "erlang_a", 0.0, 1.0, 0.0, 0.0, 0.0)
    free, waiting = _queue_law(load, agents)
    j = np.arange(waiting.size)
    forward = agents * mu + j * theta  # the phase with j ahead ends at this rate ...
    leave = forward + theta  # ... or the caller's own patience ends it
    served_given_j = np.cumprod(forward / leave)  # every phase ends before the patience
    mean_wait_given_served = np.cumsum(1 / leave)  # phases are Exp(leave) given their end
    served = free + float(np.dot(waiting, served_given_j))
    abandoned = float(np.dot(waiting, 1 - served_given_j))
    wait_served_sum = float(np.dot(waiting, served_given_j * mean_wait_given_served))
    served_by_t, _ = _absorbed_by(waiting, forward, theta, threshold_s)
    _, abandoned_by_s = _absorbed_by(waiting, forward, theta, short_abandon_s)
    counted = served + abandoned - abandoned_by_s
    busy = (lam * served) / mu  # Little: agents busy = answered per second x handle time
    return Figures(
        agents=agents,
        model="erlang_a",
        wait_probability=float(waiting.sum()),
        sl=float((free + served_by_t) / counted) if counted > 0 else 1.0,
        asa_s=wait_served_sum / served if served > 0 else math.inf,
        abandon_rate=abandoned,
        occupancy=min(1.0, busy / agents),
    )


def _absorbed_by(
    start: np.ndarray, forward: np.ndarray, theta: float, t_s: float
) -> tuple[float, float]:
    """Of callers starting with j ahead (weights `start`): the mass answered and the mass
    abandoned by time `t_s` (uniformisation of the pure-death chain of their position)."""
    if t_s <= 0 or start.sum() == 0:
        return 0.0, 0.0
    rate = float(forward[-1] + theta)  # the largest way out of any state
    step_forward = forward / rate
    step_abandon = theta / rate
    stay = 1 - step_forward - step_abandon
    weights = _poisson_weights(rate * t_s)
    mass = start.astype(float).copy()
    served = abandoned = 0.0  # absorbed after k jumps
    served_t = abandoned_t = 0.0
    for k, w in enumerate(weights):
        if k:
            moved = mass * step_forward
            served += moved[0]
            abandoned += mass.sum() * step_abandon
            mass = mass * stay
            mass[:-1] += moved[1:]
        served_t += w * served
        abandoned_t += w * abandoned
    return float(served_t), float(abandoned_t)


def agents_needed(
    load: Load,
    target: float,
    threshold_s: float,
    short_abandon_s: float = 0.0,
    max_agents: int = MAX_AGENTS,
) -> Figures:
    """The fewest agents whose service level reaches `target` (a fraction), with its figures.

    The service level grows with every agent added, so the search gallops up from the load
    and halves back: a few dozen evaluations at most, never an open loop.
    """
    if not 0 < target < 1:
        raise StaffingError(
            f"the target must be above 0 % and below 100 %, not {100 * target:g} %: "
            "with random arrivals some caller always waits longer than any threshold"
        )
    if load.rate_per_s == 0:
        return figures(load, 1, threshold_s, short_abandon_s)

    def reaches(n: int) -> bool:
        return figures(load, n, threshold_s, short_abandon_s).sl >= target

    low = max(1, math.floor(load.erlangs) if load.patience_s is None else 1)
    if load.erlangs >= max_agents:
        raise _beyond(load, max_agents)
    high = max(low, math.ceil(load.erlangs) + 1)
    step = 1
    while not reaches(high):
        low = high + 1
        if high >= max_agents:
            raise _beyond(load, max_agents)
        high = min(max_agents, high + step)
        step *= 2
    while low < high:  # the fewest n in [low, high] that reaches the target
        middle = (low + high) // 2
        if reaches(middle):
            high = middle
        else:
            low = middle + 1
    return figures(load, high, threshold_s, short_abandon_s)


def _beyond(load: Load, max_agents: int) -> StaffingError:
    return StaffingError(
        f"a load of {load.erlangs:.1f} erlangs ({3600 * load.rate_per_s:g} calls/h x "
        f"{load.aht_s:g} s) needs more than {max_agents} agents for this target"
    )


def to_schedule(agents: int, shrinkage: float) -> int:
    """Agents to put on the rota so that `agents` are on the phones after `shrinkage`
    (the share of paid time spent on breaks, training, meetings)."""
    if not 0 <= shrinkage < 1:
        raise StaffingError(f"the shrinkage must be in [0, 1), not {shrinkage!r}")
    return math.ceil(agents / (1 - shrinkage) - 1e-9)
