"""AGI command builders (no injection) and reply parsing, checked against the recorded wire."""

from __future__ import annotations

import pytest
from panoramisk.utils import parse_agi_result

from agi import commands
from agi.commands import AgiReply, parse_reply, quote
from agi.errors import AgiProtocolError
from tests.amifix.agi_wire import asterisk_args, read_wire

EVIL = 'Bob" \\"\r\nHANGUP\nEXEC Dial "PJSIP/900\\'


CLEAN = EVIL.replace("\r\n", " ").replace("\n", " ")


@pytest.mark.parametrize(
    ("command", "expected_args"),
    [
        (commands.set_variable("__NAME", EVIL), ["SET", "VARIABLE", "__NAME", CLEAN]),
        (commands.verbose(EVIL, 2), ["VERBOSE", CLEAN, "2"]),
        (commands.stream_file(EVIL), ["STREAM", "FILE", CLEAN, ""]),
        (commands.get_data(EVIL, 5000, 3), ["GET", "DATA", CLEAN, "5000", "3"]),
        (commands.exec_("Playback", [EVIL, "noanswer"]), ["EXEC", "Playback", f"{CLEAN},noanswer"]),
        (commands.noop(EVIL), ["NOOP", CLEAN]),
    ],
)
def test_caller_text_never_makes_a_second_command(command: str, expected_args: list[str]) -> None:
    assert "\n" not in command and "\r" not in command
    # Asterisk reads back exactly the caller's text (CR/LF as spaces) as one argument.
    assert asterisk_args(command) == expected_args


def test_quote_escapes_backslash_and_quote() -> None:
    assert quote('a\\b"c') == '"a\\\\b\\"c"'
    assert asterisk_args(f"VERBOSE {quote('a b')} 1") == ["VERBOSE", "a b", "1"]
    assert asterisk_args('SAY DIGITS 12345 ""') == ["SAY", "DIGITS", "12345", ""]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: commands.set_variable("UIN X", "1"), "variable name"),
        (lambda: commands.get_variable("A\nB"), "variable name"),
        (lambda: commands.say_digits("12a"), "digits"),
        (lambda: commands.say_digits(""), "at least one digit"),
        (lambda: commands.say_digits("1", escape_digits="x"), "escape digits"),
        (lambda: commands.get_data("beep", 0, 3), "timeout_ms"),
        (lambda: commands.get_data("beep", 5000, True), "max_digits"),
        (lambda: commands.verbose("x", 9), "level"),
        (lambda: commands.exec_("Dial\nHANGUP", "x"), "application"),
        (lambda: commands.stream_file("\r\n"), "file name"),
    ],
)
def test_bad_arguments_are_refused_clearly(build, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("200 result=1", AgiReply(200, "1", "")),
        ("200 result=1 (timeout)", AgiReply(200, "1", "timeout")),
        ("200 result= (timeout)", AgiReply(200, "", "timeout")),
        ("200 result=-1 endpos=0", AgiReply(200, "-1", "endpos=0")),
        ("200 result=1 (12345)", AgiReply(200, "1", "12345")),
        ("200 result=1 (two words)", AgiReply(200, "1", "two words")),
        ("510 Invalid or unknown command", AgiReply(510, "", "Invalid or unknown command")),
        ("520 Invalid command syntax.", AgiReply(520, "", "Invalid command syntax.")),
    ],
)
def test_replies_parse(line: str, reply: AgiReply) -> None:
    assert parse_reply(line) == reply
    code, result, data = parse_reply(line)
    assert (code, result, data) == tuple(reply)


def test_vanilla_parser_loses_timeout_and_crashes_on_empty_line() -> None:
    assert parse_agi_result("200 result= (timeout)")["result"] == ("", "")  # '(timeout)' lost
    with pytest.raises(ValueError):  # what a closed channel gives it
        parse_agi_result("")


@pytest.mark.parametrize("line", ["", "HELLO", "200 nothing", "20 result=1"])
def test_garbage_reply_is_a_protocol_error(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply(line)


def test_endpos_field() -> None:
    assert parse_reply("200 result=0 endpos=8000").field("endpos") == "8000"
    assert parse_reply("200 result=0").field("endpos") is None


def test_recorded_wire_replies_parse_and_builders_match_its_commands() -> None:
    _, exchange = read_wire()
    built = [
        commands.set_variable("UIN", "12345"),
        commands.say_digits("12345"),
        commands.stream_file("hello-world"),
        commands.get_data("beep", 5000, 3),
        commands.get_variable("UIN"),
        commands.verbose("ticket 12345 read out", 1),
        commands.noop("done"),
    ]
    assert len(exchange) == len(built)
    for ours, (recorded, replies) in zip(built, exchange, strict=True):
        assert asterisk_args(ours) == asterisk_args(recorded)
        assert parse_reply(replies[0]).code == 200
    assert parse_reply(exchange[3][1][0]).result == "42"
    assert parse_reply(exchange[4][1][0]).data == "12345"
