"""Transfers as the simulated Asterisk makes them, through the tracker: each counted once."""

from __future__ import annotations

import pytest

from asterisksim.scenarios import run_scenario
from callqueue.replay import replay_sessions
from core.facts import CallFact, CallTransferred


async def transfers_of(scenario: str) -> list[tuple[int, str, str, str]]:
    run = await run_scenario(scenario)
    facts: list[CallFact] = []
    replay_sessions([bytes(run.received)], on_fact=facts.append)
    return [(f.n, f.how, f.to, f.from_agent) for f in facts if isinstance(f, CallTransferred)]


async def test_two_redirects_count_as_two_transfers() -> None:
    # The first from the queue agent (agent1) to 200, the second from agent2 (reached by a
    # plain Dial, not a queue member) to 300: no transfer event for either.
    assert await transfers_of("redirect-transfer-twice") == [
        (1, "redirect", "200", "agent1"),
        (2, "redirect", "300", ""),
    ]


async def test_blind_transfers_are_not_also_taken_for_redirects() -> None:
    assert [t[:3] for t in await transfers_of("blind-transfer-twice")] == [
        (1, "blind", "200"),
        (2, "blind", "300"),
    ]


@pytest.mark.parametrize(
    "scenario, expected",
    [
        ("attended-transfer", [(1, "attended", "201")]),
        ("attended-transfer-cancel", []),
        ("answered", []),
    ],
)
async def test_attended_transfer_counts_only_when_completed(
    scenario: str, expected: list[tuple]
) -> None:
    assert [t[:3] for t in await transfers_of(scenario)] == expected
