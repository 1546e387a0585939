"""A tiny fake Asterisk manager interface for the AMI client tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def parse_frame(frame: bytes) -> list[tuple[str, str]]:
    """The headers of one action, in order (repeated names kept)."""
    headers = []
    for line in frame.decode().split("\r\n"):
        if line:
            key, _, value = line.partition(": ")
            headers.append((key, value))
    return headers


class FakeAmi:
    """Answers Login, Events, Ping and any other action with Success, unless told otherwise.

    `mute(n, action)` decides whether connection number `n` (from 0) leaves `action` unanswered.
    """

    def __init__(self, mute: Callable[[int, str], bool] | None = None) -> None:
        self.mute = mute or (lambda n, action: False)
        self.actions: list[tuple[int, dict[str, str]]] = []
        self.raw: list[bytes] = []
        self.connections = 0
        self.eofs = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0
        self.login_reply = "Success"

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            await self.server.wait_closed()
        self.writers.clear()

    async def push(self, data: bytes) -> None:
        """Write raw bytes (events) to every open connection."""
        for writer in self.writers:
            if not writer.is_closing():
                writer.write(data)
                await writer.drain()

    def named(self, action: str) -> list[tuple[int, dict[str, str]]]:
        return [(n, a) for n, a in self.actions if a.get("Action", "").lower() == action.lower()]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        n = self.connections
        self.connections += 1
        self.writers.append(writer)
        writer.write(BANNER)
        try:
            while True:
                frame = await reader.readuntil(b"\r\n\r\n")
                self.raw.append(frame)
                headers = dict(parse_frame(frame))
                self.actions.append((n, headers))
                name = headers.get("Action", "")
                if self.mute(n, name):
                    continue
                writer.write(self._reply(name, headers.get("ActionID", "")).encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            self.eofs += 1
        finally:
            writer.close()

    def _reply(self, name: str, action_id: str) -> str:
        head = f"ActionID: {action_id}\r\n"
        if name.lower() == "login":
            if self.login_reply != "Success":
                return f"Response: Error\r\n{head}Message: Authentication failed\r\n\r\n"
            return f"Response: Success\r\n{head}Message: Authentication accepted\r\n\r\n"
        if name.lower() == "events":
            return f"Response: Success\r\n{head}Events: On\r\n\r\n"
        if name.lower() == "ping":
            return f"Response: Success\r\n{head}Ping: Pong\r\nTimestamp: 1795311089.1\r\n\r\n"
        return f"Response: Success\r\n{head}Message: done\r\n\r\n"
