"""The SQL engine and session factory, built by bootstrap (never at import time)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from crm.sqlite_inline import inline_connector
from crm.supervisor.intervals import wall_start


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def make_engine(url: str, *, inline_sqlite: bool = False) -> AsyncEngine:
    """An async engine for `url`; SQLite gets foreign keys on, WAL and one connection.

    `inline_sqlite`: SQLite's statements run on the event loop's thread, not aiosqlite's
    (`crm.sqlite_inline`), for a process that alone opens the file (the demo's)."""
    if url.startswith("sqlite"):
        # SQLite has one writer at a time. With several connections, a transaction that
        # finds the file locked polls for it in sleeps of up to 100 ms (its busy handler)
        # and can lose the race again and again to a busy writer; one connection makes
        # the process's transactions wait their turn in order, woken as soon as it is
        # theirs. Code must not hold a session while it waits for a second one.
        pool: dict[str, Any] = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60}
        if inline_sqlite:
            path = make_url(url).database or ":memory:"
            engine = create_async_engine(
                url, async_creator=inline_connector(path, timeout=30), **pool
            )
        else:
            engine = create_async_engine(url, connect_args={"timeout": 30}, **pool)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # SQLite's own lower() folds ASCII only: ILIKE ("lower(x) LIKE lower(y)") would
            # miss "ПАРОЛЬ" for "пароль". An application function of the same name wins.
            dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
            # Report intervals in the hotline's time zone (SQLite knows no zones).
            dbapi_connection.create_function(
                "hotline_wall_start", 3, wall_start, deterministic=True
            )
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    # No pre-ping: it is one more round trip on every checkout (a sixth of the time of
    # registering a ticket). After a database restart the first statement on a stale
    # connection fails, SQLAlchemy invalidates the whole pool, and the next one reconnects;
    # the AGI server answers that one caller from its UIN stock.
    return create_async_engine(
        url, pool_size=20, max_overflow=10, pool_pre_ping=False, pool_recycle=1800
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
