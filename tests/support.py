"""Test helpers: a TCP proxy that can cut a connection to a real service and restore it."""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a real server; `cut()` makes the server unreachable."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Stop listening and drop every open connection (as a dead network would)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        tasks = [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._pipes.update(tasks)
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            pass
        finally:
            self._pipes.difference_update(tasks)
            for w in (writer, up_writer):
                w.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()


# pub/sub commands name channels, which `COMMAND GETKEYS` does not count as keys
CHANNEL_ARGS = {
    "publish": slice(1, 2),
    "spublish": slice(1, 2),
    "subscribe": slice(1, None),
    "psubscribe": slice(1, None),
    "ssubscribe": slice(1, None),
}


class RedisMonitor:
    """Every command a Redis server runs while it watches (`MONITOR`), with its arguments.

    `names()` gives the key and channel names the commands touched, as the server itself
    reads them (`COMMAND GETKEYS`), so a test can check whose namespace each one is in."""

    def __init__(self, host: str, port: int, db: int) -> None:
        self._address = (host, port)
        self._db = db
        self.commands: list[list[bytes]] = []
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        reader, self._writer = await asyncio.open_connection(*self._address)
        self._writer.write(b"MONITOR\r\n")
        await self._writer.drain()
        assert (await reader.readline()).startswith(b"+OK")
        self._task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        import codecs
        import re

        head = re.compile(rb"^\+[\d.]+ \[(\d+) [^\]]*\] ")
        arg = re.compile(rb'"((?:[^"\\]|\\.)*)"')
        while line := await reader.readline():
            match = head.match(line)
            if match is None or int(match.group(1)) != self._db:
                continue
            args = [codecs.escape_decode(a)[0] for a in arg.findall(line, match.end())]
            if args:
                self.commands.append(args)

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            with contextlib.suppress(ConnectionError):
                await asyncio.wait_for(self._task, 5)

    async def names(self, redis: object) -> set[bytes]:
        """Every key and channel name the watched commands touched."""
        from redis.exceptions import ResponseError

        names: set[bytes] = set()
        for args in self.commands:
            command = args[0].lower().decode()
            if command in CHANNEL_ARGS:
                names.update(args[CHANNEL_ARGS[command]])
                continue
            try:
                keys = await redis.command_getkeys(*args)  # type: ignore[attr-defined]
            except ResponseError:
                continue  # a command with no key (PING, CLIENT, MULTI, SCRIPT LOAD ...)
            names.update(key.encode() if isinstance(key, str) else key for key in keys)
        return names
