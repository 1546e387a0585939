"""Fixtures for the simulated Asterisk tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from asterisksim import SimConfig, SimulatedAsterisk
from asterisksim.transcript import Frame, parse


async def agi_environment(reader: asyncio.StreamReader) -> list[str]:
    """A FastAGI session's environment as the simulator sent it: its lines, up to the blank
    one that ends it."""
    env = []
    while line := (await reader.readline()).strip():
        env.append(line.decode())
    return env


class AmiProbe:
    """A minimal raw AMI client for tests: send frames, collect parsed frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.data = bytearray()

    async def send(self, **headers: str) -> None:
        self.writer.write("".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n")
        await self.writer.drain()

    async def read_until(self, marker: bytes, timeout_s: float = 5) -> None:
        while marker not in self.data:
            chunk = await asyncio.wait_for(self.reader.read(65536), timeout_s)
            if not chunk:
                return
            self.data.extend(chunk)

    async def read_eof(self, timeout_s: float = 5) -> bool:
        """Read to the end; True if the server closed cleanly, False if it reset us."""
        try:
            while chunk := await asyncio.wait_for(self.reader.read(65536), timeout_s):
                self.data.extend(chunk)
        except ConnectionResetError:
            return False
        return True

    def frames(self) -> list[Frame]:
        return parse(bytes(self.data))[1]

    def events(self, name: str) -> list[Frame]:
        return [f for f in self.frames() if f.event == name]


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedAsterisk]:
    async with SimulatedAsterisk(SimConfig()) as pbx:
        yield pbx


async def connect(sim: SimulatedAsterisk, login: bool = True, **extra: str) -> AmiProbe:
    reader, writer = await asyncio.open_connection(sim.host, sim.port)
    probe = AmiProbe(reader, writer)
    if login:
        await probe.send(
            Action="Login", ActionID="L", Username="hotline", Secret="hotline", **extra
        )
        await probe.read_until(b"Fully Booted\r\n\r\n")
    return probe
