"""The fault suite's stack: its own Redis (append-only) and PostgreSQL, `hotline crm`,
`hotline agi` and `hotline tracker` in processes of their own, the simulated Asterisk on
the wall clock in this process, and the faults that can be done to each.

Shared by `tests/faults/` and `bench/faults.py`. Nothing here is the developer's: the
servers listen on free loopback ports in a folder of their own and are always stopped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from asterisksim import SimConfig, SimulatedAsterisk
from asterisksim.site import entry_agi_retries
from crm.migrate import upgrade
from hotline.asterisk_config import CONFIG_DIR
from ivr.catalogue import all_sound_files

ROOT = Path(__file__).resolve().parents[2]
TOKENS = {"service": "service-token-faults-0123456789", "supervisor": "supervisor-faults-0123456"}
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
# The service level of these short calls: answered within 3 s of 1 s short abandons.
SL_THRESHOLD_S = 3
SL_SHORT_ABANDON_S = 1
PROMPT_S = 0.3  # each of the IVR's prompts and digits plays this long here (real: seconds)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(
    check: Callable[[], Awaitable[bool]], timeout_s: float, what: str, step_s: float = 0.1
) -> None:
    """Wait for another process's state (over a socket) to satisfy `check`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if await check():
                return
        except (OSError, httpx.HTTPError, asyncpg.PostgresError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s:.0f} s")
        await asyncio.sleep(step_s)  # another process's state: polled


def _postgres_user(args: list[str]) -> list[str]:
    """initdb and postgres refuse root: run them as the `postgres` account then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class Postgres:
    """A private PostgreSQL cluster (initdb, pg_ctl) in `folder`, on a free port."""

    def __init__(self, folder: Path) -> None:
        if not PG_BIN:
            raise RuntimeError("PostgreSQL's binaries are not in /usr/lib/postgresql/*/bin")
        self.bin = PG_BIN[-1]
        self.data = folder / "pgdata"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/hotline"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            _postgres_user([str(self.bin / args[0]), *args[1:]]),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def init(self) -> None:
        self.data.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.data.parent, "postgres")
            shutil.chown(self.data, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off"
            " -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.data / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    async def create(self) -> None:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")
        try:
            await conn.execute("CREATE DATABASE hotline")
        finally:
            await conn.close()
        await asyncio.to_thread(upgrade, self.url)

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/hotline", timeout=5
        )
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()


class RedisServer:
    """A private redis-server, append-only, its files in `folder`; restarted on its port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "redis"
        self.folder.mkdir()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed")
        self.process = subprocess.Popen(
            [
                server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
        )

    async def ready(self) -> None:
        async def pong() -> bool:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            try:
                writer.write(b"PING\r\n")
                return (await reader.readline()).startswith(b"+PONG")
            finally:
                writer.close()

        await until(pong, 20, "redis-server")

    def stop(self) -> None:
        """SIGTERM: Redis writes its append-only file out and exits (a clean restart)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


class Component:
    """`hotline <args>` in a child process of its own, its log in the stack's folder."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], home: Path) -> None:
        self.name, self.args, self.env, self.home = name, args, env, home
        self.log = home / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hotline.cli", *self.args],
                env={**base, **self.env},
                cwd=self.home,  # no .env there: the settings are `env` alone
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def this_start(self) -> str:
        """What the log says since the last start."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.rpartition(f"--- start {self.starts}\n")[2]

    def kill(self) -> None:
        """SIGKILL: gone at once, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    async def ready(self, marker: str, timeout_s: float = 60) -> None:
        async def logged() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.this_start()[-3000:]}")
            return marker in self.this_start()

        await until(logged, timeout_s, f"{self.name}: {marker!r}")


@dataclass
class Stack:
    home: Path
    postgres: Postgres
    redis: RedisServer
    sim: SimulatedAsterisk
    crm: Component
    agi: Component
    tracker: Component
    crm_url: str

    async def crm_ready(self) -> None:
        async with httpx.AsyncClient(timeout=2) as client:

            async def healthy() -> bool:
                return (await client.get(f"{self.crm_url}/api/health")).status_code == 200

            await until(healthy, 60, "crm health")

    def drop_ami(self) -> int:
        return self.sim.drop_ami_clients()

    def logs(self) -> str:
        return "\n".join(
            f"== {c.name}\n{c.this_start()[-2000:]}" for c in (self.crm, self.agi, self.tracker)
        )


