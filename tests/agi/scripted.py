"""A scripted FastAGI client: sends an environment as raw bytes, answers each command."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


def environment(script: str, channel: str = "PJSIP/agent7-0000001a", **extra: str) -> dict:
    env = {
        "agi_network": "yes",
        "agi_network_script": script,
        "agi_channel": channel,
        "agi_language": "ru",
        "agi_uniqueid": "1795311765.20",
        "agi_callerid": "79000000001",
        "agi_calleridname": "Алиса",
    }
    env.update(extra)
    return env


async def run_script(
    port: int,
    env: dict[str, str],
    answer: Callable[[str], str],
    encoding: str = "utf-8",
    limit: int = 50,
) -> list[str]:
    """Connect, send `env` (encoded with `encoding`), reply `answer(command)` to each command;
    returns the commands in order, until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write("".join(f"{k}: {v}\n" for k, v in env.items()).encode(encoding) + b"\n")
    await writer.drain()
    commands: list[str] = []
    try:
        while len(commands) < limit:
            line = await asyncio.wait_for(reader.readline(), 10)
            if not line:
                break
            command = line.decode().strip()
            commands.append(command)
            writer.write(answer(command).encode() + b"\n")
            await writer.drain()
    finally:
        writer.close()
    return commands


def replies(
    variables: dict[str, str] | None = None, digits: list[str] | None = None
) -> Callable[[str], str]:
    """Answers like Asterisk: variables for GET VARIABLE, `digits` in turn for GET DATA."""
    variables = variables or {}
    queue = list(digits or [])

    def answer(command: str) -> str:
        if command.startswith("GET VARIABLE"):
            name = command.split('"')[1]
            return f"200 result=1 ({variables[name]})" if name in variables else "200 result=0"
        if command.startswith("GET DATA"):
            value = queue.pop(0) if queue else ""
            return f"200 result={value}" if value else "200 result= (timeout)"
        if command.startswith("STREAM FILE"):
            return "200 result=0 endpos=8000"
        if command == "HANGUP":
            return "200 result=1"
        return "200 result=0" if not command.startswith("SET VARIABLE") else "200 result=1"

    return answer
