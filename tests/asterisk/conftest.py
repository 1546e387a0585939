"""Fixtures of the real tier: a built Asterisk, one instance, Hotline's services against it.

The instance and the services live for the folder (package scope), so they are stopped
when its last test ends, failed or not, and never run beside the other folders' tests.
Without the Asterisk source the tier is skipped (one reason, how to enable it), except
under CI=true, where that and a failed build fail the run.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import os
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis import Redis

from crm.migrate import upgrade
from tests.asterisk.ami import HarnessAmi
from tests.asterisk.components import Component, answers_http
from tests.asterisk.harness import Line
from tests.asterisk.instance import AsteriskInstance, cache_dir, free_port, source_dir
from tests.conftest import PG_SERVER, REDIS_TEST_PREFIX, REDIS_TEST_URL, ROOT, TOKENS, _pg_admin

# A Redis database of its own: the tracker and the recorder write the shared key names.
# The tier's databases are 16 and up (the run's server has 32), the other folders' below
# 16: under pytest-xdist the tier shares a worker, and so a Redis server, with them.
ASTERISK_REDIS_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + "/16"
AGENT_TOKENS = {f"agent0{n}": f"agent0{n}-token-0123456789abcdef" for n in (1, 2, 3)}
SCRIPT = ROOT / "scripts" / "asterisk-test-instance"
ENABLE_HINT = (
    "real-Asterisk tier skipped: no Asterisk source at {source} "
    "(set HOTLINE_ASTERISK_SOURCE to the folder with build.sh, or CI=true to require it)"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _built() -> bool:
    return (cache_dir() / "sbin" / "asterisk").exists()


SKIPPED = (
    ENABLE_HINT.format(source=source_dir())
    if not _built() and not (source_dir() / "build.sh").exists() and not _in_ci()
    else None
)
if SKIPPED:
    collect_ignore_glob = ["test_*.py"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The skipped tier is one line for the whole folder, not one per test."""
    if SKIPPED:
        terminalreporter.write_line(SKIPPED)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.asterisk)


@pytest.fixture(scope="package")
def asterisk_prefix() -> Path:
    """The cached Asterisk build; built now if it is missing (minutes, once)."""
    prefix = cache_dir()
    if _built():
        return prefix
    if not (source_dir() / "build.sh").exists():  # under CI=true: the run must fail
        pytest.fail(ENABLE_HINT.format(source=source_dir()).replace("skipped", "required"))
    built = subprocess.run([str(SCRIPT), "build"], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.fail(f"Asterisk build failed:\n{built.stdout}\n{built.stderr}")
    return prefix


@contextmanager
def running_instance(home: Path, prefix: Path, **render: str) -> Iterator[AsteriskInstance]:
    """An Asterisk instance in `home`, started, and stopped whatever happens in the block."""
    instance = AsteriskInstance(home, prefix, **render)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="package")
def asterisk(
    asterisk_prefix: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AsteriskInstance]:
    with running_instance(tmp_path_factory.mktemp("asterisk"), asterisk_prefix) as instance:
        yield instance


@dataclass
class Services:
    crm_url: str
    home: Path
    components: list[Component]


def _pg_url(name: str) -> str:
    base = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


@functools.cache
def _template() -> str:
    """A database migrated to head once per run (dropped at exit): each set of services
    gets a copy (CREATE DATABASE ... TEMPLATE, milliseconds) instead of running the
    migrations in its `hotline crm` (seconds)."""
    name = f"hotline_asterisk_template_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    atexit.register(
        lambda: asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    )
    upgrade(_pg_url(name))
    return name


def _database() -> tuple[str, str]:
    """A fresh database at the migrations' head (a copy of `_template`): name, URL."""
    name = f"hotline_asterisk_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{_template()}"'))
    return name, _pg_url(name)


@pytest.fixture(scope="package")
def services(asterisk: AsteriskInstance) -> Iterator[Services]:
    """`hotline crm` (fresh PostgreSQL database), `hotline agi`, `hotline tracker`."""
    with running_services(asterisk, ASTERISK_REDIS_URL) as started:
        yield started


