"""The CRM API served by uvicorn on the running event loop, beside other components."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI

SERVER_START_TIMEOUT_S = 10.0
SERVER_STOP_TIMEOUT_S = 10.0


class ApiServer(uvicorn.Server):
    """uvicorn that leaves SIGINT/SIGTERM to the command that embeds it.

    uvicorn's own handlers would stop only the API and raise the signal again once it
    has stopped; the embedding command stops every component together instead.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(
    app: FastAPI, host: str, port: int, log_level: str = "warning"
) -> AsyncIterator[ApiServer]:
    """Serve `app` (lifespan included) on this event loop until the block ends."""
    server = ApiServer(
        uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on")
    )
    task = asyncio.create_task(server.serve(), name="crm-api")
    try:
        async with asyncio.timeout(SERVER_START_TIMEOUT_S):
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped it
                    raise RuntimeError(f"the API did not start on {host}:{port}")
                # uvicorn offers no start event; a short wait, bounded by the timeout
                await asyncio.sleep(0.02)
        yield server
    finally:
        # Open event streams (wallboards, agent desks) end first: uvicorn waits for them.
        stopping = getattr(app.state, "stopping", None)
        if stopping is not None:
            stopping.set()
        server.should_exit = True
        await asyncio.wait_for(task, SERVER_STOP_TIMEOUT_S)
