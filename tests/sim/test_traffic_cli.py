"""Generated traffic (seeded, with ground truth) and the `hotline sim scenario` command."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from asterisksim import SimulatedAsterisk
from asterisksim.traffic import TrafficGenerator, TrafficProfile
from asterisksim.truth import to_json
from hotline.cli import app


async def _day(seed: int) -> str:
    async with SimulatedAsterisk() as sim:
        profile = TrafficProfile(seed=seed, agents=4, mean_talk_s=120, transfer_probability=0.2)
        end_s = TrafficGenerator(sim, profile).schedule_day(hours=24)
        await sim.run_until(end_s + 3600)
        return to_json(sim.ground_truth)


async def test_same_seed_same_day_and_ground_truth_is_consistent() -> None:
    first, again, other = await _day(3), await _day(3), await _day(4)
    assert first == again
    assert first != other
    calls = json.loads(first)["calls"]
    expected = sum(TrafficProfile().rate_per_hour)
    assert 0.7 * expected < len(calls) < 1.3 * expected  # Poisson around the hourly rates
    outcomes = {c["outcome"] for c in calls}
    assert {"answered", "abandoned"} <= outcomes
    for call in calls:
        first_visit = call["visits"][0]
        if call["outcome"] == "answered" and not call["transfers"]:
            assert first_visit["agent"] and first_visit["wait_s"] >= 0
            assert first_visit["hold_time_field"] == int(first_visit["answered_at"]) - int(
                first_visit["joined_at"]
            )
    assert any(c["transfers"] for c in calls)


def test_cli_records_a_scenario(tmp_path: Path) -> None:
    record, truth = tmp_path / "answered.txt", tmp_path / "truth.json"
    result = CliRunner().invoke(
        app, ["sim", "scenario", "answered", "--record", str(record), "--truth", str(truth)]
    )
    assert result.exit_code == 0, result.output
    data = record.read_bytes()
    assert data.startswith(b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\n")
    assert data.endswith(b"Message: Thanks for all the fish.\r\n\r\n")
    assert b"\r\nEvent: AgentConnect\r\n" in data
    assert json.loads(truth.read_text())["calls"][0]["outcome"] == "answered"
    bad = CliRunner().invoke(app, ["sim", "scenario", "no-such"])
    assert bad.exit_code == 2


def test_cli_serves_a_generated_day(tmp_path: Path) -> None:
    truth = tmp_path / "truth.json"
    result = CliRunner().invoke(
        app, ["sim", "serve", "--port", "0", "--accelerated", "--hours", "2", "--truth", str(truth)]
    )
    assert result.exit_code == 0, result.output
    assert "AMI on 127.0.0.1:" in result.output
    calls = json.loads(truth.read_text())["calls"]
    assert calls and f"done: {len(calls)} calls" in result.output


async def test_a_generated_day_is_consistent_end_to_end() -> None:
    """Events, ground truth and app_queue's counters tell the same story of a busy day."""
    from asterisksim.transcript import parse

    from .conftest import connect

    async with SimulatedAsterisk() as sim:
        probe = await connect(sim)
        profile = TrafficProfile(seed=11, agents=3, mean_talk_s=200, mean_patience_s=60,
                                 transfer_probability=0.1)  # fmt: skip
        end_s = TrafficGenerator(sim, profile).schedule_day(hours=24)
        reading = asyncio.create_task(probe.read_eof(timeout_s=60))  # a client keeps reading
        await sim.run_until(end_s + 6 * 3600)  # let the last calls finish
        await probe.send(Action="Logoff", ActionID="end")
        assert await asyncio.wait_for(reading, 60)
        frames = parse(bytes(probe.data))[1]
        truth = sim.ground_truth
        hotline = sim.pbx.queues["hotline"]
    visits = [v for c in truth for v in c.visits if v.queue == "hotline"]
    answered = [v for v in visits if v.answered_at is not None]
    abandoned = [v for v in visits if v.abandoned_at is not None]
    assert abandoned and answered
    assert len(answered) + len(abandoned) == len(visits)
    events = [f for f in frames if f.get("Queue") == "hotline"]
    assert sum(1 for f in events if f.event == "AgentConnect") == len(answered)
    assert sum(1 for f in events if f.event == "QueueCallerAbandon") == len(abandoned)
    assert sum(1 for f in events if f.event == "AgentComplete") == hotline.completed
    assert hotline.completed == len(answered) and hotline.abandoned == len(abandoned)
    in_sl = sum(1 for v in answered if v.hold_time_field <= 40)
    assert hotline.completed_in_sl == in_sl
    for v in answered:  # HoldTime is whole seconds of a truncated clock
        assert v.hold_time_field == int(v.answered_at) - int(v.joined_at)
    # The truth of an abandon keeps its HoldTime too (perf2 counts it, not int(wait_s))
    for v in abandoned:
        assert v.hold_time_field == int(v.abandoned_at) - int(v.joined_at)
    abandoned_in_sl = sum(1 for v in abandoned if v.hold_time_field <= 40)
    assert hotline.abandoned_in_sl == abandoned_in_sl
    assert all(c.ended_at is not None for c in truth)
    assert not [c for c in sim.pbx.factory.by_name.values() if not c.hung_up]
