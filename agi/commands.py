"""AGI commands built safely, and Asterisk's replies parsed.

Every value is double-quoted with `\\` and `"` escaped (as Asterisk's AGI argument parser
expects) after CR/LF are replaced by spaces, so caller-supplied text can never end the
command line and start a second command.

>>> set_variable("__UIN", 'say "hi"\\nHANGUP')
'SET VARIABLE "__UIN" "say \\\\"hi\\\\" HANGUP"'
>>> parse_reply("200 result=1 (timeout)")
AgiReply(code=200, result='1', data='timeout')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from agi.errors import AgiProtocolError

_CRLF = re.compile(r"[\r\n\x00]+")
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A dialplan function read or written like a variable: CHANNEL(linkedid), CHANNEL(language).
_FUNCTION = re.compile(r"^[A-Z][A-Z0-9_]*\([A-Za-z0-9_,]*\)$")
_DTMF = re.compile(r"^[0-9*#]*$")
_APPLICATION = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# "200 result=-1 endpos=0", "200 result=1 (12345)", "200 result= (timeout)"
_RESULT = re.compile(r"^result=(?P<result>\S*)\s*(?:\((?P<paren>.*)\))?\s*(?P<rest>.*)$")
_STATUS = re.compile(r"^(?P<code>\d{3})(?P<sep>[ -]|$)(?P<text>.*)$")


class AgiReply(NamedTuple):
    """One answer of Asterisk: `code` (200, 510, 520...), `result`, and `data`.

    `data` is the text in parentheses (`(timeout)`, a variable's value), else what follows
    the result (`endpos=8000`), else a 5xx message.
    """

    code: int
    result: str
    data: str

    @property
    def ok(self) -> bool:
        return self.code == 200

    def field(self, name: str) -> str | None:
        """A `name=value` pair from `data`, e.g. `endpos`."""
        match = re.search(rf"(?:^|\s){re.escape(name)}=(\S*)", self.data)
        return match.group(1) if match else None


def parse_reply(line: str) -> AgiReply:
    """Parse one status line (`200 result=...`, `510 Invalid...`, `520 ...`)."""
    match = _STATUS.match(line.strip())
    if match is None:
        raise AgiProtocolError(f"not an AGI reply: {line[:80]!r}")
    code, text = int(match["code"]), match["text"].strip()
    if code != 200:
        return AgiReply(code, "", text)
    result = _RESULT.match(text)
    if result is None:
        raise AgiProtocolError(f"AGI 200 reply without result=: {line[:80]!r}")
    data = result["paren"] if result["paren"] is not None else result["rest"]
    return AgiReply(code, result["result"], data.strip())


def one_line(value: object) -> str:
    """A value on one line: CR, LF and NUL runs become one space."""
    return _CRLF.sub(" ", str(value))


def quote(value: object) -> str:
    """A single AGI argument: one line, in double quotes, `\\` and `"` escaped."""
    text = one_line(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _digits(value: str, what: str) -> str:
    if not _DTMF.match(value):
        raise ValueError(f"{what} must be digits, * or #: {value!r}")
    return value


def _positive(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{what} must be a positive whole number: {value!r}")
    return value


def set_variable(name: str, value: object) -> str:
    """`SET VARIABLE`; `name` may start with `_` or `__` (inherited by child channels), or be
    a dialplan function such as `CHANNEL(language)`."""
    if not (_VARIABLE_NAME.match(name) or _FUNCTION.match(name)):
        raise ValueError(f"not a channel variable name: {name!r}")
    return f"SET VARIABLE {quote(name)} {quote(value)}"


def get_variable(name: str) -> str:
    """`GET VARIABLE`; the reply is `200 result=1 (value)` or `200 result=0` (unset).

    Asterisk evaluates a name ending in `)` as a dialplan function (`CHANNEL(linkedid)`).
    """
    if not (_VARIABLE_NAME.match(name) or _FUNCTION.match(name)):
        raise ValueError(f"not a channel variable name: {name!r}")
    return f"GET VARIABLE {quote(name)}"


def say_digits(digits: str, escape_digits: str = "") -> str:
    """`SAY DIGITS`, e.g. a UIN; `escape_digits` are keys that interrupt it."""
    if not digits:
        raise ValueError("SAY DIGITS needs at least one digit")
    _digits(digits, "SAY DIGITS")
    return f"SAY DIGITS {quote(digits)} {quote(_digits(escape_digits, 'escape digits'))}"


def stream_file(filename: str, escape_digits: str = "") -> str:
    """`STREAM FILE` of a prompt (no extension); a missing file answers `result=-1`."""
    if not one_line(filename).strip():
        raise ValueError("STREAM FILE needs a file name")
    return f"STREAM FILE {quote(filename)} {quote(_digits(escape_digits, 'escape digits'))}"


def get_data(prompt: str, timeout_ms: int, max_digits: int) -> str:
    """`GET DATA`: play `prompt`, collect up to `max_digits` DTMF within `timeout_ms`."""
    _positive(timeout_ms, "timeout_ms")
    _positive(max_digits, "max_digits")
    return f"GET DATA {quote(prompt)} {timeout_ms} {max_digits}"


def verbose(message: str, level: int = 1) -> str:
    """`VERBOSE`: a line in Asterisk's console log at `level` (1-4)."""
    if level not in (1, 2, 3, 4):
        raise ValueError(f"VERBOSE level must be 1-4: {level!r}")
    return f"VERBOSE {quote(message)} {level}"


def exec_(app: str, args: str | Sequence[str] = ()) -> str:
    """`EXEC` a dialplan application; a sequence of arguments is joined with commas."""
    if not _APPLICATION.match(app):
        raise ValueError(f"not a dialplan application name: {app!r}")
    joined = args if isinstance(args, str) else ",".join(str(a) for a in args)
    return f"EXEC {quote(app)} {quote(joined)}"


def noop(message: str = "") -> str:
    """`NOOP`: does nothing; handy to check the channel is still there."""
    return f"NOOP {quote(message)}" if message else "NOOP"
