"""The tracker's AMI connection: our `AmiParser` in `data_received`, panoramisk for actions.

Why not panoramisk's own event path: it builds a `Message` (a case-insensitive dict of
every header) for every frame and matches every event against every registered
pattern; our parser skips the ~2/3 of events the tracker ignores without parsing them
and is about 5x faster on the transcripts' event mix (`bench/ingest.py`), which is the
whole CPU budget of a busy centre (Asterisk bursts to 16k events/s). So events go
straight from the parser to the tracker, in stream order, one call per read; only
responses and the events that answer an action (they carry an `ActionID`, rare) are
turned into panoramisk `Message`s for `AmiManager`'s action machinery (login, Ping,
bounded actions) — the events among those reach the tracker as well, in order, which
is what the resync needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from panoramisk import utils
from panoramisk.message import Message

from core.ami.manager import AmiManager
from core.ami.parser import AmiMessage, AmiParser
from core.ami.protocol import BANNER_PREFIX, AmiProtocol, log
from core.settings import AmiSettings

ReadHandler = Callable[[list[AmiMessage]], None]


class TrackerProtocol(AmiProtocol):
    """One AMI connection whose events go, parsed by `AmiParser`, to `on_read`."""

    def __init__(self, manager: AmiManager, on_read: ReadHandler, wanted: Iterable[str]) -> None:
        super().__init__(manager)
        self._parser = AmiParser(wanted=wanted)
        self._on_read = on_read

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        messages = parser.feed(data)
        if self.version is None and parser.banner is not None:
            self.version = parser.banner[len(BANNER_PREFIX) :].strip()
        if parser.pending_bytes > self.max_frame_chars:
            log.error("AMI frame over %d bytes without an end: closing", self.max_frame_chars)
            self.close()
            return
        events: list[AmiMessage] = []
        for message in messages:
            if message.is_event:
                events.append(message)
                if "ActionID: " not in message.text:
                    continue  # the common case: for the tracker only
            self._to_panoramisk(message)
        if events:
            self._on_read(events)

    def _to_panoramisk(self, message: AmiMessage) -> None:
        text = message.text.replace("\r\n", "\n").replace("\n", utils.EOL)
        parsed = Message.from_line(text)
        if parsed is None:
            return
        try:
            self.handle_message(parsed)
        except Exception:
            # One bad message must not cost the connection or the messages after it.
            log.exception("AMI message could not be handled: %r", message)


class TrackerAmiManager(AmiManager):
    """`AmiManager` whose connections feed the tracker through `TrackerProtocol`.

    Events reach the tracker directly, so panoramisk's dispatch (`register_event`) sees
    only the events that carry an `ActionID`.
    """

    def __init__(self, settings: AmiSettings, on_read: ReadHandler, wanted: Iterable[str]) -> None:
        super().__init__(settings)
        self._on_read = on_read
        self._wanted = frozenset(wanted)

    def make_protocol(self) -> AmiProtocol:
        return TrackerProtocol(self, self._on_read, self._wanted)
