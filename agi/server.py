"""The FastAGI server: reads Asterisk's AGI environment safely and runs a route per script.

It replaces the connection handling of panoramisk 1.4's `fast_agi.Application` (kept as the
base class for its route table) because that one:
- spins forever, freezing the whole event loop, when a client closes before the blank
  line (`reader.read()` returns `b""` at once at EOF), and waits forever on a stall;
- decodes the environment as strict UTF-8 (a CP1251 caller name kills the call);
- routes on the whole `agi_network_script`, so `hotline?lang=en` finds no route;
- needs `async def` routes (it calls `asyncio.coroutine`, gone in Python 3.11);
- has no command timeout, crashes on a hang-up (`int("")`), and lets a `HANGUP` line
  leave the real reply unread, shifting every later reply by one.

>>> server = AgiServer(settings.agi)                          # doctest: +SKIP
>>> server.add_route("hotline", on_agi_hotline)               # doctest: +SKIP
>>> await server.start()                                      # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from panoramisk import fast_agi

from agi import commands
from agi.commands import AgiReply, parse_reply
from agi.errors import AgiBadRequest, AgiError, AgiHangup, AgiProtocolError, AgiTimeout
from core.settings import AgiSettings
from core.text import clean_text

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 8192
MAX_ENV_LINES = 200
# Connections the kernel holds for us while the loop is busy: past it a new caller's SYN is
# dropped and retried a whole second later (asyncio's default of 100 is one fifth of a burst).
LISTEN_BACKLOG = 1024
_ENV_LINE = re.compile(r"^(agi_[a-z0-9_]+):\s?(.*)$")
_ARG = re.compile(r"^agi_arg_(\d+)$")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Route = Callable[["AgiRequest"], Awaitable[None] | None]


def decode_line(raw: bytes) -> str:
    """UTF-8 if it is, else CP1251 (older trunks and PBX configs send caller names in it)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1251", errors="replace")


def parse_allow(value: str) -> list[Network]:
    """`127.0.0.1,10.0.0.0/8,::1` -> networks; a bad entry is a clear error at start-up."""
    networks: list[Network] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"HOTLINE_AGI_ALLOW: {item!r} is not an IP address or CIDR") from None
    return networks