@contextmanager
def running_services(asterisk: AsteriskInstance, redis_url: str) -> Iterator[Services]:
    """Hotline's services against `asterisk`, on a Redis database of their own; always
    stopped, their PostgreSQL database dropped."""
    Redis.from_url(redis_url).flushdb()
    name, database_url = _database()
    crm_port = free_port()
    endpoints = asterisk.endpoints
    env = {
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_REDIS_URL": redis_url,
        "HOTLINE_REDIS_PREFIX": REDIS_TEST_PREFIX,
        "HOTLINE_API_TOKENS": ",".join(
            [f"service:{TOKENS['service']}", f"supervisor:{TOKENS['supervisor']}"]
            # The agents' own tokens: a transfer over the API is asked by the agent on
            # the call (tests/asterisk/test_transfers.py).
            + [f"agent/{agent}:{token}" for agent, token in AGENT_TOKENS.items()]
        ),
        "HOTLINE_CRM_URL": f"http://127.0.0.1:{crm_port}",
        "HOTLINE_CRM_TOKEN": TOKENS["service"],
        "HOTLINE_CRM_TIMEOUT_S": "3",  # a loaded machine: a CRM that answers is not "down"
        "HOTLINE_AMI_HOST": "127.0.0.1",
        "HOTLINE_AMI_PORT": str(endpoints.ami_port),
        "HOTLINE_AMI_USER": endpoints.ami_user,
        "HOTLINE_AMI_SECRET": endpoints.ami_secret,
        # the tracker reads Asterisk's queue_log at a resync (a call that ended while
        # it was away); the instance writes it to its log directory
        "HOTLINE_AMI_QUEUE_LOG": str(asterisk.home / "log" / "queue_log"),
        "HOTLINE_HOURS": "mon-sun 00:00-24:00",  # open whenever the tests run
        "HOTLINE_HOLIDAY_CALENDAR": "none",
        # How the dialplan dials an agent: the desk's queue login makes the same member.
        "HOTLINE_AGENT_CHANNEL": asterisk.render_env()["HOTLINE_AGENT_CHANNEL"],
    }
    # A folder of their own for their logs and working directory: the instance serves one
    # set of services after another, and a log shared with the set before would show its
    # "listening" and "AMI resync" lines to this set's readiness checks.
    home = Path(tempfile.mkdtemp(prefix="services-", dir=asterisk.home))
    started: list[Component] = []
    try:
        # The database is migrated already (`_database`): the CRM skips the migrations.
        # One after the other, as a site starts them: the AGI server reads the calendar
        # and the UIN stock from a CRM that answers, the tracker comes last.
        crm = Component("crm", ["crm", "--port", str(crm_port), "--no-upgrade-db"], env, home)
        started.append(crm)
        crm.wait_until(answers_http(f"{env['HOTLINE_CRM_URL']}/api/health"), 60, "health")
        sounds = str(ROOT / "asterisk-config" / "sounds")
        agi_args = ["agi", "--port", str(endpoints.agi_port), "--sounds", sounds]
        agi = Component("agi", agi_args, env, home)
        started.append(agi)
        agi.wait_until(lambda: "FastAGI listening" in agi.tail(100), 60, "listening")
        tracker = Component("tracker", ["tracker", "--no-upgrade-db"], env, home)
        started.append(tracker)
        tracker.wait_until(lambda: "AMI resync" in tracker.tail(100), 60, "AMI login")
        yield Services(env["HOTLINE_CRM_URL"], home, started)
    finally:
        for component in reversed(started):
            component.stop()
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def services_of_their_own(asterisk: AsteriskInstance, redis_url: str) -> Iterator[Services]:
    """Services of a module's own on the shared instance (a fresh database, Redis
    database `redis_url`, their own AGI port): the dialplan points at their AGI server while
    they run, and back at the package's when they stop. The package's services, if
    started, keep running beside them (their tracker records these calls too, in its own
    database)."""
    before = asterisk.endpoints.agi_port
    asterisk.point_agi_at(free_port())
    try:
        with running_services(asterisk, redis_url) as started:
            yield started
    finally:
        asterisk.point_agi_at(before)


@pytest.fixture
async def line(
    asterisk: AsteriskInstance, services: Services, request: pytest.FixtureRequest
) -> AsyncIterator[Line]:
    """The harness's AMI session and a CRM client; the line is cleared after each test.

    What the session received is kept beside the instance's logs (`<test>.ami.txt`)."""
    endpoints = asterisk.endpoints
    ami = await HarnessAmi.connect(endpoints.ami_port, "harness", endpoints.harness_secret)
    headers = {"Authorization": f"Bearer {TOKENS['supervisor']}"}
    crm = httpx.AsyncClient(base_url=services.crm_url, headers=headers, timeout=10)
    line = Line(ami, crm, endpoints.hotline_number)
    try:
        await line.clear()
        yield line
    finally:
        try:
            await line.clear()
        finally:
            await crm.aclose()
            await ami.close()
            (asterisk.home / f"{request.node.name}.ami.txt").write_bytes(bytes(ami.received))
