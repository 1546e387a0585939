"""The AMI frame parser: split reads, LF-only frames, repeated headers, bad lines."""

from __future__ import annotations

import asyncio
import logging
import random
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from panoramisk.ami_protocol import AMIProtocol

from core.ami.parser import AmiParser

from .conftest import SESSIONS, frame, transcript

CYRILLIC_NAME = "Татьяна Щукина-Эйхгольц"


def _newchannel(name: str = CYRILLIC_NAME) -> bytes:
    return frame(
        Event="Newchannel",
        Privilege="call,all",
        Channel="PJSIP/trunk-00000001",
        CallerIDNum="79161234567",
        CallerIDName=name,
        Linkedid="1795311016.10",
    )


def test_one_byte_chunks_keep_a_split_utf8_character() -> None:
    data = _newchannel()
    parser = AmiParser(clock=lambda: 5.0)
    messages = []
    for i in range(len(data)):
        messages += parser.feed(data[i : i + 1])
    assert len(messages) == 1
    assert messages[0]["CallerIDName"] == CYRILLIC_NAME
    assert messages[0].received_at == 5.0
    assert parser.pending_bytes == 0


def test_panoramisk_loses_letters_on_the_same_feed() -> None:
    """The fault we design around: panoramisk 1.4 decodes every TCP chunk on its own."""
    received = []

    class Factory:
        save_stream = None

        def dispatch(self, message: object) -> None:
            received.append(message)

    protocol = AMIProtocol()
    protocol.connection_made(asyncio.Transport())
    protocol.factory = Factory()
    protocol.encoding = "utf-8"
    data = _newchannel()
    for i in range(len(data)):
        protocol.data_received(data[i : i + 1])
    assert len(received) == 1
    assert received[0]["CallerIDName"] != CYRILLIC_NAME  # letters dropped


def test_lf_only_frames_parse_like_crlf_ones() -> None:
    crlf = _newchannel() + frame(Event="Hangup", Channel="PJSIP/trunk-00000001", Cause="16")
    lf = crlf.replace(b"\r\n", b"\n")
    parsed = [[m.headers for m in AmiParser().feed(data)] for data in (crlf, lf)]
    assert parsed[0] == parsed[1]
    assert [h["Event"] for h in parsed[1]] == ["Newchannel", "Hangup"]


def test_crlf_split_between_cr_and_lf() -> None:
    data = _newchannel()
    cut = data.index(b"\r\n\r\n") + 1  # between the CR and the LF of the last line
    parser = AmiParser()
    assert parser.feed(data[:cut]) == []
    assert [m.name for m in parser.feed(data[cut:])] == ["Newchannel"]


def test_repeated_headers_are_all_kept() -> None:
    data = frame(
        Event="AgentConnect",
        Channel="PJSIP/trunk-00000001",
        ChanVariable=["UIN=91782267", "TICKET_ID=", "TRANSFER_COUNT=1"],
        DestChanVariable=["UIN=91782267", "TICKET_ID=77"],
    ) + frame(Response="Success", ActionID="7", Output=["Line one", "", "Line: three"])
    event, response = AmiParser().feed(data)
    assert event.getall("ChanVariable") == ["UIN=91782267", "TICKET_ID=", "TRANSFER_COUNT=1"]
    assert event.variables() == {"UIN": "91782267", "TICKET_ID": "", "TRANSFER_COUNT": "1"}
    assert event.variables("Dest") == {"UIN": "91782267", "TICKET_ID": "77"}
    assert event["ChanVariable"] == "UIN=91782267"  # a plain look-up gives the first
    assert not response.is_event and response.name == "Success"
    assert response.getall("Output") == ["Line one", "", "Line: three"]


def test_malformed_lines_are_counted_and_logged_not_fatal(caplog) -> None:
    data = (
        b"Event: QueueCallerJoin\r\nQueue: hotline\r\nthis line has no colon\r\n"
        b"Position:3\r\nCount: 1\r\n\r\n"
        b"garbage with no header at all\r\n\r\n" + frame(Event="Hangup", Cause="16")
    )
    parser = AmiParser()
    with caplog.at_level(logging.WARNING, logger="core.ami.parser"):
        messages = parser.feed(data)
        join = messages[0]
        assert join.headers == {
            "Event": "QueueCallerJoin",
            "Queue": "hotline",
            "Position": "3",
            "Count": "1",
        }
    assert [m.name for m in messages] == ["QueueCallerJoin", "Hangup"]
    assert parser.stats.malformed_lines == 1
    assert parser.stats.skipped_frames == 1
    assert "no colon" in caplog.text and "garbage" in caplog.text


