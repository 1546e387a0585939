"""The AMI server: TCP sessions, login, framing, event fan-out with batched writes."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from asterisksim.frames import ALL_CLASSES, FrameError, FrameReader, render

if TYPE_CHECKING:
    from asterisksim.actions import Actions
    from asterisksim.pbx import PBX

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
HIGH_WATER_BYTES = 4 * 1024 * 1024
# A client this far behind (wall-clock mode, nothing waits for it) is dropped, not buffered.
MAX_BACKLOG_BYTES = 64 * 1024 * 1024


class Session(asyncio.Protocol):
    """One AMI client connection."""

    def __init__(self, server: AmiServer) -> None:
        self.server = server
        self.reader = FrameReader()
        self.transport: asyncio.Transport | None = None
        self.authed = False
        self.mask = ALL_CLASSES
        self.timestamps = server.pbx.config.timestampevents
        self.out: list[bytes] = []
        self.flush_pending = False
        self.paused: asyncio.Event | None = None
        self.closing = False

    # -- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=HIGH_WATER_BYTES)
        transport.write(BANNER)
        self.server.sessions.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.sessions.discard(self)
        self.closing = True
        if self.paused is not None:
            self.paused.set()

    def pause_writing(self) -> None:
        self.paused = asyncio.Event()

    def resume_writing(self) -> None:
        if self.paused is not None:
            self.paused.set()
            self.paused = None

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            frames = self.reader.feed(data)
        except FrameError as exc:
            self.send(render([("Response", "Error"), ("Message", str(exc))]))
            self.close()
            return
        for frame in frames:
            if self.closing:
                break
            self.server.actions.handle(self, frame)

    # -- output ----------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        self.out.append(data)
        if not self.flush_pending:
            self.flush_pending = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self.flush_pending = False
        transport = self.transport
        if self.out and transport is not None and not transport.is_closing():
            transport.write(b"".join(self.out))
            if transport.get_write_buffer_size() > MAX_BACKLOG_BYTES:
                log.warning("AMI client %s reads too slowly, dropping it",
                            transport.get_extra_info("peername"))  # fmt: skip
                transport.abort()
        self.out.clear()

    def close(self) -> None:
        self.flush()
        self.closing = True
        if self.transport is not None:
            self.transport.close()


class AmiServer:
    """Listens for AMI clients and fans the PBX's events out to them."""

    def __init__(self, pbx: PBX, actions: Actions) -> None:
        self.pbx = pbx
        self.actions = actions
        self.sessions: set[Session] = set()
        self._server: asyncio.base_events.Server | None = None
        pbx.fanout = self.on_event
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stamp_s = -1.0
        self._stamp = b""

    def on_event(self, cls: int, head: bytes, tail: bytes, at_s: float, stamped: bool) -> None:
        """Hot path: render each event at most twice (with and without `Timestamp:`)."""
        plain = timed = None
        for session in self.sessions:
            if not (session.authed and session.mask & cls):
                continue
            if session.timestamps and stamped:
                if timed is None:
                    # Events of one callback share a time: format it once.
                    if at_s != self._stamp_s:
                        self._stamp_s = at_s
                        self._stamp = b"Timestamp: %.6f\r\n" % at_s
                    timed = head + self._stamp + tail
                data = timed
            else:
                if plain is None:
                    plain = head + tail
                data = plain
            session.out.append(data)
            if not session.flush_pending:
                session.flush_pending = True
                asyncio.get_running_loop().call_soon(session.flush)

    async def start(self, host: str, port: int) -> tuple[str, int]:
        loop = self.loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: Session(self), host, port)
        sock = self._server.sockets[0].getsockname()
        return sock[0], sock[1]

    async def drain(self) -> None:
        """Flush every session now; wait (bounded) for slow readers to catch up."""
        for session in list(self.sessions):
            session.flush()
            if session.paused is not None:
                try:
                    await asyncio.wait_for(session.paused.wait(), timeout=30)
                except TimeoutError:
                    log.warning("AMI client too slow, dropping it")
                    session.close()

    def drop_clients(self) -> int:
        """Cut every client's TCP connection at once (a network fault, not a logoff): no
        goodbye is sent; what was not flushed is lost. How many were cut."""
        dropped = 0
        for session in list(self.sessions):
            if session.transport is not None and not session.transport.is_closing():
                session.closing = True
                session.transport.abort()
                dropped += 1
        return dropped

    async def close(self) -> None:
        for session in list(self.sessions):
            session.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
