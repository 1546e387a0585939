"""Small asyncio helpers shared by the long-running loops of every component."""

from __future__ import annotations

import asyncio


async def wait_any(*events: asyncio.Event, timeout_s: float | None = None) -> None:
    """Return when one of `events` is set, or after `timeout_s` (no error either way)."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
