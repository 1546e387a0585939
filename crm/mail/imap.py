"""`hotline mail-intake`: the hotline's mailbox read over IMAP (aioimaplib), IDLE or polling.

Each pass searches the mailbox for messages without our keyword (`HotlineTaken`), fetches
them in batches (`BODY.PEEK[]`: reading does not mark them seen), hands each to the
intake and only then flags the batch's decided messages `HotlineTaken \\Seen`. A crash or
a lost connection between the decisions and the flag leaves them unflagged: they are
fetched again and the intake finds their keys already decided, so nothing is lost and
nothing doubled. Between passes the
reader waits in IDLE (renewed every `HOTLINE_IMAP_IDLE_S`) when the server offers it, else
`HOTLINE_IMAP_POLL_S`. A lost connection is retried with a back-off up to
`HOTLINE_IMAP_RECONNECT_MAX_S`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aioimaplib

from core.settings import ImapSettings

log = logging.getLogger(__name__)

TAKEN = "HotlineTaken"  # the IMAP keyword of a message decided by the intake
FETCH_BATCH = 50
_FETCH_UID = re.compile(rb"UID (\d+)")

Take = Callable[[bytes], Awaitable[Any]]


class ImapError(Exception):
    """The IMAP server refused a command or the connection failed."""


@dataclass
class PassResult:
    taken: int = 0
    failed: int = 0


class ImapReader:
    """Reads one mailbox into `take` (the intake); `run` until stopped, or `run_once`."""

    def __init__(self, settings: ImapSettings, take: Take) -> None:
        if not settings.imap_host:
            raise ValueError("HOTLINE_IMAP_HOST is empty: no mailbox to read")
        self._settings = settings
        self._take = take
        self._client: aioimaplib.IMAP4 | None = None
        self._lost = asyncio.Event()
        self.passes = 0
        self.taken = 0

    async def run_once(self) -> PassResult:
        """Connect, take every waiting message, log out (`hotline mail-intake --once`)."""
        await self._connect()
        try:
            return await self._drain()
        finally:
            await self._close()

    async def run(self, stop: asyncio.Event) -> None:
        """Read until `stop` is set; reconnect after any failure, backing off."""
        delay_s = 0.5
        while not stop.is_set():
            try:
                await self._connect()
                delay_s = 0.5
                await self._serve(stop)
            except Exception as exc:  # the server went away, refused, timed out: retry
                log.warning("mail-intake: IMAP %s: %s", type(exc).__name__, exc)
            finally:
                await self._close()
            if stop.is_set():
                break
            try:
                await asyncio.wait_for(stop.wait(), delay_s)
            except TimeoutError:
                pass
            delay_s = min(delay_s * 2, self._settings.imap_reconnect_max_s)

    async def _connect(self) -> None:
        s = self._settings
        self._lost = asyncio.Event()
        context = None
        if s.imap_tls:
            context = ssl.create_default_context(cafile=s.imap_ca_file or None)
        client = aioimaplib.IMAP4(
            host=s.imap_host,
            port=s.port,
            timeout=s.imap_timeout_s,
            conn_lost_cb=lambda _exc: self._lost.set(),
            ssl_context=context,
        )
        self._client = client
        await client.wait_hello_from_server()
        _ok(await client.login(s.imap_user, s.imap_password), "LOGIN")
        _ok(await client.select(s.imap_mailbox), f"SELECT {s.imap_mailbox}")
        log.info(
            "mail-intake: reading %s on %s:%d (%s)",
            s.imap_mailbox,
            s.imap_host,
            s.port,
            "IDLE" if client.has_capability("IDLE") else f"polling every {s.imap_poll_s} s",
        )

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if client.has_pending_idle():
                client.idle_done()
            if not self._lost.is_set():
                await asyncio.wait_for(client.logout(), 5)
        except Exception as exc:  # closing a broken connection: nothing more to do
            log.debug("mail-intake: logout failed: %s", exc)
        transport = client.protocol.transport if client.protocol else None
        if transport is not None:
            transport.close()

    async def _serve(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            result = await self._drain()
            if self._lost.is_set():
                raise ImapError("the connection was lost")
            if result.failed:
                await self._pause(stop, self._settings.imap_poll_s)  # not a hot loop
            elif result.taken:
                # Mail that arrived while we fetched was announced outside IDLE (and not
                # again inside it): search until a pass finds nothing, then IDLE.
                continue
            elif self._client is not None and self._client.has_capability("IDLE"):
                await self._idle(stop)
            else:
                await self._pause(stop, self._settings.imap_poll_s)

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._lost.wait())]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def _idle(self, stop: asyncio.Event) -> None:
        """Wait in IDLE until the server pushes a change, `stop`, or the renewal time."""
        client = self._require()
        idle = await client.idle_start(timeout=self._settings.imap_idle_s)
        push = asyncio.ensure_future(client.wait_server_push(self._settings.imap_idle_s + 5))
        stopped = asyncio.ensure_future(stop.wait())
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({push, stopped, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (push, stopped, lost):
                task.cancel()
            await asyncio.gather(push, stopped, lost, return_exceptions=True)
        if self._lost.is_set():
            idle.cancel()
            raise ImapError("the connection was lost in IDLE")
        client.idle_done()
        await asyncio.wait_for(idle, self._settings.imap_timeout_s)

    def _require(self) -> aioimaplib.IMAP4:
        if self._client is None:
            raise ImapError("not connected")
        return self._client

    async def _drain(self) -> PassResult:
        """Take every message not yet taken, in batches; flag each after its decision."""
        client = self._require()
        result = PassResult()
        self.passes += 1
        found = await client.uid_search(f"UNDELETED UNKEYWORD {TAKEN}", charset=None)
        _ok(found, "UID SEARCH")
        uids = [u for line in found.lines[:1] for u in line.split() if u.isdigit()]
        for start in range(0, len(uids), FETCH_BATCH):
            batch = [u.decode() for u in uids[start : start + FETCH_BATCH]]
            fetched = await client.uid("fetch", ",".join(batch), "(UID BODY.PEEK[])")
            _ok(fetched, "UID FETCH")
            decided = []
            for uid, raw in messages_of(fetched.lines):
                try:
                    await self._take(raw)
                except Exception:  # one bad message must not stop the others; retried later
                    log.exception("mail-intake: message UID %s could not be decided", uid)
                    result.failed += 1
                    continue
                decided.append(uid)
            if decided:
                # One STORE for the batch: a crash before it only makes the batch's
                # messages come again, and their keys make that a no-op.
                flags = f"+FLAGS.SILENT ({TAKEN} \\Seen)"
                _ok(await client.uid("store", ",".join(decided), flags), "UID STORE")
                result.taken += len(decided)
                self.taken += len(decided)
        return result


def messages_of(lines: list[Any]) -> list[tuple[str, bytes]]:
    """(UID, raw message) pairs of a `UID FETCH ... (UID BODY.PEEK[])` response.

    Each message is a literal (a bytearray) after its `n FETCH (UID u BODY[] {size}` line;
    a server that names the UID after the literal puts it on the line that follows.
    """
    found: list[tuple[str, bytes]] = []
    before = b""
    for index, line in enumerate(lines):
        if not isinstance(line, bytearray):
            before = bytes(line)
            continue
        after = lines[index + 1] if index + 1 < len(lines) else b""
        match = _FETCH_UID.search(before) or _FETCH_UID.search(bytes(after))
        if match:
            found.append((match.group(1).decode(), bytes(line)))
    return found


def _ok(response: Any, what: str) -> None:
    if response.result != "OK":
        detail = b" ".join(bytes(x) for x in response.lines[-1:]).decode(errors="replace")
        raise ImapError(f"{what} answered {response.result}: {detail}")
