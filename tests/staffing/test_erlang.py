"""Erlang C against published table values and closed forms; Erlang A against an independent
M/M/n+M computation (the birth-death chain solved as a linear system, and an event-by-event
simulation), and the planner's refusals."""

from __future__ import annotations

import heapq
import math
import random

import numpy as np
import pytest

from crm.staffing.erlang import (
    Load,
    agents_needed,
    erlang_b,
    erlang_c,
    figures,
    to_schedule,
)
from crm.staffing.errors import StaffingError

# The classic worked example: 100 calls an hour, 180 s handle time = 5 erlangs, 20 s.
CLASSIC = Load(rate_per_s=100 / 3600, aht_s=180)


def test_erlang_b_equals_the_published_table() -> None:
    # Erlang B tables (blocking probability), four decimals.
    assert round(erlang_b(5, 5.0), 4) == 0.2849
    assert round(erlang_b(10, 5.0), 4) == 0.0184
    assert round(erlang_b(1, 1.0), 4) == 0.5
    assert round(erlang_b(2, 1.0), 4) == 0.2


def test_erlang_c_equals_the_published_table_for_five_erlangs() -> None:
    # P(wait) for A = 5 erlangs (Erlang C tables): 6, 7, 8, 9 agents.
    assert [round(erlang_c(n, 5.0), 4) for n in (6, 7, 8, 9)] == [0.5875, 0.3241, 0.1673, 0.0805]


def test_erlang_c_equals_the_closed_forms_of_one_and_two_agents() -> None:
    for rho in (0.1, 0.5, 0.9):
        assert erlang_c(1, rho) == pytest.approx(rho)  # M/M/1: P(wait) = rho
        assert erlang_c(2, 2 * rho) == pytest.approx(2 * rho**2 / (1 + rho))  # M/M/2


def test_the_classic_worked_example_100_calls_180_s_20_s() -> None:
    seven, eight = figures(CLASSIC, 7, 20), figures(CLASSIC, 8, 20)
    # SL = 1 - C e^-(n - A) t / AHT; ASA = C AHT / (n - A)
    assert round(100 * seven.sl, 1) == 74.0
    assert round(seven.asa_s, 1) == 29.2
    assert round(100 * eight.sl, 1) == 88.0
    assert round(eight.asa_s, 1) == 10.0
    assert seven.occupancy == pytest.approx(5 / 7)
    assert agents_needed(CLASSIC, 0.80, 20).agents == 8  # 7 give 74 %, short of 80 %
    assert agents_needed(CLASSIC, 0.70, 20).agents == 7


def test_the_360_calls_per_half_hour_example() -> None:
    # 360 calls per half hour, 240 s, 55 agents, 15 s: 48 erlangs, occupancy 87.3 %.
    load = Load(rate_per_s=720 / 3600, aht_s=240)
    found = figures(load, 55, 15)
    assert load.erlangs == pytest.approx(48)
    assert round(found.occupancy, 3) == 0.873
    assert round(found.wait_probability, 4) == 0.2387
    assert round(found.asa_s, 1) == 8.2
    assert round(100 * found.sl, 1) == 84.6


def test_a_target_of_100_percent_or_nothing_is_refused() -> None:
    with pytest.raises(StaffingError, match="below 100 %"):
        agents_needed(CLASSIC, 1.0, 20)
    with pytest.raises(StaffingError, match="above 0 %"):
        agents_needed(CLASSIC, 0.0, 20)


def test_a_load_beyond_any_staffing_is_an_error_not_a_loop() -> None:
    with pytest.raises(StaffingError, match="needs more than"):
        agents_needed(Load(1e7 / 3600, 180), 0.8, 20)
    with pytest.raises(StaffingError, match="needs more than"):
        agents_needed(Load(1e7 / 3600, 180, 60), 0.8, 20)
    with pytest.raises(StaffingError, match="more than 50 agents"):
        agents_needed(Load(4000 / 3600, 180, 60), 0.96, 40, max_agents=50)


def test_bad_numbers_are_refused() -> None:
    with pytest.raises(StaffingError):
        Load(-1, 180)
    with pytest.raises(StaffingError):
        Load(1, 0)
    with pytest.raises(StaffingError):
        Load(1, 180, 0)
    with pytest.raises(StaffingError):
        to_schedule(10, 1.0)


def test_shrinkage_rounds_the_rota_up() -> None:
    assert to_schedule(7, 0.3) == 10  # 7 / 0.7 = 10 exactly
    assert to_schedule(8, 0.3) == 12  # 11.43 -> 12
    assert to_schedule(8, 0.0) == 8


def test_the_fewest_agents_reach_the_target_and_one_fewer_does_not() -> None:
    for load in (CLASSIC, Load(400 / 3600, 200, 60), Load(30 / 3600, 300, 120)):
        found = agents_needed(load, 0.96, 40, 5)
        assert found.sl >= 0.96
        assert figures(load, found.agents - 1, 40, 5).sl < 0.96


# Erlang A, checked independently -------------------------------------------------------


