"""One bad AMI event costs that event alone: logged, counted, and the next one is handled."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callqueue.tracker import CallTracker
from core.ami.parser import AmiParser
from core.facts import CallQueued

from .conftest import frame

LINKEDID = "1795400000.1"
CALLER = "Local/100@hotline-in-00000001;2"


def _tracker_and_parser() -> tuple[CallTracker, AmiParser]:
    return CallTracker(keep_finished=True), AmiParser(clock=lambda: 1795400000.0)


def _join(**extra: str) -> bytes:
    return frame(
        Event="QueueCallerJoin",
        Channel=CALLER,
        Linkedid=LINKEDID,
        Uniqueid=LINKEDID,
        Queue="hotline",
        Position="1",
        **extra,
    )


@pytest.mark.parametrize("stamp", ["1e308", "inf", "-inf", "nan", "-5", "99999999999"])
def test_a_timestamp_that_is_no_time_costs_only_its_event(stamp: str) -> None:
    tracker, parser = _tracker_and_parser()
    [bad] = parser.feed(_join(Timestamp=stamp))
    assert tracker.handle(bad) == []
    assert tracker.errors == 1
    [good] = parser.feed(_join(Timestamp="1795400001.5"))
    assert any(isinstance(f, CallQueued) for f in tracker.handle(good))


def test_the_same_join_told_twice_is_one_queue_entry() -> None:
    tracker, parser = _tracker_and_parser()
    first = [f for m in parser.feed(_join()) for f in tracker.handle(m)]
    again = [f for m in parser.feed(_join()) for f in tracker.handle(m)]
    assert [f.kind for f in first].count("queued") == 1
    assert again == []
    assert len(tracker.calls[LINKEDID].entries) == 1


def test_a_rejoin_after_leaving_is_a_new_entry() -> None:
    tracker, parser = _tracker_and_parser()
    for data in (
        _join(),
        frame(
            Event="QueueCallerLeave",
            Channel=CALLER,
            Linkedid=LINKEDID,
            Uniqueid=LINKEDID,
            Queue="hotline",
            Position="1",
            Count="0",
        ),
        _join(),
    ):
        for message in parser.feed(data):
            tracker.handle(message)
    assert len(tracker.calls[LINKEDID].entries) == 2


def test_nul_and_control_characters_are_dropped_from_frames() -> None:
    tracker, parser = _tracker_and_parser()
    [message] = parser.feed(
        frame(
            Event="NewCallerid",
            Channel=CALLER,
            Linkedid=LINKEDID,
            Uniqueid=LINKEDID,
            CallerIDNum="7900\x000000001",
            CallerIDName="Ива\x00нов\x1b",
        )
    )
    assert message.get("CallerIDName") == "Иванов"
    assert message.get("CallerIDNum") == "79000000001"
    assert parser.stats.control_char_frames == 1
    tracker.handle(message)
    assert tracker.errors == 0


# Every event the tracker handles, each header given an arbitrary value.
HANDLED = sorted(CallTracker()._handlers)
HEADERS = [
    "Channel",
    "DestChannel",
    "Linkedid",
    "Uniqueid",
    "DestLinkedid",
    "Queue",
    "Position",
    "OriginalPosition",
    "HoldTime",
    "RingTime",
    "TalkTime",
    "MemberName",
    "Interface",
    "Reason",
    "Timestamp",
    "CallerIDNum",
    "CallerIDName",
    "Paused",
    "Status",
    "Wait",
    "TransfereeChannel",
    "TransfereeLinkedid",
    "TransferTargetChannel",
    "Result",
    "Extension",
    "Context",
    "Exten",
    "DialStatus",
    "ChanVariable",
]
VALUES = st.one_of(
    st.text(alphabet=string.printable.replace("\r", "").replace("\n", ""), max_size=20),
    st.sampled_from(["", "1e308", "nan", "-1", "99999999999999999999", "hotline", CALLER]),
    st.integers(-(2**70), 2**70).map(str),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(
        st.tuples(st.sampled_from(HANDLED), st.dictionaries(st.sampled_from(HEADERS), VALUES)),
        min_size=1,
        max_size=8,
    )
)
def test_no_field_value_makes_a_handler_raise(events: list[tuple[str, dict[str, str]]]) -> None:
    tracker, parser = _tracker_and_parser()
    for name, headers in events:
        for message in parser.feed(frame(Event=name, **headers)):
            tracker.handle(message)  # never raises, whatever the values
    # and a sound event afterwards is still understood
    before = tracker.errors
    facts = [
        f
        for m in parser.feed(
            _join().replace(LINKEDID.encode(), b"1795499999.9").replace(b"-00000001", b"-0000fff1")
        )
        for f in tracker.handle(m)
    ]
    assert tracker.errors == before
    assert any(isinstance(f, CallQueued) for f in facts)
