"""The caller's number and name as Asterisk reports them: which values are real, and which wins.

Asterisk says "no caller ID" as `<unknown>` in AMI channel blocks (a `Newchannel` before
its `NewCallerid`) and as `unknown` in the AGI environment. A value that says nothing never
replaces one that says something; a later real value replaces an earlier one (the dialplan
may set `CALLERID()` again, and Asterisk then reports the new one).

>>> known("<unknown>"), known(" unknown "), known(None), known(" 79000000001 ")
('', '', '', '79000000001')
>>> later_wins("79000000001", "<unknown>"), later_wins("<unknown>", "79000000001")
('79000000001', '79000000001')
>>> later_wins("", "")
''
"""

from __future__ import annotations

NO_CALLER_ID = frozenset({"", "<unknown>", "unknown"})


def known(value: str | None) -> str:
    """`value` if it names someone, else ""."""
    value = (value or "").strip()
    return "" if value.lower() in NO_CALLER_ID else value


def later_wins(current: str | None, later: str | None) -> str:
    """The value to keep when `later` is reported after `current`."""
    return known(later) or known(current)
