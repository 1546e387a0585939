"""Helpers of the FastAGI tests: the recorded wire exchange, and Asterisk's argument parser."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import FIXTURES

WIRE = FIXTURES / "07-fastagi.wire.txt"
_LINE = re.compile(r"^\s*[\d.]+ (?P<who>[AS])> (?P<text>.*)$")


def read_wire(path: Path = WIRE) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(environment lines, [(command sent by the server, reply lines from Asterisk)])."""
    env: list[str] = []
    exchange: list[tuple[str, list[str]]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(raw)
        if match is None:
            continue
        who, text = match["who"], match["text"]
        if who == "S":
            exchange.append((text, []))
        elif exchange:
            exchange[-1][1].append(text)
        elif text:  # the blank line that ends the environment is added when sent
            env.append(text)
    return env, exchange


def asterisk_args(line: str) -> list[str]:
    """Split a command line the way res_agi's parse_args does (quotes, backslash escapes)."""
    args: list[str] = []
    current: list[str] | None = None
    quoted = escaped = False
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if current is None:
                current = []
            continue
        if char in " \t" and not quoted and not escaped:
            if current is not None:
                args.append("".join(current))
                current = None
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        escaped = False
        if current is None:
            current = []
        current.append(char)
    if current is not None:
        args.append("".join(current))
    return args