def test_invalid_utf8_is_replaced_and_counted() -> None:
    parser = AmiParser()
    messages = parser.feed(b"Event: Newchannel\r\nCallerIDName: \xff\xfeX\r\n\r\n")
    assert messages[0]["CallerIDName"].endswith("X")
    assert parser.stats.bad_utf8_frames == 1


def test_banner_is_taken_off_the_first_frame() -> None:
    parser = AmiParser()
    data = transcript("01-answered").read_bytes()
    first = parser.feed(data[:200])[0]
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert first.name == "Success" and first["ActionID"] == "01-answered-1"
    assert parser.stats.malformed_lines == 0


@pytest.mark.parametrize("line_ends", ["crlf", "lf"])
def test_transcripts_parse_the_same_in_any_chunking(line_ends: str) -> None:
    rng = random.Random(1234)
    for name in [*SESSIONS, "08-production-sample"]:
        data = transcript(name).read_bytes()
        expected = data.count(b"\r\n\r\nEvent: ") + data.count(b"\r\n\r\nResponse: ") + 1
        if line_ends == "lf":
            data = data.replace(b"\r\n", b"\n")
        whole = AmiParser().feed(data)
        assert len(whole) == expected, name
        parser = AmiParser()
        pieces: list = []
        start = 0
        while start < len(data):
            size = rng.randint(1, 700)
            pieces += parser.feed(data[start : start + size])
            start += size
        assert [m.headers for m in pieces] == [m.headers for m in whole], name
        assert all(m.headers for m in pieces)
        assert parser.stats.malformed_lines == 0 and parser.stats.skipped_frames == 0


SAMPLE = (
    _newchannel()
    + b"Event: Hangup\nChannel: PJSIP/a-1\nCallerIDName: \xd0\x81\xd0\xb6\nCause: 16\n\n"
    + frame(Response="Success", ActionID="9", Output=["Ёлка", "ёж"])
)


@given(st.lists(st.integers(min_value=1, max_value=len(SAMPLE) - 1), unique=True))
def test_any_split_of_mixed_frames_gives_the_same_headers(cuts: list[int]) -> None:
    expected = [m.headers for m in AmiParser().feed(SAMPLE)]
    parser = AmiParser()
    got = []
    bounds = [0, *sorted(cuts), len(SAMPLE)]
    for start, end in pairwise(bounds):
        got += [m.headers for m in parser.feed(SAMPLE[start:end])]
    assert got == expected
    assert [h.get("CallerIDName") for h in got[:2]] == [CYRILLIC_NAME, "Ёж"]


def test_unwanted_events_are_dropped_but_counted() -> None:
    data = (
        frame(Event="VarSet", Variable="X", Value="1")
        + frame(Response="Success", ActionID="1", EventList="start")
        + frame(Event="QueueParams", Queue="hotline", ActionID="1")
        + frame(Event="Hangup", Channel="PJSIP/a-1", Cause="16")
    )
    parser = AmiParser(wanted={"Hangup"})
    assert [m.name for m in parser.feed(data)] == ["Success", "QueueParams", "Hangup"]
    assert parser.stats.frames == 4


def test_mixed_line_ends_in_one_read() -> None:
    data = (
        b"Event: Hangup\r\nChannel: PJSIP/a-1\nCause: 16\r\n\r\n"
        b"Event: Newchannel\nChannel: PJSIP/b-2\n\n"
        b"Event: DialEnd\r\nDialStatus: CANCEL\r\n\r\n"
    )
    parser = AmiParser()
    messages = parser.feed(data)
    assert [m.name for m in messages] == ["Hangup", "Newchannel", "DialEnd"]
    assert messages[0].headers == {"Event": "Hangup", "Channel": "PJSIP/a-1", "Cause": "16"}
    assert messages[2]["DialStatus"] == "CANCEL"
    assert parser.stats.malformed_lines == 0
