"""The demo's embedded defaults: an in-process Redis stand-in, settings, tokens, the API server."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

from fakeredis import FakeServer
from fakeredis.aioredis import FakeRedis

from core.settings import (
    AgiSettings,
    AmiSettings,
    ApiSettings,
    CalendarSettings,
    CrmClientSettings,
    DatabaseSettings,
    LifecycleSettings,
    RedisSettings,
    Settings,
)

EMBEDDED_REDIS_URL = "redis://embedded-demo/0"  # never dialled: the clients are FakeRedis
BLOCK_STEP_S = 0.02


class EmbeddedRedis(FakeRedis):
    """fakeredis returns at once from `XREADGROUP ... BLOCK`; a real server waits.

    Without the wait the recorder's read loop would spin on an empty stream, so an empty
    blocking read waits one short step and reads once more.
    """

    async def xreadgroup(self, *args: Any, **kwargs: Any) -> Any:
        reply = await super().xreadgroup(*args, **kwargs)
        block_ms = kwargs.get("block")
        if reply or not block_ms:
            return reply
        await asyncio.sleep(min(block_ms / 1000, BLOCK_STEP_S))
        return await super().xreadgroup(*args, **kwargs)


class EmbeddedRedisServer:
    """One in-memory Redis shared by every component of the process."""

    def __init__(self) -> None:
        self.server = FakeServer()

    def client(self) -> FakeRedis:
        return EmbeddedRedis(server=self.server)


def demo_tokens() -> dict[str, str]:
    """A fresh API token per role, printed for the user; never stored anywhere."""
    return {role: secrets.token_urlsafe(18) for role in ("agent", "supervisor", "service")}


def demo_settings(
    database_url: str, api_port: int, ami_host: str, ami_port: int, tokens: dict[str, str]
) -> Settings:
    """Everything on embedded defaults; the hotline is open round the clock for the demo."""
    return Settings(
        db=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=EMBEDDED_REDIS_URL),
        api=ApiSettings(tokens=",".join(f"{role}:{token}" for role, token in tokens.items())),
        crm=CrmClientSettings(
            url=f"http://127.0.0.1:{api_port}", token=tokens["service"], timeout_s=5.0
        ),
        ami=AmiSettings(
            host=ami_host,
            port=ami_port,
            user="hotline",
            secret="hotline",
            ping_interval_s=30,
            reconnect_min_s=0.05,
            reconnect_max_s=0.5,
        ),
        calendar=CalendarSettings(hours="mon-sun 00:00-24:00", holiday_calendar="none"),
        agi=AgiSettings(host="127.0.0.1", port=0, command_timeout_s=30.0),
        lifecycle=LifecycleSettings(secret_key=secrets.token_urlsafe(32)),
    )


def free_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def sounds_dir() -> Path:
    """The rendered prompts (committed in the repository, beside the package)."""
    return Path(__file__).resolve().parents[2] / "asterisk-config" / "sounds"