def sim_config() -> SimConfig:
    sounds = {f"ru/{name}": PROMPT_S for name in all_sound_files()}
    sounds |= {f"ru/digits/{d}": PROMPT_S / 3 for d in range(10)}
    # The project's [hotline-in] tries an AGI server that is not there again, a second apart.
    tries, wait_s = entry_agi_retries((CONFIG_DIR / "extensions.conf").read_text(), "hotline-in")
    return SimConfig(
        agi_tries=tries,
        agi_retry_wait_s=wait_s,
        start_s=time.time(),
        timestampevents=True,
        channelvars=("UIN", "TICKET_ID"),
        prompts=frozenset(all_sound_files()),
        sound_durations_s=sounds,
    )


@asynccontextmanager
async def running_stack(agents: int = 2, talk_s: float = 2.5) -> AsyncIterator[Stack]:
    """The whole stack, started one part after the other as a site starts it; always
    stopped and its folder removed."""
    home = Path(tempfile.mkdtemp(prefix="hotline-faults-"))
    postgres = Postgres(home)
    redis = RedisServer(home)
    started: list[Callable[[], None]] = []
    try:
        await asyncio.to_thread(postgres.init)
        await asyncio.to_thread(postgres.start)
        started.append(lambda: postgres.stop("immediate"))
        redis.start()
        started.append(redis.stop)
        await redis.ready()
        await postgres.create()
        queue_log = home / "queue_log"
        async with SimulatedAsterisk(sim_config(), accelerated=False) as sim:
            sim.write_queue_log(queue_log)
            crm_port, agi_port = free_port(), free_port()
            crm_url = f"http://127.0.0.1:{crm_port}"
            env = {
                "HOTLINE_DATABASE_URL": postgres.url,
                "HOTLINE_REDIS_URL": redis.url,
                "HOTLINE_REDIS_PREFIX": "faults",
                "HOTLINE_API_TOKENS": ",".join(f"{r}:{t}" for r, t in TOKENS.items()),
                "HOTLINE_CRM_URL": crm_url,
                "HOTLINE_CRM_TOKEN": TOKENS["service"],
                "HOTLINE_CRM_TIMEOUT_S": "2",  # a loaded machine: a CRM that answers is up
                "HOTLINE_AMI_HOST": sim.host,
                "HOTLINE_AMI_PORT": str(sim.port),
                "HOTLINE_AMI_USER": "hotline",
                "HOTLINE_AMI_SECRET": "hotline",
                "HOTLINE_AMI_QUEUE_LOG": str(queue_log),
                "HOTLINE_HOURS": "mon-sun 00:00-24:00",
                "HOTLINE_HOLIDAY_CALENDAR": "none",
                "HOTLINE_SL_THRESHOLD_S": str(SL_THRESHOLD_S),
                "HOTLINE_SL_SHORT_ABANDON_S": str(SL_SHORT_ABANDON_S),
            }
            sounds = str(ROOT / "asterisk-config" / "sounds")
            stack = Stack(
                home,
                postgres,
                redis,
                sim,
                Component("crm", ["crm", "--port", str(crm_port), "--no-upgrade-db"], env, home),
                Component("agi", ["agi", "--port", str(agi_port), "--sounds", sounds], env, home),
                Component("tracker", ["tracker", "--no-upgrade-db"], env, home),
                crm_url,
            )
            try:
                for component in (stack.crm, stack.agi, stack.tracker):
                    component.start()
                    started.append(component.stop)
                await stack.crm_ready()
                await stack.agi.ready("FastAGI listening")
                await stack.tracker.ready("AMI resync")
                sim.config.agi_url = f"agi://127.0.0.1:{agi_port}/hotline"
                for n in range(1, agents + 1):
                    sim.add_agent(f"agent{n}", "hotline", answer_delay_s=0.5, talk_s=talk_s)
                yield stack
            finally:
                for stop in reversed(started[2:]):
                    stop()
                del started[2:]
    finally:
        for stop in reversed(started):
            try:
                stop()
            except (RuntimeError, subprocess.SubprocessError) as exc:
                print(f"faults stack: stopping: {exc}", file=sys.stderr)
        shutil.rmtree(home, ignore_errors=True)
