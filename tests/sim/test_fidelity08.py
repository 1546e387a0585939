"""The `production-sample` scenario against 08-production-sample.txt, event for event.

Compared as for 01-07 (test_fidelity): the call and queue events (fidelity.KEEP) per channel
and in order; the queue events' values (HoldTime, RingTime, TalkTime, Position, Reason, ...)
per caller; the header names of every compared event type; (Soft)HangupRequest/BridgeLeave/
Hangup per channel. Plus what only 08 has: the `Timestamp:` header third in every event and
every compared event within 0.05 s of its real time; the `ChanVariable: UIN=`/`TICKET_ID=`/
`TRANSFER_COUNT=` values per channel; caller-ID/music-on-hold/Unhold events per channel; the
responses to all 57 actions; the final QueueParams/QueueMember/QueueSummary (ServicelevelPerf,
running Holdtime/TalkTime); the model's ground truth against 08's truth.json.

Tolerated differences, and why:
- Everything test_fidelity tolerates: Uniqueid/Linkedid/Local counters (they depend on what
  ran before on the real box), dialplan/cdr/security noise the model does not produce
  (VarSet, Newexten, Cdr, SuccessfulAuth), interleaving *between* channels, header values
  other than the compared ones, background volumes within 20 % (DeviceStateChange: 74
  against 68).
- Event times: the real box's actions and threads add a few ms to each step (max 0.02 s
  off); compared to within TIME_TOLERANCE_S.
- OriginateResponse: it races the new channel's own thread (for the 5th caller it comes
  before the ;1's NewCallerid, for the others after): only which channels get one is checked.
- The UIN values come from the recording (SimConfig.uins), not from the real dialplan's
  formula (9, epoch's last 4 digits, Uniqueid's last 3: Uniqueids differ, see above); they
  are checked to follow each call onto its agent and transfer channels.
"""

from __future__ import annotations

import asyncio
import re
from typing import NamedTuple

import pytest

from asterisksim.production import PRODUCTION_CONFIG
from asterisksim.scenarios import run_scenario
from asterisksim.transcript import Frame, parse, read
from tests.conftest import FIXTURES

from .fidelity import (
    events,
    header_shapes,
    normaliser,
    per_channel,
    queue_level,
    teardown_per_channel,
)

REAL = FIXTURES / "08-production-sample.txt"
TIME_TOLERANCE_S = 0.05  # the model is within 0.02 s of every real event


class Runs(NamedTuple):
    real: list[Frame]  # every frame of the recording
    sim: list[Frame]  # every frame the scenario's AMI session received
    real_kept: list[Frame]  # the compared events (fidelity.KEEP) only
    sim_kept: list[Frame]


@pytest.fixture(scope="module")
def both() -> Runs:
    received = asyncio.run(run_scenario("production-sample")).received
    real_bytes = REAL.read_bytes()
    return Runs(read(REAL)[1], parse(received)[1], events(real_bytes), events(received))


def test_same_events_per_channel(both: Runs) -> None:
    assert per_channel(both.sim_kept) == per_channel(both.real_kept)


def test_same_queue_events_and_values(both: Runs) -> None:
    """HoldTime, RingTime, TalkTime, Position, Reason, ... of every queue event, per caller."""
    got = queue_level(both.sim_kept)
    assert got == queue_level(both.real_kept)
    # The one call whose HoldTime is not its truncated float wait (16.014 s, HoldTime 17).
    holds = [v[0] for evs in got.values() for e, v in evs if e == "AgentConnect"]
    assert sorted(holds) == ["11", "14", "17", "2", "2", "2", "3"]


def test_same_hangup_requests_per_channel(both: Runs) -> None:
    """08 adds the agent's own hang-up and a hang-up in the IVR to 01-07's ways to end."""
    assert teardown_per_channel(both.sim) == teardown_per_channel(both.real)


def test_same_header_names(both: Runs) -> None:
    assert header_shapes(both.sim_kept) == header_shapes(both.real_kept)


def _timed(kept: list[Frame]) -> dict[str, list[tuple[str, float]]]:
    norm = normaliser()
    out: dict[str, list[tuple[str, float]]] = {}
    for f in kept:
        chan = norm(f.get("Channel") or f.get("DestChannel") or f.get("Interface")) or "-"
        out.setdefault(chan, []).append((f.event or "", float(f["Timestamp"])))
    return out


def test_timestamp_is_the_third_header_and_times_match(both: Runs) -> None:
    for f in both.sim_kept:
        assert f.names[2] == "Timestamp", f.event
    real_t, sim_t = _timed(both.real_kept), _timed(both.sim_kept)
    assert set(sim_t) == set(real_t)
    off = [
        (chan, real[0], round(sim[1] - real[1], 3))
        for chan in real_t
        for real, sim in zip(real_t[chan], sim_t[chan], strict=True)
        if abs(sim[1] - real[1]) > TIME_TOLERANCE_S
    ]
    assert off == []


def _chanvars(frames: list[Frame], name: str) -> dict[str, set[str]]:
    """Per channel (normalised), the values of ChanVariable `name` in compared events."""
    norm = normaliser()
    out: dict[str, set[str]] = {}
    for f in frames:
        chan = f.get("Channel")
        if chan is None:
            continue
        for key, value in f.headers:
            if key == "ChanVariable" and value.startswith(f"{name}="):
                out.setdefault(norm(chan) or "-", set()).add(value.split("=", 1)[1])
    return out


