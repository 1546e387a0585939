"""`core.queue_log`: queue_log's lines as app_queue writes them (`apps/app_queue.c`,
`main/logger.c` of Asterisk 22), each event's data by name, and lines that are not
records skipped and counted, never raised out of the reader."""

from __future__ import annotations

import pytest

from core.queue_log import (
    SKIPPED_KEPT,
    QueueLogLineError,
    QueueLogLines,
    SkippedLine,
    parse_line,
)

AT = 1796602404
CALL = f"{AT}|1796602368.13|hotline"

# One line per event in app_queue's format, and the named fields it must give.
LINES = {
    f"{CALL}|NONE|ENTERQUEUE||79001000000|3": {
        "url": "",
        "caller_num": "79001000000",
        "position": "3",
        "caller_name": "",
    },
    # with queues.conf `log_caller_id_name = yes` (a `|` in the name is written as `_`)
    f"{CALL}|NONE|ENTERQUEUE||79001000000|1|Ivan_Petrov": {"caller_name": "Ivan_Petrov"},
    f"{CALL}|agent01|CONNECT|27|1796602390.52|4": {
        "hold_s": "27",
        "member_uniqueid": "1796602390.52",
        "ring_s": "4",
    },
    f"{CALL}|agent01|COMPLETECALLER|27|95|2": {
        "hold_s": "27",
        "talk_s": "95",
        "original_position": "2",
    },
    f"{CALL}|agent01|COMPLETEAGENT|27|96|2": {"hold_s": "27", "talk_s": "96"},
    f"{CALL}|NONE|ABANDON|1|3|38": {"position": "1", "original_position": "3", "wait_s": "38"},
    f"{CALL}|NONE|EXITWITHTIMEOUT|2|4|300": {"position": "2", "wait_s": "300"},
    f"{CALL}|NONE|EXITEMPTY|1|1|0": {"position": "1", "original_position": "1", "wait_s": "0"},
    f"{CALL}|NONE|EXITWITHKEY|5|1|2|17": {
        "key": "5",
        "position": "1",
        "original_position": "2",
        "wait_s": "17",
    },
    f"{CALL}|NONE|WITHDRAW|1|1|12|callback": {"wait_s": "12", "info": "callback"},
    f"{CALL}|agent01|BLINDTRANSFER|300|hotline-targets|7|21|1": {
        "exten": "300",
        "context": "hotline-targets",
        "hold_s": "7",
        "talk_s": "21",
        "original_position": "1",
    },
    # the method's own parts vary in number: the times are read from the end
    f"{CALL}|agent01|ATTENDEDTRANSFER|BRIDGE|5e1c-77|7|21|1": {
        "method": "BRIDGE",
        "hold_s": "7",
        "talk_s": "21",
    },
    f"{CALL}|agent01|ATTENDEDTRANSFER|LINK|Local/a;1|Local/b;2|8|22|1": {
        "method": "LINK",
        "hold_s": "8",
        "talk_s": "22",
    },
    f"{CALL}|agent01|TRANSFER|300|hotline-targets|7|21|1": {"hold_s": "7", "talk_s": "21"},
    f"{CALL}|agent01|RINGNOANSWER|15000": {"ring_ms": "15000"},
    f"{CALL}|agent01|RINGCANCELED|3120": {"ring_ms": "3120"},
    f"{AT}|MANAGER|hotline|agent01|ADDMEMBER|": {"paused": ""},
    f"{AT}|CLI|hotline|agent01|ADDMEMBER|PAUSED": {"paused": "PAUSED"},
    f"{AT}|NONE|hotline|agent01|PAUSE|lunch": {"reason": "lunch"},
    f"{AT}|NONE|hotline|agent01|UNPAUSE|": {"reason": ""},
    f"{AT}|NONE|NONE|agent01|PAUSEALL|": {"reason": ""},
}


