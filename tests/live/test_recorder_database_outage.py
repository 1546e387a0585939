"""The recorder beside the tracker outlives a database restart: it pauses and reads on
(the facts wait on the stream), where it used to end `hotline tracker` altogether."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import IntegrityError, InterfaceError

from hotline.bootstrap.tracker import _consume


class FailingReader:
    """A fact reader whose first runs fail with `failures`, then one that stops."""

    group = "recorder"

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.runs = 0

    async def run(self, stop: asyncio.Event, block_ms: int = 1000) -> None:
        self.runs += 1
        if self.failures:
            raise self.failures.pop(0)
        stop.set()


async def test_a_closed_database_connection_pauses_the_recorder_not_ends_it() -> None:
    # What asyncpg's "connection is closed" becomes when PostgreSQL restarts mid-read.
    closed = InterfaceError("SELECT recorded_facts.key", {}, Exception("connection is closed"))
    reader = FailingReader(closed, closed)
    await asyncio.wait_for(_consume(reader, asyncio.Event(), retry_s=0.01), 5)
    assert reader.runs == 3


async def test_a_statement_the_database_refuses_still_ends_it() -> None:
    refused = IntegrityError("INSERT", {}, Exception("duplicate key"))
    reader = FailingReader(refused)
    with pytest.raises(IntegrityError):
        await asyncio.wait_for(_consume(reader, asyncio.Event(), retry_s=0.01), 5)
    assert reader.runs == 1
