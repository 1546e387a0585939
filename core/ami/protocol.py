"""AMI wire protocol over panoramisk's: whole UTF-8 characters, CRLF or LF frames, no injection.

panoramisk 1.4's `AMIProtocol` decodes each TCP chunk on its own (a UTF-8 character split
between two reads is dropped), only splits frames on CRLF CRLF (LF-only frames are never
delivered) and writes action values as they are (a value holding CR/LF becomes a second
header or a second action). This subclass fixes those three and keeps panoramisk's
message parsing (`Message.from_line`) and response matching (`handle_message`).
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from panoramisk import actions, utils
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

if TYPE_CHECKING:
    from core.ami.manager import AmiManager

log = logging.getLogger(__name__)

BANNER_PREFIX = "Asterisk Call Manager/"
_CRLF = re.compile(r"[\r\n]+")
_BAD_KEY = re.compile(r"[\r\n:]")


class AmiError(Exception):
    """Something went wrong talking to Asterisk's manager interface."""


class AmiUnavailable(AmiError):
    """No answer from Asterisk in time: not connected, connection lost, or no reply."""


class AmiLoginError(AmiError):
    """Asterisk refused the login (wrong user or secret, or no permission)."""


def one_line(value: object) -> str:
    """A header value on one line: each run of CR/LF becomes a single space."""
    return _CRLF.sub(" ", str(value))


# Actions that Asterisk answers with one Response and nothing after it. panoramisk 1.4
# guesses from the reply text, and takes QueueAdd's "Added interface to queue" for the
# start of a list: the action then waits for events that never come.
SINGLE_RESPONSE = frozenset(
    {
        "queueadd",
        "queueremove",
        "queuepause",
        "queuepenalty",
        "setvar",
        "getvar",
        "hangup",
        "redirect",
        "blindtransfer",
        "atxfer",
        "cancelatxfer",
        "ping",
        "events",
        "queuereset",
    }
)


def make_action(
    data: Mapping[str, Any] | actions.Action, as_list: bool | None = None
) -> actions.Action:
    """An `Action` (or `Command`) whose keys and values cannot start a new header or action.

    >>> import asyncio  # panoramisk's Action makes a Future: it needs a loop
    >>> async def build(data):
    ...     return make_action(data)
    >>> action = asyncio.run(build({"Action": "Setvar", "Value": "x\\r\\nAction: Hangup"}))
    >>> sum(line.startswith("Action: ") for line in str(action).splitlines())
    1
    >>> action["Value"]
    'x Action: Hangup'
    """
    if isinstance(data, actions.Action):
        action = data
        if as_list is not None:
            action.as_list = as_list
    else:
        if as_list is None and str(data.get("Action", "")).lower() in SINGLE_RESPONSE:
            as_list = False
        klass = actions.Command if "Command" in data else actions.Action
        action = klass(dict(data), as_list=as_list)
    for key in list(action):
        if _BAD_KEY.search(key):
            raise ValueError(f"AMI header name {key!r} holds a colon or a line break")
        value = action[key]
        if isinstance(value, list | tuple):
            action[key] = [one_line(item) for item in value]
        else:
            action[key] = one_line(value)
    return action


class AmiProtocol(AMIProtocol):
    """One AMI connection; `done` resolves when it is closed or lost."""

    # A frame this long with no blank line is not AMI: drop the connection.
    max_frame_chars = 1_000_000

    def __init__(self, manager: AmiManager) -> None:
        super().__init__()
        self._manager = manager
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._text = ""  # received, not yet framed; line ends are LF only
        self._cr_held = False  # a chunk ended in CR: its LF may start the next chunk
        self.done: asyncio.Future[object] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # The base resets these; the manager is known before the first byte arrives.
        self.factory = self._manager
        self.log = log
        self.encoding = "utf-8"

    def data_received(self, data: bytes) -> None:
        # Asterisk ends lines with CRLF, test rigs and proxies sometimes with LF: keep LF.
        text = self._decoder.decode(data)
        if self._cr_held:
            text = "\r" + text
        self._cr_held = text.endswith("\r")
        if self._cr_held:
            text = text[:-1]
        self._text += text.replace("\r\n", "\n")
        if self.version is None and not self._read_banner():
            return
        frames = self._text.split("\n\n")
        self._text = frames.pop()
        if len(self._text) > self.max_frame_chars:
            log.error("AMI frame over %d characters without an end: closing", self.max_frame_chars)
            self.close()
            return
        for frame in frames:
            self._deliver(frame)

    def _read_banner(self) -> bool:
        """Take `Asterisk Call Manager/x.y.z` off the stream; False until the line is whole."""
        first, sep, rest = self._text.partition("\n")
        if not sep:
            return False
        if first.startswith(BANNER_PREFIX):
            self.version = first[len(BANNER_PREFIX) :].strip()
            self._text = rest
            log.info("AMI protocol version %s", self.version)
        else:
            self.version = ""
        return True

    def _deliver(self, frame: str) -> None:
        message = Message.from_line(frame.strip("\n").replace("\n", utils.EOL))
        if message is None:
            return
        try:
            self.handle_message(message)
        except Exception:
            # One bad message must not cost the connection or the messages after it.
            log.exception("AMI message could not be handled: %r", message)

    def send(self, data: Any, as_list: bool | None = None) -> asyncio.Future[Any]:
        """Write one action; its future fails with `AmiUnavailable` if the socket is closed."""
        action = make_action(data, as_list)
        if self.closed or self.transport.is_closing():
            if not action.future.done():
                action.future.set_exception(AmiUnavailable("the AMI connection is closed"))
            return action.future
        self.responses[action.id] = action
        if action.action_id:
            self.responses[action.action_id] = action
        self.transport.write(str(action).encode("utf-8"))
        return action.future

    def forget(self, action: actions.Action) -> None:
        """Stop waiting for the reply of an action (its caller gave up)."""
        self.responses.pop(action.id, None)
        if action.action_id:
            self.responses.pop(action.action_id, None)

    def close(self) -> None:
        """Close the socket; every action still waiting for a reply fails at once.

        panoramisk re-sends such actions after a reconnect; an `Originate` or `Hangup`
        that Asterisk may already have run must not run twice, so the caller decides.
        """
        pending = {id(action): action for action in self.responses.values()}
        self.responses.clear()
        for action in pending.values():
            if not action.future.done():
                action.future.set_exception(
                    AmiUnavailable(f"AMI connection closed before the reply to {action.action}")
                )
        if not self.closed:
            self.closed = True
            self.transport.close()
        if not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            log.warning("AMI connection lost: %s", exc)
        self.close()