def chain_by_linear_algebra(load: Load, agents: int, top: int = 400) -> np.ndarray:
    """The M/M/n+M chain's stationary law from its generator (pi Q = 0, sum pi = 1)."""
    lam, mu, theta = load.rate_per_s, 1 / load.aht_s, 1 / load.patience_s
    q = np.zeros((top + 1, top + 1))
    for k in range(top + 1):
        if k < top:
            q[k, k + 1] = lam
        if k > 0:
            q[k, k - 1] = min(k, agents) * mu + max(k - agents, 0) * theta
        q[k, k] = -q[k].sum()
    a = np.vstack([q.T, np.ones(top + 1)])
    b = np.zeros(top + 2)
    b[-1] = 1
    return np.linalg.lstsq(a, b, rcond=None)[0]


@pytest.mark.parametrize(
    ("load", "agents"),
    [
        (Load(100 / 3600, 180, 90), 6),
        (Load(100 / 3600, 180, 90), 9),
        (Load(400 / 3600, 200, 60), 22),
        (Load(400 / 3600, 200, 60), 18),  # under-staffed: only abandonment keeps it stable
    ],
)
def test_erlang_a_agrees_with_the_chain_solved_directly(load: Load, agents: int) -> None:
    pi = chain_by_linear_algebra(load, agents)
    found = figures(load, agents, 40, 0)
    waiting_p = pi[agents:].sum()  # PASTA: an arrival finds every agent busy
    queue_length = sum(max(k - agents, 0) * p for k, p in enumerate(pi))
    abandon_rate = queue_length / load.patience_s / load.rate_per_s  # theta E[Q] = lambda P(ab)
    busy = sum(min(k, agents) * p for k, p in enumerate(pi))
    assert found.wait_probability == pytest.approx(waiting_p, rel=1e-6)
    assert found.abandon_rate == pytest.approx(abandon_rate, rel=1e-6)
    assert found.occupancy == pytest.approx(busy / agents, rel=1e-6)


def simulate_m_m_n_m(load: Load, agents: int, threshold_s: float, short_s: float, calls: int):
    """First come, first served, event by event: the project's service level."""
    rng = random.Random(20261206)
    free_at = [0.0] * agents
    t = answered = within = abandoned = short = 0
    wait_sum = 0.0
    for _ in range(calls):
        t += rng.expovariate(load.rate_per_s)
        patience = rng.expovariate(1 / load.patience_s)
        start = max(t, free_at[0])
        if start - t <= patience:
            heapq.heapreplace(free_at, start + rng.expovariate(1 / load.aht_s))
            answered += 1
            within += start - t <= threshold_s
            wait_sum += start - t
        else:
            abandoned += 1
            short += patience <= short_s
    sl = within / (answered + abandoned - short)
    return sl, wait_sum / answered, abandoned / calls


@pytest.mark.parametrize(
    ("load", "agents"), [(Load(100 / 3600, 180, 90), 7), (Load(400 / 3600, 200, 60), 22)]
)
def test_erlang_a_service_level_agrees_with_a_simulation(load: Load, agents: int) -> None:
    sl, asa_s, abandon_rate = simulate_m_m_n_m(load, agents, 40, 5, 300_000)
    found = figures(load, agents, 40, 5)
    assert found.sl == pytest.approx(sl, abs=0.004)
    assert found.asa_s == pytest.approx(asa_s, rel=0.05)
    assert found.abandon_rate == pytest.approx(abandon_rate, abs=0.003)


def test_erlang_a_with_endless_patience_is_erlang_c() -> None:
    patient = Load(CLASSIC.rate_per_s, CLASSIC.aht_s, 1e9)
    for n in (6, 7, 8, 10):
        c, a = figures(CLASSIC, n, 20), figures(patient, n, 20)
        assert a.sl == pytest.approx(c.sl, abs=1e-6)
        assert a.asa_s == pytest.approx(c.asa_s, rel=1e-5)
        assert a.wait_probability == pytest.approx(c.wait_probability, rel=1e-6)
        assert a.abandon_rate < 1e-6


def test_abandonment_needs_fewer_agents_than_erlang_c() -> None:
    impatient = Load(CLASSIC.rate_per_s, CLASSIC.aht_s, 60)
    assert agents_needed(impatient, 0.96, 40).agents <= agents_needed(CLASSIC, 0.96, 40).agents
    # Under-staffed, Erlang C has no steady state; Erlang A answers with its abandon rate.
    assert figures(CLASSIC, 5, 20).sl == 0.0
    assert 0 < figures(impatient, 4, 20).abandon_rate < 1
    assert math.isinf(figures(CLASSIC, 4, 20).asa_s)


def test_the_figures_are_plain_floats() -> None:
    # numpy scalars in the figures would break json.dumps of any answer built from them
    found = figures(Load(100 / 3600, 180, 90), 8, 40, 5)
    assert all(type(v) in (int, float, str) for v in found.as_dict().values())
    assert type(found.sl) is float and type(found.abandon_rate) is float
