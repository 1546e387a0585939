"""Calling the CRM app in-process the way a network server would serve it.

`httpx.ASGITransport` runs the ASGI app inside the caller's task. When the caller gives
up (the AGI server's 800 ms deadline, `asyncio.timeout`), the cancellation lands inside
the app's handler, in the middle of a database transaction: on SQLite the connection is
left holding the write lock and every later write fails with "database is locked". A
real server behind a socket never sees its client's timeout: the request runs to its
end and only the reply is lost. `DetachedASGITransport` gives in-process calls (the demo,
`hotline run`, the tests) that same behaviour.
"""

from __future__ import annotations

import asyncio

import httpx


class DetachedASGITransport(httpx.ASGITransport):
    """An ASGI transport whose requests finish even when the caller stops waiting."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._running: set[asyncio.Task[httpx.Response]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        task = asyncio.create_task(super().handle_async_request(request))
        self._running.add(task)
        task.add_done_callback(self._finished)
        return await asyncio.shield(task)

    def _finished(self, task: asyncio.Task[httpx.Response]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved, so an abandoned request's error is not "never retrieved"

    async def drain(self) -> None:
        """Wait for the requests in progress, including those whose callers gave up."""
        if self._running:
            await asyncio.wait(set(self._running))

    async def aclose(self) -> None:
        """Let the requests whose callers gave up finish, as a server drains on shutdown."""
        await self.drain()
        await super().aclose()