def is_allowed(host: str, networks: list[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


async def read_env(reader: asyncio.StreamReader) -> dict[str, str]:
    """Read `agi_*: value` lines up to the blank line; `AgiBadRequest` on anything else."""
    env: dict[str, str] = {}
    for _ in range(MAX_ENV_LINES):
        try:
            raw = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            raise AgiBadRequest("client closed before the end of the AGI environment") from None
        except asyncio.LimitOverrunError:
            raise AgiBadRequest("AGI environment line too long") from None
        line = decode_line(raw).rstrip("\r\n")
        if not line:
            return env
        match = _ENV_LINE.match(line)
        if match is None:
            raise AgiBadRequest(f"not an AGI environment line: {line[:60]!r}")
        # A NUL or another control character in a caller's name must not reach a ticket.
        env[match[1]] = clean_text(match[2])
    raise AgiBadRequest(f"AGI environment over {MAX_ENV_LINES} lines")


class AgiRequest(fast_agi.Request):
    """One AGI call: `env` (the `agi_*` headers), `script`, `query` and `args`."""

    def __init__(
        self,
        app: AgiServer,
        env: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        command_timeout_s: float,
    ) -> None:
        super().__init__(app, env, reader, writer, encoding="utf-8")
        self.env = env
        self.command_timeout_s = command_timeout_s
        self.hung_up = False
        # After a timeout a late reply would answer the next command: refuse to go on.
        self._out_of_step = False
        script, _, query = env.get("agi_network_script", "").partition("?")
        self.script = script.strip("/")
        self.query: dict[str, str] = {k: v[-1] for k, v in parse_qs(query).items()}
        numbered = sorted((int(m[1]), v) for k, v in env.items() if (m := _ARG.match(k)))
        self.args: list[str] = [value for _, value in numbered]

    async def send_command(  # type: ignore[override]
        self, command: str, timeout_s: float | None = None
    ) -> AgiReply:
        """Send one command line; return `(code, result, data)`.

        `AgiHangup` when the channel is gone (EOF, `511`, or `result=-1` after `HANGUP`),
        `AgiTimeout` after `timeout_s` (default: the command timeout setting).
        """
        if "\n" in command or "\r" in command:
            raise ValueError("an AGI command is one line; build it with agi.commands")
        if self._out_of_step:
            raise AgiTimeout("an earlier AGI command timed out; this call cannot go on")
        try:
            self.writer.write(command.encode("utf-8") + b"\n")
            await self.writer.drain()
        except ConnectionError as exc:
            raise AgiHangup(f"channel gone before {command.split(' ', 1)[0]}") from exc
        limit_s = self.command_timeout_s if timeout_s is None else timeout_s
        try:
            # A deadline on this task (not wait_for's task per command: 8 a caller in a burst)
            async with asyncio.timeout(limit_s):
                reply = await self._read_reply()
        except TimeoutError:
            self._out_of_step = True
            raise AgiTimeout(f"no answer to {command[:40]!r} within {limit_s} s") from None
        if reply.code == 511 or (self.hung_up and reply.result == "-1"):
            raise AgiHangup(f"caller hung up ({reply.code} result={reply.result})")
        return reply

    async def get_variable(self, name: str) -> str | None:
        """A channel variable's value, or None when it is not set (`200 result=0`)."""
        reply = await self.send_command(commands.get_variable(name))
        return reply.data if reply.ok and reply.result == "1" else None

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        """Play `prompt` and collect DTMF; "" when the caller pressed nothing (or `-1`)."""
        reply = await self.send_command(
            commands.get_data(prompt, timeout_ms, max_digits),
            timeout_s=max(self.command_timeout_s, timeout_ms / 1000 + 30),
        )
        if not reply.ok:
            raise AgiProtocolError(f"GET DATA failed: {reply.code} {reply.data}")
        return "" if reply.result == "-1" else reply.result

    async def _read_reply(self) -> AgiReply:
        while True:
            line = await self._read_line()
            if line.strip() == "HANGUP":
                # Asterisk says so once, before or after the reply of the running command.
                self.hung_up = True
                continue
            reply = parse_reply(line)
            if reply.code == 100:  # "100 result=0 Trying...": the real reply follows
                continue
            if line[3:4] == "-":  # "520-Invalid command syntax..." up to "520 End..."
                usage = [reply.data]
                while not (next_line := await self._read_line()).startswith(f"{reply.code} "):
                    usage.append(next_line)
                return AgiReply(reply.code, "", "\n".join(usage))
            return reply

    async def _read_line(self) -> str:
        try:
            raw = await self.reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            raise AgiHangup("channel gone: Asterisk closed the AGI connection") from None
        except asyncio.LimitOverrunError:
            raise AgiProtocolError("AGI reply line too long") from None
        return decode_line(raw).rstrip("\r\n")


class AgiServer(fast_agi.Application):
    """Routes FastAGI calls by script name (`agi://host/hotline?lang=en` -> `hotline`)."""

    def __init__(self, settings: AgiSettings) -> None:
        super().__init__(loop=asyncio.get_running_loop())
        self.settings = settings
        self.allowed = parse_allow(settings.allow)
        self._server: asyncio.Server | None = None
        self._calls: set[asyncio.Task[Any]] = set()

    def add_route(self, path: str, endpoint: Route) -> None:
        """Register `endpoint(request)` for a script name; plain or `async def`."""
        if not callable(endpoint):
            raise TypeError(f"AGI route {path!r} is not callable: {endpoint!r}")
        name = path.strip("/")
        if not name or "?" in name:
            raise ValueError(f"AGI route name must be a bare script name: {path!r}")
        if name in self._route:
            raise ValueError(f"AGI route {name!r} already exists")
        self._route[name] = endpoint

    @property
    def port(self) -> int:
        """The port listened on (useful when the settings said 0)."""
        if self._server is None:
            raise RuntimeError("the AGI server is not started")
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> asyncio.Server:
        self._server = await asyncio.start_server(
            self.handler,
            self.settings.host,
            self.settings.port,
            limit=MAX_LINE_BYTES,
            backlog=LISTEN_BACKLOG,
        )
        log.info("FastAGI listening on %s:%s", self.settings.host, self.port)
        return self._server

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no call is in progress; False if some are still running at the limit."""
        if self._calls:
            await asyncio.wait(list(self._calls), timeout=timeout_s)
        return not self._calls

    async def close(self, grace_s: float = 0.0, timeout_s: float = 5.0) -> None:
        """Stop listening, let calls in progress run up to `grace_s`, then cancel the rest."""
        if self._server is not None:
            self._server.close()
        if grace_s > 0:
            await self.wait_idle(grace_s)
        for task in list(self._calls):
            task.cancel()
        await self.wait_idle(timeout_s)
        if self._server is not None:
            await self._server.wait_closed()

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One FastAGI connection, from the environment to the end of its route."""
        task = asyncio.current_task()
        if task is not None:
            self._calls.add(task)
        peer = writer.get_extra_info("peername") or ("?", 0)
        try:
            if not is_allowed(str(peer[0]), self.allowed):
                log.warning("FastAGI connection from %s refused: not in HOTLINE_AGI_ALLOW", peer[0])
                return
            await self._serve(reader, writer, peer)
        finally:
            writer.close()
            if task is not None:
                self._calls.discard(task)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Any
    ) -> None:
        try:
            env = await asyncio.wait_for(read_env(reader), self.settings.header_timeout_s)
        except TimeoutError:
            log.warning(
                "FastAGI client %s sent no whole environment within %.1f s: dropped",
                peer[0],
                self.settings.header_timeout_s,
            )
            return
        except AgiBadRequest as exc:
            log.warning("FastAGI client %s dropped: %s", peer[0], exc)
            return
        request = AgiRequest(self, env, reader, writer, self.settings.command_timeout_s)
        route = self._route.get(request.script)
        if route is None:
            log.error("FastAGI: no route for script %r from %s", request.script, peer[0])
            return
        log.info("FastAGI %s for %s", request.script, env.get("agi_channel", "?"))
        try:
            result = route(request)
            if inspect.isawaitable(result):
                await result
        except AgiHangup as exc:
            log.info("FastAGI %s ended by hang-up: %s", request.script, exc)
        except AgiError as exc:
            log.warning("FastAGI %s failed: %s", request.script, exc)
        except Exception:
            log.exception("FastAGI route %s raised", request.script)
