"""Server-sent event streams of a Redis pub/sub channel, for the live pages and agent desks.

sse-starlette does the HTTP side: keep-alive comments, noticing a client that went away,
and ending the streams when uvicorn stops on a signal (`hotline crm`). Where the API is
embedded beside other components (`hotline run`, `hotline.serve.serving`), the embedding
sets the app's `stopping` event first: every stream ends within `POLL_S`, so the server
stops at once instead of waiting for its open streams to time out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

POLL_S = 0.5  # how soon a stream notices the app is stopping; under the Redis socket timeout
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def install_stopping(app: FastAPI) -> asyncio.Event:
    """The event that ends every stream of `app` (set it before stopping the server)."""
    app.state.stopping = asyncio.Event()
    return app.state.stopping


async def pubsub_stream(
    request: Request,
    channel: str,
    event: str,
    *,
    greeting: str,
    ping_s: float,
    limit: int | None = None,
) -> EventSourceResponse:
    """Each message published on `channel` as one `event`, after a `greeting` comment.

    Subscribed before the response starts, so nothing published once this returns is
    missed; `limit` ends the stream after that many events."""
    pubsub = request.app.state.redis.pubsub()
    await pubsub.subscribe(channel)
    stopping: asyncio.Event = request.app.state.stopping

    async def events() -> AsyncIterator[ServerSentEvent]:
        sent = 0
        try:
            yield ServerSentEvent(comment=greeting, sep="\n")
            while (limit is None or sent < limit) and not stopping.is_set():
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_S)
                if message is None:
                    continue
                data = message["data"]
                sent += 1
                yield ServerSentEvent(
                    data=data.decode() if isinstance(data, bytes) else str(data),
                    event=event,
                    id=str(sent),
                    sep="\n",
                )
        finally:
            await asyncio.shield(pubsub.aclose())

    return EventSourceResponse(
        events(),
        ping=ping_s,
        ping_message_factory=lambda: ServerSentEvent(comment="keep-alive", sep="\n"),
        sep="\n",
        headers=HEADERS,
    )
