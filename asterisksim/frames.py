"""AMI wire format: rendering frames to CRLF bytes and parsing the frames a client sends."""

from __future__ import annotations

from dataclasses import dataclass

# Event classes as bits, so a session's EventMask test is one AND on the hot path.
CLASSES: dict[str, int] = {
    "system": 1,
    "call": 2,
    "log": 4,
    "verbose": 8,
    "command": 16,
    "agent": 32,
    "user": 64,
    "config": 128,
    "dtmf": 256,
    "reporting": 512,
    "cdr": 1024,
    "dialplan": 2048,
    "originate": 4096,
    "agi": 8192,
    "cc": 16384,
    "aoc": 32768,
    "test": 65536,
    "security": 131072,
    "message": 262144,
}
ALL_CLASSES = sum(CLASSES.values())

MAX_LINE_BYTES = 64 * 1024
MAX_FRAME_HEADERS = 512


class FrameError(ValueError):
    """The client sent bytes that are not an AMI frame."""


@dataclass(slots=True)
class Event:
    """One event as it goes on the wire: `head` + optional `Timestamp:` line + `tail`."""

    cls: int
    name: str
    head: bytes
    tail: bytes
    at_s: float
    stamped: bool = True

    def render(self, timestamps: bool) -> bytes:
        if timestamps and self.stamped:
            return self.head + b"Timestamp: %.6f\r\n" % self.at_s + self.tail
        return self.head + self.tail


def render(pairs: list[tuple[str, str]]) -> bytes:
    """Headers to one CRLF frame (with the blank line)."""
    return "".join(f"{k}: {v}\r\n" for k, v in pairs).encode() + b"\r\n"


def parse_mask(text: str) -> int:
    """`EventMask`/`read=` text (`on`, `off`, `call,agent`) to a class bit mask."""
    value = text.strip().lower()
    if value in ("on", "all", "yes", "true"):
        return ALL_CLASSES
    if value in ("off", "no", "false", "none", ""):
        return 0
    mask = 0
    for name in value.split(","):
        bit = CLASSES.get(name.strip())
        if bit is None:
            raise FrameError(f"unknown event class {name.strip()!r}")
        mask |= bit
    return mask


class FrameReader:
    """Incremental parser of client frames: accepts CRLF or bare LF, caps line length."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._headers: list[tuple[str, str]] = []

    def feed(self, data: bytes) -> list[list[tuple[str, str]]]:
        self._buf += data
        frames: list[list[tuple[str, str]]] = []
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > MAX_LINE_BYTES:
                    raise FrameError("header line too long")
                return frames
            if nl > MAX_LINE_BYTES:
                raise FrameError("header line too long")
            raw = bytes(self._buf[:nl]).rstrip(b"\r")
            del self._buf[: nl + 1]
            if not raw:
                if self._headers:
                    frames.append(self._headers)
                    self._headers = []
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FrameError("frame is not UTF-8") from exc
            key, sep, value = line.partition(":")
            if not sep or not key.strip() or " " in key.strip():
                raise FrameError(f"malformed header line {line[:60]!r}")
            self._headers.append((key.strip(), value.strip()))
            if len(self._headers) > MAX_FRAME_HEADERS:
                raise FrameError("too many headers in one frame")