@pytest.mark.parametrize("variable", ["UIN", "TICKET_ID", "TRANSFER_COUNT"])
def test_channel_variables_follow_the_calls(both: Runs, variable: str) -> None:
    """`ChanVariable:` values per channel: each call's UIN/TICKET_ID on its caller, agent and
    transfer channels (inherited `__` vars); TRANSFER_COUNT is always empty, as in 08."""
    got = _chanvars(both.sim_kept, variable)
    assert got == _chanvars(both.real_kept, variable)
    values = {v for vs in got.values() for v in vs}
    if variable == "UIN":
        assert values == {"", *PRODUCTION_CONFIG["uins"]}  # type: ignore[misc]


def test_final_queue_counters_match(both: Runs) -> None:
    """QueueParams (ServicelevelPerf, running Holdtime/TalkTime), QueueMember, QueueSummary."""
    keys = ("Queue", "Calls", "Holdtime", "TalkTime", "Completed", "Abandoned",
            "ServicelevelPerf", "ServicelevelPerf2", "HoldTime", "LoggedIn", "Available",
            "Callers", "LongestHoldTime")  # fmt: skip

    def counters(frames: list[Frame]) -> list[list[str | None]]:
        return [
            [f.event, *(f.get(k) for k in keys)]
            for f in frames
            if f.event in ("QueueParams", "QueueSummary", "QueueMember")
        ]

    assert counters(both.sim) == counters(both.real)


def test_responses_match(both: Runs) -> None:

    def answers(frames: list[Frame]) -> dict[str, tuple[str | None, str | None]]:
        return {
            f["ActionID"].rsplit("-", 1)[1]: (f.get("Response"), f.get("Message"))
            for f in frames
            if f.event is None and "ActionID" in f
        }

    assert answers(both.sim) == answers(both.real)


def test_background_events_have_the_real_layout_and_volume(both: Runs) -> None:
    """The events nobody reads: real layouts, and about the real numbers (as for 01-07)."""
    from .test_fidelity import NOISE, _by_class

    # What an `EventMask: call,agent` client gets: within 10 % of the real count.
    assert abs(_by_class(both.sim) - _by_class(both.real)) <= _by_class(both.real) // 10

    def shapes(frames: list[Frame]) -> dict[str, set[tuple[str, ...]]]:
        out: dict[str, set[tuple[str, ...]]] = {}
        for f in frames:
            if f.event in NOISE | {"Unhold"}:
                # `ChanVariable(<channel>)` names carry the channel: keep the layout only.
                names = tuple(re.sub(r"\(.*\)$", "(chan)", n) for n in f.names)
                out.setdefault(f.event, set()).add(names)
        return out

    real_shapes, sim_shapes = shapes(both.real), shapes(both.sim)
    for event, layouts in sim_shapes.items():
        assert layouts <= real_shapes.get(event, set()), event
    for event in NOISE | {"Unhold"}:
        real_n = sum(1 for f in both.real if f.event == event)
        sim_n = sum(1 for f in both.sim if f.event == event)
        assert abs(real_n - sim_n) <= max(2, real_n // 5), (event, real_n, sim_n)


def test_ground_truth_matches_the_recordings_truth() -> None:
    """The model's own record of each call against 08-production-sample.truth.json."""
    import json

    real = json.loads(REAL.with_suffix(".truth.json").read_text())["calls"]
    sim = asyncio.run(run_scenario("production-sample")).truth
    assert len(sim) == len(real) == 6
    for got, want in zip(sim, real, strict=True):
        first = got.visits[0]
        assert (got.caller_num, got.caller_name) == (want["caller_num"], want["caller_name"])
        assert (got.outcome, first.agent, first.position) == (
            want["outcome"], want["agent"], want["join_position"],
        )  # fmt: skip
        assert first.hold_time_field == want["hold_time_field"]
        assert got.variables["UIN"] == want["uin"]
        assert got.variables["TICKET_ID"] == want["ticket_id"]
        assert abs(first.joined_at - want["joined_at"]) < TIME_TOLERANCE_S
        assert abs(first.answered_at - want["answered_at"]) < TIME_TOLERANCE_S
        assert abs(first.wait_s - want["wait_s"]) < TIME_TOLERANCE_S
        assert [t.to.rsplit("/", 1)[1] for t in got.transfers] == [
            t["exten"] for t in want["transfers"]
        ]


def test_background_channel_events_per_channel(both: Runs) -> None:
    """Caller-ID, music on hold and Unhold, per channel and in order (08 has the timestamps
    to place them); OriginateResponse races the new channel's own thread, so only its
    channel is compared."""
    kept = {"NewCallerid", "NewConnectedLine", "MusicOnHoldStart", "MusicOnHoldStop", "Unhold"}

    def per_chan(frames: list[Frame]) -> tuple[dict[str, list[str]], list[str]]:
        norm = normaliser()
        out: dict[str, list[str]] = {}
        originated: list[str] = []
        for f in frames:
            chan = norm(f.get("Channel")) or "-"
            if f.event in kept:
                out.setdefault(chan, []).append(f.event or "")
            elif f.event == "OriginateResponse":
                originated.append(chan)
        return out, originated

    assert per_chan(both.sim) == per_chan(both.real)
