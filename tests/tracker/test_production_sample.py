"""Replaying 08-production-sample (timestamps and channel variables on) against its truth."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from callqueue.replay import replay_report, replay_sessions
from core.facts import (
    CallEnded,
    CallFact,
    CallStarted,
    CallTicketed,
    CallTransferred,
    dump_fact,
    load_fact,
)

from .conftest import transcript

NAME = "08-production-sample"


@pytest.fixture(scope="module")
def truth() -> dict:
    path = transcript(NAME).with_name(f"{NAME}.truth.json")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def report() -> dict:
    return replay_report([transcript(NAME)])


@pytest.fixture(scope="module")
def facts() -> list[CallFact]:
    collected: list[CallFact] = []
    replay_sessions([transcript(NAME).read_bytes()], on_fact=collected.append)
    return collected


def _row(report: dict, linkedid: str, queue: str) -> dict:
    rows = [r for r in report["calls"] if r["linkedid"] == linkedid and r["queue"] == queue]
    assert len(rows) == 1, (linkedid, queue)
    return rows[0]


def test_every_call_matches_the_truth(report: dict, truth: dict) -> None:
    assert len(truth["calls"]) == 6
    for call in truth["calls"]:
        row = _row(report, call["linkedid"], call["queue"])
        assert row["outcome"] == call["outcome"]
        assert row["agent"] == call["agent"]
        assert row["uin"] == call["uin"]
        assert row["caller_num"] == call["caller_num"]
        assert row["caller_name"] == call["caller_name"]
        assert abs(row["wait_s"] - call["wait_s"]) < 0.5
        assert [(t["kind"], t["to"]) for t in row["transfers"]] == [
            (t["kind"], t["exten"]) for t in call["transfers"]
        ]
        for transfer in call["transfers"]:
            then = transfer.get("then_queue")
            if then:
                leg = _row(report, call["linkedid"], then["queue"])
                assert leg["entry"] == 2
                assert leg["agent"] == then["agent"]
                assert abs(leg["wait_s"] - then["wait_s"]) < 0.5


def test_float_waits_not_holdtime_when_timestamps_exist(report: dict, truth: dict) -> None:
    # 16.014 s of waiting that app_queue reports as HoldTime 17.
    odd = truth["summary"]["calls_where_int_wait_differs_from_hold_time_field"][0]
    row = _row(report, odd["linkedid"], "hotline")
    assert abs(row["wait_s"] - odd["wait_s"]) < 0.01


def test_service_level_agrees_with_queueparams(report: dict, truth: dict) -> None:
    reported = truth["summary"]["asterisk_reported"]
    for queue in ("hotline", "support"):
        params = reported[f"QueueParams_{queue}"]
        ours = report["service_level"][queue]
        assert ours["answered"] == int(float(params["Completed"]))
        assert ours["abandoned"] == int(float(params["Abandoned"]))
        assert ours["perf"] == float(params["ServicelevelPerf"])
        assert ours["perf2"] == float(params["ServicelevelPerf2"])
    hotline = report["service_level"]["hotline"]
    assert hotline["asa_s"] == pytest.approx(truth["summary"]["mean_wait_answered_s"], abs=0.01)
    assert hotline["longest_wait_s"] == pytest.approx(
        truth["summary"]["max_wait_answered_s"], abs=0.01
    )
    assert sum(hotline["answered_within_buckets"].values()) == hotline["answered"]


def test_facts_tell_the_story(facts: list[CallFact], truth: dict) -> None:
    kinds = Counter(f.kind for f in facts)
    started = {f.linkedid for f in facts if isinstance(f, CallStarted)}
    assert len(started) == kinds["ended"] == 6
    assert kinds["started"] == 12  # each call told again by its NewCallerid, with the number
    assert kinds["queued"] == kinds["answered"] == 7
    assert kinds["transferred"] == 2
    assert len({f.key for f in facts}) == len(facts)  # stable keys, none repeated
    assert all(load_fact(dump_fact(f)) == f for f in facts)
    uins = {f.linkedid: f.uin for f in facts if isinstance(f, CallTicketed)}
    assert uins == {c["linkedid"]: c["uin"] for c in truth["calls"]}
    ended = {f.linkedid: f for f in facts if isinstance(f, CallEnded)}
    for call in truth["calls"]:
        if not call["transfers"]:
            assert ended[call["linkedid"]].hung_up_by == call["complete_reason"]
    transfers = [f for f in facts if isinstance(f, CallTransferred)]
    assert {(f.how, f.to, f.from_agent, f.n) for f in transfers} == {
        ("blind", "300", "agent1", 1),
        ("blind", "400", "agent1", 1),
    }
    # After the transfer to the IVR at 400 the caller is the one who hangs up.
    to_ivr = next(f for f in transfers if f.to == "400")
    assert ended[to_ivr.linkedid].hung_up_by == "caller"
