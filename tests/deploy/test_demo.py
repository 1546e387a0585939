"""`hotline demo`: the whole of Hotline in one process against the simulated Asterisk."""

from __future__ import annotations

import gc
import json
import re

import pytest
from typer.testing import CliRunner

from hotline.cli import app
from hotline.demo.run import DemoOptions, parse_speed, run_demo

KEYS = {
    "calls",
    "answered",
    "abandoned",
    "transfers",
    "transfers_refused",
    "max_transfers_per_call",
    "tickets",
    "service_level",
    "asa_s",
    "truth",
}


def test_a_small_demo_prints_one_object_that_matches_the_truth() -> None:
    result = CliRunner().invoke(app, ["demo", "--calls", "200", "--speed", "max", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # exactly one JSON object, nothing else
    assert set(summary) == KEYS
    assert summary["calls"] == 200
    assert summary["tickets"] == summary["calls"], "every caller got a ticket through the AGI"
    # Queue entries of `hotline`: one per call, plus a caller back in the queue when the
    # agent a refused transfer rings back is busy ([hotline-transfer]'s Dial, then Queue).
    assert summary["calls"] <= summary["answered"] + summary["abandoned"] <= summary["calls"] + 5
    assert summary["abandoned"] > 0 and summary["answered"] > 0
    level = summary["service_level"]
    assert level["threshold_s"] == 40
    assert {k: level[k] for k in ("sl", "perf", "perf2")} == summary["truth"]
    assert 0 < level["sl"] < 100, "a busy hour: neither perfect nor hopeless"
    assert summary["asa_s"] > 0
    # Agents transfer callers from their phones, some of them a third time: Hotline's
    # transfer route refuses those, so no call is recorded with more than two.
    assert summary["transfers"] > 0
    assert summary["transfers_refused"] > 0
    assert summary["max_transfers_per_call"] == 2


def test_the_same_seed_gives_the_same_hour() -> None:
    """A seed names one busy hour: the figures do not depend on the machine's load (the
    simulator holds its clock while Hotline answers an AGI request or a woken step runs)."""

    def run(seed: str) -> dict[str, object]:
        args = ["demo", "--calls", "80", "--seed", seed, "--speed", "max", "--json"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    first = run("7")
    assert run("7") == first
    assert run("8") != first


def test_the_plain_demo_shows_tokens_live_lines_and_a_summary() -> None:
    result = CliRunner().invoke(app, ["demo", "--calls", "40", "--speed", "max", "--seed", "3"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "CRM API on http://127.0.0.1:" in out and "supervisor token:" in out
    assert out.count("SL so far") >= 2, "live figures refreshed during the run"
    assert "tickets 40  = one per call" in out
    assert "(same)" in out
    # Calls and queue entries are told apart: entries = answered + abandoned, and the
    # calls that account for a difference are counted.
    entries = re.search(
        r"queue entries of line 1 \(hotline\): (\d+) = answered (\d+) \+ abandoned (\d+)", out
    )
    assert entries is not None, out
    total, answered, abandoned = map(int, entries.groups())
    assert total == answered + abandoned
    again = re.search(
        r"of those calls: (\d+) hung up before the queue, (\d+) waited in line 1", out
    )
    assert again is not None, out
    never, twice = int(again.group(1)), int(again.group(2))
    assert total >= 40 - never
    assert (total > 40 - never) == (twice > 0)
    assert "service level over the queue entries" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--calls", "0"], "--calls"),
        (["--speed", "fast"], "--speed"),
        (["--speed", "-2"], "--speed"),
    ],
)
def test_bad_options_are_refused_clearly(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["demo", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_speed_and_options() -> None:
    assert parse_speed("max") is None and parse_speed("120") == 120.0
    with pytest.raises(ValueError, match="agents"):
        DemoOptions(agents=0)


async def test_the_stack_is_kept_from_the_collector_during_the_hour_only() -> None:
    """The objects made before the hour (modules, app, stack) are frozen out of the cyclic
    collector's full passes while the calls run, and handed back when the demo is over."""
    gc.unfreeze()
    frozen: list[int] = []

    def say(line: str) -> None:
        if line.startswith("["):  # a live line, from inside the hour
            frozen.append(gc.get_freeze_count())

    await run_demo(DemoOptions(calls=20, speed=None), say)
    assert frozen and min(frozen) > 0
    assert gc.get_freeze_count() == 0
