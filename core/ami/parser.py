"""Incremental AMI frame parser: bytes from the socket in, `AmiMessage`s out.

Unlike panoramisk 1.4 it decodes whole frames, never single TCP chunks (so a UTF-8
character split between reads survives), accepts LF-only frames as well as CRLF, keeps
repeated headers (`ChanVariable:`, `Output:`) and does not crash on a malformed line.

Headers are parsed lazily: the event name is read straight from the first line, and the
header dict is built only when someone asks for it, so events the tracker ignores
(`VarSet`, `Newexten`, ...) cost a string slice each.

>>> parser = AmiParser(clock=lambda: 0.0)
>>> data = b"Asterisk Call Manager/11.0.0\\r\\nResponse: Success\\r\\n\\r\\n"
>>> [m.name for m in parser.feed(data)]
['Success']
>>> parser.banner
'Asterisk Call Manager/11.0.0'
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import repeat

from core.text import UNWANTED

log = logging.getLogger(__name__)

BANNER_PREFIX = "Asterisk Call Manager/"
_EVENT = "Event: "
_RESPONSE = "Response: "


@dataclass
class ParserStats:
    """Counters of what the parser had to forgive; exported for monitoring and tests."""

    frames: int = 0
    malformed_lines: int = 0
    skipped_frames: int = 0
    bad_utf8_frames: int = 0
    control_char_frames: int = 0  # reads whose NUL or control characters were dropped


class AmiMessage:
    """One AMI frame: an event or a response. Header look-ups are exact-case, as Asterisk
    sends them; a repeated header keeps every value (`getall`). `text` is the frame as
    received, with its CRLF (or LF) line ends."""

    __slots__ = ("_headers", "_multi", "_stats", "is_event", "name", "received_at", "text")

    def __init__(
        self,
        text: str,
        received_at: float,
        stats: ParserStats | None = None,
        name: str | None = None,
        is_event: bool = False,
    ) -> None:
        self.text = text
        self.received_at = received_at
        self._stats = stats
        self._headers: dict[str, str] | None = None
        self._multi: dict[str, list[str]] | None = None
        if name is not None:  # the parser already read the first line
            self.name: str | None = name
            self.is_event = is_event
            return
        first_end = text.find("\n")
        first = text if first_end < 0 else text[:first_end]
        if first.startswith(_EVENT):
            self.is_event = True
            self.name = first[7:].strip()
        elif first.startswith(_RESPONSE):
            self.is_event = False
            self.name = first[10:].strip()
        else:
            self.is_event = False
            self.name = None

    @property
    def headers(self) -> dict[str, str]:
        """Header -> value; for a repeated header, its first value."""
        if self._headers is None:
            self._parse()
        return self._headers  # type: ignore[return-value]

    def get(self, key: str, default: str = "") -> str:
        return self.headers.get(key, default)

    def __getitem__(self, key: str) -> str:
        return self.headers[key]

    def __contains__(self, key: str) -> bool:
        return key in self.headers

    def getall(self, key: str) -> list[str]:
        """Every value of a header, in order (`Output:` lines, `ChanVariable:` pairs)."""
        headers = self.headers
        if self._multi and key in self._multi:
            return list(self._multi[key])
        return [headers[key]] if key in headers else []

    def variables(self, prefix: str = "") -> dict[str, str]:
        """The channel variables of one channel block: `ChanVariable` for the main
        channel, `DestChanVariable`, `TransfereeChanVariable`... for the others."""
        result: dict[str, str] = {}
        for item in self.getall(f"{prefix}ChanVariable"):
            name, _, value = item.partition("=")
            result[name] = value
        return result

    def _parse(self) -> None:
        # A frame keeps the line ends it came with: all CRLF or, once normalised, all LF.
        lines = self.text.split("\r\n" if "\r" in self.text else "\n")
        try:
            # Fast path: every line is "Key: value" (a line without ": " raises).
            pairs = list(map(str.split, lines, repeat(": "), repeat(1)))
            headers = dict(pairs)
        except ValueError:
            self._parse_slowly(lines)
            return
        if len(headers) != len(pairs):  # repeated headers (ChanVariable, Output)
            multi: dict[str, list[str]] = {}
            for key, value in pairs:
                multi.setdefault(key, []).append(value)
            self._multi = {key: values for key, values in multi.items() if len(values) > 1}
            for key, values in self._multi.items():
                headers[key] = values[0]
        self._headers = headers

    def _parse_slowly(self, lines: list[str]) -> None:
        headers: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        for line in lines:
            key, sep, value = line.partition(": ")
            if not sep:
                key, sep, value = line.partition(":")
                value = value.strip()
            key = key.strip()
            value = value.rstrip("\r")
            if not sep or not key:
                if line.strip():
                    self._malformed(line)
                continue
            if key in headers:
                multi.setdefault(key, [headers[key]]).append(value)
            else:
                headers[key] = value
        self._headers = headers
        self._multi = multi or None

    def _malformed(self, line: str) -> None:
        if self._stats is not None:
            self._stats.malformed_lines += 1
        log.warning(
            "AMI: ignoring malformed line %r in %s %r",
            line[:80],
            "event" if self.is_event else "frame",
            self.name,
        )

    def __repr__(self) -> str:
        kind = "Event" if self.is_event else "Response"
        return f"<AmiMessage {kind}: {self.name}>"


class AmiParser:
    """Feed it bytes as they arrive; it returns the complete frames, in order.

    `wanted`, when given, names the events to return; other events are counted in
    `stats.frames` and dropped before any object is made for them. Responses, and events
    that answer an action (they carry its `ActionID`, e.g. QueueStatus's QueueParams),
    always pass.
    """

    def __init__(
        self, clock: Callable[[], float] = time.time, wanted: Iterable[str] | None = None
    ) -> None:
        self._clock = clock
        self._pending = b""
        self._pending_is_lf = False
        self._wanted = frozenset(wanted) if wanted is not None else None
        self.banner: str | None = None
        self.stats = ParserStats()

    def feed(self, data: bytes) -> list[AmiMessage]:
        buf = self._pending + data if self._pending else data
        if not self._pending_is_lf and buf.count(b"\r") == buf.count(b"\n"):
            # All CRLF, as Asterisk sends: split as is (counting is cheaper than copying).
            eol, blank = "\r\n", b"\r\n\r\n"
        else:
            # LF-only or mixed: normalise; a CR at the very end waits for its LF. The
            # tail kept is then LF-only, so the next read is normalised too.
            buf = buf.replace(b"\r\n", b"\n")
            eol, blank = "\n", b"\n\n"
        end = buf.rfind(blank)
        self._pending = buf if end < 0 else buf[end + len(blank) :]
        self._pending_is_lf = eol == "\n" and bool(self._pending)
        if end < 0:
            return []
        chunk = buf[:end]
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError:
            # Bytes at frame boundaries are ASCII, so this is bad data, not a split read.
            text = chunk.decode("utf-8", errors="replace")
            self.stats.bad_utf8_frames += 1
            log.warning("AMI: invalid UTF-8 in received frames; replaced")
        if UNWANTED.search(text):
            # NUL and other control characters in a field (a caller's name) would make the
            # facts unstorable downstream: dropped here, once, for every reader.
            text = UNWANTED.sub("", text)
            self.stats.control_char_frames += 1
        received_at = self._clock()
        stats = self.stats
        wanted = self._wanted
        messages: list[AmiMessage] = []
        append = messages.append
        frames = text.split(eol + eol)
        stats.frames += len(frames)
        for frame in frames:
            if frame.startswith(_EVENT):  # the common case, kept short
                line_end = frame.find(eol)
                name = frame[7:line_end] if line_end > 0 else frame[7:]
                if wanted is None or name in wanted or "ActionID: " in frame:
                    append(AmiMessage(frame, received_at, stats, name, True))
                continue
            message = self._unusual(frame.replace("\r\n", "\n"), received_at)
            if message is not None:
                append(message)
        return messages

    def _unusual(self, frame: str, received_at: float) -> AmiMessage | None:
        """Responses, the banner, blank runs and garbage."""
        if not frame or frame[0] == "\n":
            frame = frame.strip("\n")
            if not frame:
                self.stats.frames -= 1
                return None
        if self.banner is None and frame.startswith(BANNER_PREFIX):
            self.banner, _, frame = frame.partition("\n")
            if not frame:
                self.stats.frames -= 1
                return None
        message = AmiMessage(frame, received_at, self.stats)
        if message.name is None:
            self.stats.skipped_frames += 1
            log.warning("AMI: skipping a frame that is neither event nor response: %r", frame[:80])
            return None
        if (
            message.is_event
            and self._wanted is not None
            and message.name not in self._wanted
            and "ActionID" not in message
        ):
            return None
        return message

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete frame held back until its end arrives."""
        return len(self._pending)
