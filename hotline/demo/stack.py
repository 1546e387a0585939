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
DEMO_NUMBER = "100"  # the hotline number the simulated callers dial


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
    database_url: str,
    api_port: int,
    ami_host: str,
    ami_port: int,
    tokens: dict[str, str],
    agi_port: int = 0,
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
        agi=AgiSettings(host="127.0.0.1", port=agi_port, command_timeout_s=30.0),
        lifecycle=LifecycleSettings(secret_key=secrets.token_urlsafe(32)),
    )


def simulated_site(settings: Settings) -> dict[str, Any]:
    """The simulator's `SimConfig` arguments for the site these settings render: the
    project's own `queues.conf` and dialplan (`hotline asterisk-config render`'s
    templates, filled from `settings`), and the sounds' lengths as a site plays them."""
    from asterisksim.site import site_config
    from hotline.asterisk_config import CONFIG_DIR, render_text, values_from

    values = values_from({"HOTLINE_NUMBER": DEMO_NUMBER}, settings)
    dialplan = render_text((CONFIG_DIR / "extensions.conf").read_text(), values)
    queues = render_text((CONFIG_DIR / "queues.conf").read_text(), values)
    return site_config(dialplan, queues, CONFIG_DIR / "sounds" / "manifest.json")


def free_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def sounds_dir() -> Path:
    """The rendered prompts (committed in the repository, beside the package)."""
    return Path(__file__).resolve().parents[2] / "asterisk-config" / "sounds"
