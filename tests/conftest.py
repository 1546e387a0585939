"""Shared fixtures: real PostgreSQL and SQLite databases, real Redis, the CRM app.

Database tests run on both backends. PostgreSQL and Redis must be installed: a missing
service fails the run (it is never skipped); `scripts/test` starts or installs them.

Two runs at once on one machine never share state: each run has fresh PostgreSQL
databases, and its own Redis server on a free loopback port (`redis-server`, started
here and stopped when the run ends) unless `HOTLINE_TEST_REDIS` names one; under
pytest-xdist (`scripts/test` runs two workers) each worker is such a run. Pub/sub
channels are global to a Redis server, so a database number alone would not do. Each run
also has a fresh key prefix (`HOTLINE_REDIS_PREFIX`, the `keys` fixture), so two runs
sharing one server (`HOTLINE_TEST_REDIS`) see nothing of each other's keys or channels.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import create_async_engine

from core.keys import RedisKeys
from core.settings import ApiSettings, DatabaseSettings, RedisSettings, Settings
from crm.migrate import upgrade
from crm.models import Base
from hotline.bootstrap import create_app

ROOT = Path(__file__).resolve().parents[1]
# Recorded Asterisk output (AMI transcripts, the FastAGI wire), kept in the repository.
FIXTURES = ROOT / "tests" / "fixtures" / "asterisk"
PG_SERVER = os.environ.get("HOTLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _private_redis() -> str:
    """Start this run's own Redis server; its URL (database 15)."""
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server is not installed: run the tests with scripts/test")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tempfile.mkdtemp(prefix="hotline-test-redis-")
    process = subprocess.Popen(
        [
            server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            folder,
            "--databases",
            "32",  # the real tier's are 16 and up (tests/asterisk/conftest.py)
        ],
        stdout=subprocess.DEVNULL,
    )

    def stop() -> None:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return f"redis://127.0.0.1:{port}/15"
        except OSError:
            time.sleep(0.05)
    stop()
    raise RuntimeError(f"this run's Redis server did not answer on port {port}")


# Each pytest-xdist worker is a run of its own (scripts/test runs two): it inherits the
# controller's environment, so what the controller (or another runner) exported below is
# taken only by this runner's own subprocesses, never by a sibling worker.
_RUNNER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def _inherited(name: str) -> str | None:
    """`name` from the environment, unless another runner of this run exported it."""
    if os.environ.get("HOTLINE_TEST_RUNNER", _RUNNER) != _RUNNER:
        return None
    return os.environ.get(name)


REDIS_TEST_URL = _inherited("HOTLINE_TEST_REDIS") or _private_redis()
# This run's key prefix; subprocesses reuse it, as they reuse the server.
REDIS_TEST_PREFIX = _inherited("HOTLINE_TEST_REDIS_PREFIX") or f"test-{uuid.uuid4().hex[:10]}"
# Subprocesses (and conftest imports in them) reuse the same server and prefix.
os.environ["HOTLINE_TEST_REDIS"] = REDIS_TEST_URL
os.environ["HOTLINE_TEST_REDIS_PREFIX"] = REDIS_TEST_PREFIX
os.environ["HOTLINE_TEST_RUNNER"] = _RUNNER
TEST_KEYS = RedisKeys(REDIS_TEST_PREFIX)
REDIS_TEST_PORT = int(REDIS_TEST_URL.split("://", 1)[1].split("/", 1)[0].rpartition(":")[2])

TOKENS = {
    "agent": "agent-token-0123456789abcdef",
    "supervisor": "supervisor-token-0123456789",
    "service": "service-token-0123456789abc",
}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_SERVER, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_postgresql() -> Iterator[str]:
    """A fresh PostgreSQL database, migrated to head, dropped afterwards."""
    name = f"hotline_test_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    url = f"{base}/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """This run's PostgreSQL database (each test's rows are removed after it)."""
    with fresh_postgresql() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'hotline.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each database test runs on SQLite and on PostgreSQL; rows are removed afterwards."""
    url = request.getfixturevalue(f"{request.param}_url")
    yield url
    asyncio.run(_empty(url))


async def _empty(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(delete(table))
            if url.startswith("postgresql"):
                await conn.execute(text("ALTER SEQUENCE uin_seq RESTART WITH 1"))
            else:  # the UIN counter of SQLite (AUTOINCREMENT) starts again too
                await conn.execute(text("DELETE FROM sqlite_sequence"))
    finally:
        await engine.dispose()


def redis_settings(url: str = REDIS_TEST_URL) -> RedisSettings:
    """Settings of this run's Redis (database `url` names) under this run's prefix."""
    return RedisSettings(url=url, prefix=REDIS_TEST_PREFIX)


@pytest.fixture
def heap_restored() -> Iterator[None]:
    """The garbage collector as it was, after a test of a process's `settle_heap`."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.fixture
def keys() -> RedisKeys:
    """This run's Redis key names (the prefix of every `settings` fixture)."""
    return TEST_KEYS


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        db=DatabaseSettings(url=database_url),
        redis=redis_settings(),
        api=ApiSettings(tokens=",".join(f"{r}:{t}" for r, t in TOKENS.items())),
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The CRM app, its lifespan running, behind an in-process HTTP client."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as http:
            yield http


TIER = ROOT / "tests" / "asterisk"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups for pytest-xdist's `--dist loadgroup` (scripts/test): a module's tests run on
    one worker, so its module fixtures start once, and the real tier's folder is one group,
    so one Asterisk serves it (its package fixtures) while the other worker runs the rest."""
    for item in items:
        path = Path(item.path)
        group = "asterisk" if TIER in path.parents else str(path.relative_to(ROOT))
        item.add_marker(pytest.mark.xdist_group(group))
