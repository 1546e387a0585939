"""The wallboard's live feed: one reading of the board shared by every open stream, and
the server-sent event stream that sends a fresh board on each change of the live state.

A stream sends the board when it opens, then after every change the tracker publishes
(at most every `min_interval_s`, the changes in between folded into one board), at the
board's `next_change_at` (a caller passing T, an outcome leaving a rolling window) and at
least every `refresh_s`. Streams that wake for the same change share one reading: a board
read after the change was seen serves them all.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from crm.sse import HEADERS, POLL_S

Board = dict[str, Any]
MIN_INTERVAL_S = 0.2  # one board per this at most, per stream (a burst becomes one)
REFRESH_S = 15.0  # a board at least this often, so a page's clocks never drift far


class WallboardFeed:
    """Reads the board through `read(now)`; concurrent askers share one reading."""

    def __init__(self, read: Callable[[float], Awaitable[Board]]) -> None:
        self._read = read
        self._lock = asyncio.Lock()
        self._latest: tuple[float, Board] | None = None  # (monotonic start of the read, board)
        self.reads = 0

    async def board(self, newer_than: float | None = None) -> Board:
        """A board whose reading began at or after `newer_than` (monotonic; now if None)."""
        asked = time.monotonic() if newer_than is None else newer_than
        async with self._lock:
            if self._latest is not None and self._latest[0] >= asked:
                return self._latest[1]
            started = time.monotonic()
            board = await self._read(time.time())
            self._latest = (started, board)
            self.reads += 1
            return board


async def board_stream(
    request: Request,
    feed: WallboardFeed,
    *,
    render: Callable[[Board], str] = json.dumps,
    event: str = "board",
    min_interval_s: float = MIN_INTERVAL_S,
    refresh_s: float = REFRESH_S,
    limit: int | None = None,
    allowed: Callable[[], Awaitable[bool]] | None = None,
    recheck_s: float = REFRESH_S,
) -> EventSourceResponse:
    """The board as `event`s of `render(board)` (see the module docstring); `limit` ends
    the stream after that many. With `allowed`, asked again at most every `recheck_s`
    before a board, the stream ends once it says no (a page's session that ended: the
    browser's reconnect then meets the login)."""
    pubsub = request.app.state.redis.pubsub()
    await pubsub.subscribe(request.app.state.keys.live_changes)
    stopping: asyncio.Event = request.app.state.stopping

    async def change_within(wait_s: float) -> float | None:
        """When (monotonic) a change came within `wait_s`; None at its end or a stop."""
        deadline = time.monotonic() + wait_s
        while not stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            message = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=min(left, POLL_S)
            )
            if message is not None:
                return time.monotonic()
        return None

    async def events() -> AsyncIterator[ServerSentEvent]:
        sent = 0
        wanted = time.monotonic()  # the board must be read after this moment
        checked = wanted
        try:
            while (limit is None or sent < limit) and not stopping.is_set():
                if allowed is not None and time.monotonic() - checked >= recheck_s:
                    if not await allowed():
                        return
                    checked = time.monotonic()
                board = await feed.board(wanted)
                last = time.monotonic()
                sent += 1
                yield ServerSentEvent(data=render(board), event=event, id=str(sent), sep="\n")
                # 50 ms after the moment, so the figure has surely turned when read
                until_next_s = board["next_change_at"] - time.time() + 0.05
                wait_s = min(refresh_s, max(until_next_s, min_interval_s))
                if allowed is not None:
                    wait_s = min(wait_s, max(checked + recheck_s - time.monotonic(), 0.0))
                seen = await change_within(wait_s)
                if seen is None:
                    wanted = time.monotonic()
                    continue
                # Changes until `min_interval_s` after the last board fold into the next;
                # streams that saw the same change share the reading made after it.
                wanted = seen
                while time.monotonic() < last + min_interval_s and not stopping.is_set():
                    wanted = await change_within(last + min_interval_s - time.monotonic()) or wanted
        finally:
            await asyncio.shield(pubsub.aclose())

    return EventSourceResponse(
        events(),
        ping=refresh_s,
        ping_message_factory=lambda: ServerSentEvent(comment="keep-alive", sep="\n"),
        sep="\n",
        headers=HEADERS,
    )