@pytest.mark.parametrize("line", sorted(LINES))
def test_each_events_fields_by_name(line: str) -> None:
    record = parse_line(line + "\n")
    parts = line.split("|")
    assert (record.at, record.callid, record.queue, record.agent, record.event) == (
        int(parts[0]),
        parts[1],
        parts[2],
        parts[3],
        parts[4],
    )
    assert record.data == tuple(parts[5:])
    for name, value in LINES[line].items():
        assert record.field(name) == value, name


def test_numbers_and_missing_fields() -> None:
    record = parse_line(f"{CALL}|agent01|CONNECT|27")
    assert record.int_field("hold_s") == 27
    assert record.field("ring_s") == "" and record.int_field("ring_s") is None
    short = parse_line(f"{CALL}|agent01|BLINDTRANSFER|21|1")  # cut short: no hold time
    assert short.field("hold_s") == "" and short.field("talk_s") == "21"
    with pytest.raises(KeyError, match="CONNECT lines have no 'talk_s'"):
        record.field("talk_s")
    assert parse_line(f"{AT}|NONE|NONE|NONE|QUEUESTART|").data == ("",)


def test_line_ends_and_a_crashs_zeros() -> None:
    line = f"{CALL}|NONE|ABANDON|1|3|38"
    expected = parse_line(line)
    assert parse_line(line + "\r\n") == expected  # a CRLF copy
    assert parse_line("\0" * 4096 + line) == expected  # the zero-filled block a crash leaves
    assert parse_line((line + "\n").encode()) == expected
    cut = f"{CALL}|NONE|ENTERQUEUE||".encode() + "Ива".encode()[:3] + b"|1"  # split UTF-8
    assert parse_line(cut).field("caller_num") == "И\ufffd"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("garbage", "5 fields at least, 1 found"),
        (f"{AT}|1.1|hotline|NONE", "5 fields at least, 4 found"),
        (f"x{AT}|1.1|hotline|NONE|ABANDON|1|1|3", "is not whole epoch seconds"),
        (f"-{AT}|1.1|hotline|NONE|ABANDON|1|1|3", "is not whole epoch seconds"),
        (f"{AT}.5|1.1|hotline|NONE|ABANDON|1|1|3", "is not whole epoch seconds"),
        ("١٢٣|1.1|hotline|NONE|ABANDON|1|1|3", "is not whole epoch seconds"),  # not ASCII
        ("99999999999999999999|1.1|hotline|NONE|ABANDON", "out of range"),
        (f"{AT}|1.1|hotline|NONE||1|1|3", "no event"),
        (f"{AT}|1.1|hot\0line|NONE|ABANDON|1|1|3", "a NUL inside the line"),
        (f"{AT}|1.1|hotline|NONE|ABANDON|1\r|1|3", "a line break inside the line"),
    ],
)
def test_a_line_that_is_not_a_record_says_why(line: str, reason: str) -> None:
    with pytest.raises(QueueLogLineError, match=reason):
        parse_line(line)


def test_the_reader_skips_and_counts_and_never_raises() -> None:
    lines = [
        f"{CALL}|NONE|ENTERQUEUE||79001000000|1",
        "",
        "\0\0\0",
        "garbage",
        b"\xff\xfe|\x00",
        f"{CALL}|agent01|CONNECT|5|1.2|5",
        f"{AT}|1.1|hotline|NONE|ABANDON|1\r|1|3",
    ]
    reader = QueueLogLines(lines, first_line=10)
    assert [r.event for r in reader] == ["ENTERQUEUE", "CONNECT"]
    assert reader.skipped_count == 3
    assert [s.number for s in reader.skipped] == [13, 14, 16]
    assert reader.skipped[0] == SkippedLine(13, "5 fields at least, 1 found")


def test_the_reader_keeps_a_bounded_number_of_skipped_lines() -> None:
    reader = QueueLogLines(["garbage"] * (SKIPPED_KEPT + 5))
    assert list(reader) == []
    assert reader.skipped_count == SKIPPED_KEPT + 5
    assert len(reader.skipped) == SKIPPED_KEPT
