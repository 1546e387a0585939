"""A fake Asterisk FastAGI client: sends an environment, answers the server's commands."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

# Reply lines to a command; None means "hang up": close the socket.
Answer = Callable[[str], Iterable[str] | None]


def env_bytes(env: dict[str, str] | list[str], encoding: str = "utf-8") -> bytes:
    lines = [f"{k}: {v}" for k, v in env.items()] if isinstance(env, dict) else list(env)
    return ("\n".join(lines) + "\n\n").encode(encoding)


def basic_env(script: str = "hotline", **extra: str) -> dict[str, str]:
    env = {
        "agi_network": "yes",
        "agi_network_script": script,
        "agi_request": f"agi://127.0.0.1:4573/{script}",
        "agi_channel": "PJSIP/trunk-00000001",
        "agi_callerid": "79000000001",
        "agi_calleridname": "Alice",
    }
    env.update(extra)
    return env


async def run_call(port: int, env: bytes, answer: Answer, timeout_s: float = 3.0) -> list[str]:
    """Play Asterisk for one call; return the commands the server sent, until it hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(env)
    await writer.drain()
    commands: list[str] = []

    async def converse() -> None:
        while True:
            try:
                line = await reader.readline()
            except ConnectionError:  # the server closed with our bytes unread: same as EOF
                return
            if not line:
                return
            command = line.decode().rstrip("\n")
            commands.append(command)
            replies = answer(command)
            if replies is None:
                return
            for reply in replies:
                writer.write(reply.encode() + b"\n")
            await writer.drain()

    try:
        await asyncio.wait_for(converse(), timeout_s)
    finally:
        writer.close()
    return commands


def always(*replies: str) -> Answer:
    return lambda _command: replies


def in_turn(*batches: list[str]) -> Answer:
    """Answer the n-th command with the n-th batch of lines; hang up after the last."""
    pending = list(batches)
    return lambda _command: pending.pop(0) if pending else None
