"""Replaying the real Asterisk 22 transcripts: calls, waits, outcomes, transfers, counters."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from callqueue.replay import replay_report
from core.ami.parser import AmiParser
from core.service_level import asterisk_pct
from hotline.cli import app

from .conftest import SESSIONS, transcript


def _calls(name: str) -> list[dict]:
    return replay_report([transcript(name)])["calls"]


def _brief(rows: list[dict]) -> list[tuple]:
    return [
        (
            r["queue"],
            r["outcome"],
            r["wait_s"],
            r["agent"],
            [(t["kind"], t["to"]) for t in r["transfers"]],
        )
        for r in rows
    ]


# What the README says happened in each recording (HoldTime in whole seconds).
EXPECTED = {
    "01-answered": [("hotline", "answered", 2.0, "agent1", [])],
    "02-slow-answer-outside-sl": [("hotline", "answered", 48.0, "agent1", [])],
    "03-abandon": [("hotline", "abandoned", 5.0, "", [])],
    "04-blind-transfer-twice": [
        ("hotline", "answered", 2.0, "agent1", [("blind", "200"), ("blind", "300")]),
        ("support", "answered", 2.0, "agent3", []),
    ],
    "05-attended-transfer": [("hotline", "answered", 2.0, "agent1", [("attended", "201")])],
    "06-status-actions": [
        ("hotline", "answered", 1.0, "agent1", []),
        ("hotline", "abandoned", 3.0, "", []),
    ],
    "07-fastagi": [("hotline", "answered", 2.0, "agent1", [])],
}


@pytest.mark.parametrize("name", SESSIONS)
def test_each_transcript_gives_its_calls(name: str) -> None:
    rows = _calls(name)
    assert _brief(rows) == EXPECTED[name]
    assert all(r["caller_num"].startswith("790000000") for r in rows)


def test_blind_transfers_keep_one_call_and_count_queue_entries() -> None:
    rows = _calls("04-blind-transfer-twice")
    assert len({r["linkedid"] for r in rows}) == 1
    assert [r["entry"] for r in rows] == [1, 2]
    # agent2 took the call by a plain Dial, not as a queue member: no agent name known.
    assert [t["from_agent"] for t in rows[0]["transfers"]] == ["agent1", ""]
    assert _calls("05-attended-transfer")[0]["transfers"][0]["from_agent"] == "agent1"


def _last_queue_params(name: str) -> dict[str, dict[str, str]]:
    """The last QueueParams per queue the recording itself reports."""
    params: dict[str, dict[str, str]] = {}
    for message in AmiParser().feed(transcript(name).read_bytes()):
        if message.name == "QueueParams":
            params[message["Queue"]] = message.headers
    return params


# Calls of the recording run that are not in the folder (see its README): answered
# within the level, so each adds one answered and one answered-within to its queue.
MISSING_BEFORE = {
    "05-attended-transfer": {"hotline": 1, "support": 1},  # between 04 and 05
    "06-status-actions": {"hotline": 2, "support": 1},  # ... and one between 05 and 06
}


@pytest.mark.parametrize("upto", range(len(SESSIONS) - 1))  # 07 reports no QueueParams
def test_cumulative_replay_agrees_with_queueparams(upto: int) -> None:
    names = SESSIONS[: upto + 1]
    figures = replay_report([transcript(n) for n in names])["service_level"]
    reported = _last_queue_params(names[-1])
    assert reported
    missing = MISSING_BEFORE.get(names[-1], {})
    for queue, params in reported.items():
        ours = figures[queue]
        extra = missing.get(queue, 0)
        answered = ours["answered"] + extra
        within = ours["answered_within_whole_s"] + extra
        assert answered == int(params["Completed"]), (queue, names[-1])
        assert ours["completed"] == ours["answered"]  # nobody was talking any more
        assert ours["abandoned"] == int(params["Abandoned"])
        assert asterisk_pct(within, answered) == float(params["ServicelevelPerf"])
        handled = answered + ours["abandoned"]
        assert asterisk_pct(within + ours["abandoned_within_whole_s"], handled) == float(
            params["ServicelevelPerf2"]
        )
        if not extra:  # the figures we print ourselves, with nothing to add
            assert ours["perf"] == float(params["ServicelevelPerf"])
            assert ours["perf2"] == float(params["ServicelevelPerf2"])


def test_cli_replay_json_contract() -> None:
    files = [str(transcript(n)) for n in SESSIONS]
    result = CliRunner().invoke(app, ["replay", *files, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"calls", "service_level"}
    assert len(report["calls"]) == sum(len(v) for v in EXPECTED.values())
    required = {
        "linkedid",
        "queue",
        "caller_num",
        "caller_name",
        "outcome",
        "wait_s",
        "agent",
        "transfers",
    }
    assert all(required <= set(row) for row in report["calls"])
    assert set(report["service_level"]) == {"hotline", "support", "all"}
    for figures in report["service_level"].values():
        assert {
            "threshold_s",
            "offered",
            "answered",
            "answered_within",
            "abandoned",
            "sl",
            "perf",
            "perf2",
        } <= set(figures)
    hotline = report["service_level"]["hotline"]
    assert (hotline["offered"], hotline["answered"], hotline["abandoned"]) == (8, 6, 2)
    assert hotline["answered_within"] == 5  # the 48 s answer in 02 is outside
    # 03's 5 s abandon is a short one (not after S = 5 s); 06's 3 s one too.
    assert hotline["sl"] == round(100 * 5 / 6, 1)


def test_cli_thresholds_change_the_figures() -> None:
    files = [str(transcript("02-slow-answer-outside-sl")), str(transcript("03-abandon"))]
    result = CliRunner().invoke(
        app, ["replay", *files, "--json", "--sl-threshold", "50", "--short-abandon", "2"]
    )
    assert result.exit_code == 0, result.output
    hotline = json.loads(result.stdout)["service_level"]["hotline"]
    assert hotline["threshold_s"] == 50
    assert hotline["answered_within"] == 1
    assert hotline["sl"] == 50.0  # the 5 s abandon now counts against us
    bad = CliRunner().invoke(app, ["replay", files[0], "--json", "--sl-threshold", "0"])
    assert bad.exit_code != 0
    missing = CliRunner().invoke(app, ["replay", "/nonexistent/ami.txt", "--json"])
    assert missing.exit_code != 0
