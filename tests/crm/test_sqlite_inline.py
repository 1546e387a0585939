"""The demo's SQLite engine runs its statements on the event loop's thread (crm.sqlite_inline)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from crm.db import make_engine


def _url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}"


def _tell_thread(engine) -> None:  # type: ignore[no-untyped-def]
    @event.listens_for(engine.sync_engine, "connect")
    def _thread_function(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.create_function("thread_ident", 0, threading.get_ident)


async def test_statements_run_on_the_loops_thread_and_no_thread_starts(tmp_path: Path) -> None:
    threads_before = threading.active_count()
    engine = make_engine(_url(tmp_path), inline_sqlite=True)
    _tell_thread(engine)
    try:
        async with engine.begin() as conn:
            ran_on = (await conn.execute(text("SELECT thread_ident()"))).scalar_one()
            assert threading.active_count() == threads_before
            # The engine's own pragmas hold as on aiosqlite's thread.
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
    finally:
        await engine.dispose()
    assert ran_on == threading.get_ident()


async def test_the_threaded_engine_is_still_the_default(tmp_path: Path) -> None:
    engine = make_engine(_url(tmp_path))
    _tell_thread(engine)
    try:
        async with engine.begin() as conn:
            ran_on = (await conn.execute(text("SELECT thread_ident()"))).scalar_one()
    finally:
        await engine.dispose()
    assert ran_on != threading.get_ident()


async def test_errors_and_rollback_are_sqlalchemys_and_the_connection_goes_on(
    tmp_path: Path,
) -> None:
    engine = make_engine(_url(tmp_path), inline_sqlite=True)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (2)"))
                await conn.execute(text("INSERT INTO t VALUES (1)"))
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT k FROM t ORDER BY k"))).scalars().all()
        assert rows == [1]  # the failed transaction's 2 was rolled back
    finally:
        await engine.dispose()
