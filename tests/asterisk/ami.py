"""The harness's own AMI session: it drives calls and keeps every frame Asterisk sent.

Independent of the project's AMI client on purpose: the harness judges what the project
does, so it must not share its parser. Frames keep their headers in order (a header may
repeat, e.g. `ChanVariable`); `received` is the raw byte stream, as in tests/fixtures/.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Frame:
    headers: list[tuple[str, str]]
    at: float = field(default_factory=time.time)  # when the harness read it

    def get(self, key: str, default: str = "") -> str:
        for name, value in self.headers:
            if name == key:
                return value
        return default

    def __getitem__(self, key: str) -> str:
        for name, value in self.headers:
            if name == key:
                return value
        raise KeyError(key)

    @property
    def event(self) -> str:
        return self.get("Event")


def parse_frame(block: bytes) -> Frame:
    headers = []
    for line in block.decode("utf-8", errors="replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))
    return Frame(headers)


class HarnessAmi:
    """`await HarnessAmi.connect(port, user, secret)`, then actions and waits on events."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self.frames: list[Frame] = []
        self.received = bytearray()
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, port: int, user: str, secret: str) -> HarnessAmi:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        session = cls(reader, writer)
        banner = await asyncio.wait_for(reader.readline(), 5)
        session.received += banner
        session._task = asyncio.create_task(session._read())
        reply = await session.action("Login", Username=user, Secret=secret)
        if reply.get("Response") != "Success":
            raise RuntimeError(f"AMI login refused: {reply.headers}")
        return session

    async def _read(self) -> None:
        buffer = b""
        while True:
            chunk = await self._reader.read(65536)
            if not chunk:
                return
            self.received += chunk
            buffer += chunk
            *blocks, buffer = buffer.split(b"\r\n\r\n")
            async with self._changed:
                self.frames.extend(parse_frame(b) for b in blocks if b.strip())
                self._changed.notify_all()

    async def send(self, action: str, **headers: str) -> str:
        action_id = f"harness-{next(self._ids)}"
        lines = [f"Action: {action}", f"ActionID: {action_id}"]
        lines += [f"{key}: {value}" for key, value in headers.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self._writer.drain()
        return action_id

    async def action(self, action: str, timeout_s: float = 10.0, **headers: str) -> Frame:
        """Send one action; its Response frame."""
        action_id = await self.send(action, **headers)
        return await self.wait_for(
            lambda f: f.get("ActionID") == action_id and "Response" in dict(f.headers),
            timeout_s=timeout_s,
        )

    async def wait_for(
        self, match: Callable[[Frame], bool], *, timeout_s: float, since: int = 0
    ) -> Frame:
        """The first frame (from index `since`) that `match`es, waiting up to `timeout_s`."""
        seen = since

        def found() -> Frame | None:
            nonlocal seen
            for frame in self.frames[seen:]:
                if match(frame):
                    return frame
            seen = len(self.frames)
            return None

        async with self._changed:
            frame = found()
            deadline = time.monotonic() + timeout_s
            while frame is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching AMI frame in {timeout_s:.0f} s")
                try:
                    await asyncio.wait_for(self._changed.wait(), left)
                except TimeoutError:
                    continue
                frame = found()
            return frame

    def events(self, name: str, **headers: str) -> list[Frame]:
        return [
            f
            for f in self.frames
            if f.event == name and all(f.get(k) == v for k, v in headers.items())
        ]

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.send("Logoff"), 2)
        except (OSError, TimeoutError):
            pass
        self._writer.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
