"""aiosqlite's connection run on the event loop's own thread, for a process alone on its file.

aiosqlite hands every call (each statement, each fetch, each commit) to a thread of its
own and back: a queue put, a wake-up of that thread, a wake-up of the loop through its
self-pipe and two takes of the GIL. On a file nobody else opens (the demo's temporary
database, in memory-backed `/dev/shm`) a statement takes microseconds, far less than the
hand-over; run at once it never waits for a lock either, since no other connection
exists. A connection that could meet another process's lock (SQLite's busy wait would
stop the whole loop) must keep the thread.

It stands in for aiosqlite's private queue to its thread (`Connection._tx`) and skips its
thread's start in `__await__`: pyproject.toml holds aiosqlite to the minor version this
was written against (0.22), and `tests/crm/test_sqlite_inline.py` fails if those change.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite


class _RunNow:
    """Stands in for aiosqlite's queue to its thread: runs each call as it is put, and
    settles its future (awaiting a settled future does not give the loop up)."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except Exception as exc:
            if future is not None:
                future.set_exception(exc)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection that starts no thread; see the module docstring."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no thread to start


def inline_connector(path: str, **kwargs: Any) -> Callable[[], InlineConnection]:
    """An `async_creator` for SQLAlchemy: a new inline connection to the file `path`."""

    def connect() -> InlineConnection:
        return InlineConnection(lambda: sqlite3.connect(path, **kwargs))

    return connect
