"""The AMI client of the tracker: panoramisk's `Manager` made safe to run unattended.

What it changes in panoramisk 1.4 (each fault has a test in `tests/amifix/`):
- one supervisor task connects, logs in, pings, and reconnects with back-off; a `Ping`
  unanswered within `ping_timeout_s` means a dead socket, so it is closed and re-opened;
- `close()` stops the supervisor, the handlers and the login hooks (`aclose()` waits for
  them), where panoramisk's `call_later` reconnects outlive `close()`;
- `send_action()` never waits forever: during an outage an action waits for the next
  login, and fails with `AmiUnavailable` after `action_timeout_s` in all cases;
- event handlers may be plain or `async def`; async ones run as tasks that are kept
  (panoramisk drops the reference, so Python may collect them mid-flight) and whose
  errors are logged; a handler that raises no longer kills the connection;
- after every (re)login it asks for the event classes it needs (`Events`,
  `EventMask: call,agent`) and then runs the login hooks, so the tracker can
  resynchronise (`QueueStatus`, `CoreShowChannels`) after an outage;
- the wire protocol (`AmiProtocol`) keeps UTF-8 whole, accepts LF frames and strips CR/LF
  from everything it sends.

>>> manager = AmiManager(AmiSettings(secret="s3cret"))   # doctest: +SKIP
>>> manager.register_event("QueueCallerJoin", on_ami_QueueCallerJoin)   # doctest: +SKIP
>>> manager.add_login_hook(resync)   # doctest: +SKIP
>>> manager.connect(); await manager.wait_logged_in(5)   # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from panoramisk import Manager, actions
from panoramisk.message import Message

from core.ami.protocol import (
    AmiError,
    AmiLoginError,
    AmiProtocol,
    AmiUnavailable,
    make_action,
)
from core.settings import AmiSettings

__all__ = ["AmiError", "AmiLoginError", "AmiManager", "AmiUnavailable"]

log = logging.getLogger(__name__)

EventHandler = Callable[[Manager, Message], Awaitable[None] | None]
LoginHook = Callable[["AmiManager"], Awaitable[None] | None]


class AmiManager(Manager):
    """A panoramisk `Manager` with supervised reconnects, bounded actions and safe handlers."""

    def __init__(self, settings: AmiSettings, *, event_mask: str | None = None) -> None:
        self.settings = settings
        mask = settings.event_mask if event_mask is None else event_mask
        self.event_mask = mask.strip()
        super().__init__(
            host=settings.host,
            port=settings.port,
            username=settings.user,
            secret=settings.secret,
            # With a mask, no event flows until `Events` has narrowed the classes.
            events="off" if self.event_mask else "on",
            log=log,
        )
        # panoramisk re-sends queued actions on FullyBooted; this class fails them instead.
        self.callbacks.pop("FullyBooted", None)
        self.patterns = [(p, rx) for p, rx in self.patterns if p != "FullyBooted"]
        self.protocol: AmiProtocol | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._logged_in = asyncio.Event()
        self._closed = False
        self._parked: deque[actions.Action] = deque()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._login_hooks: list[LoginHook] = []
        self.logins = 0

    # -- lifecycle -------------------------------------------------------------------

    @property
    def is_logged_in(self) -> bool:
        return self._logged_in.is_set()

    def connect(self) -> asyncio.Task[None]:  # type: ignore[override]
        """Start the supervisor (connect, log in, ping, reconnect); returns its task."""
        if self._supervisor is None or self._supervisor.done():
            self.loop = asyncio.get_running_loop()
            self._closed = False
            self._supervisor = self.loop.create_task(self._supervise(), name="ami-supervisor")
            self._supervisor.add_done_callback(self._supervisor_done)
        return self._supervisor

    def _supervisor_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            # A bug, not an outage: say so loudly, the tracker is now deaf.
            log.critical("AMI supervisor stopped", exc_info=task.exception())

    async def wait_logged_in(self, timeout_s: float) -> None:
        """Wait for a login; `AmiUnavailable` if none comes within `timeout_s`."""
        try:
            await asyncio.wait_for(self._logged_in.wait(), timeout_s)
        except TimeoutError:
            raise AmiUnavailable(f"no AMI login within {timeout_s} s") from None

    def close(self) -> None:
        """Stop everything: the supervisor, the socket, handlers and hooks, waiting actions."""
        self._closed = True
        self._logged_in.clear()
        self.authenticated = False
        if self._supervisor is not None:
            self._supervisor.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self.protocol is not None:
            self.protocol.close()
        while self._parked:
            action = self._parked.popleft()
            if not action.future.done():
                action.future.set_exception(AmiUnavailable("the AMI client was closed"))

    async def aclose(self, timeout_s: float = 5.0) -> None:
        """`close()`, then wait until every task it stopped has finished."""
        self.close()
        tasks = [t for t in [self._supervisor, *self._tasks] if t is not None and not t.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    async def _supervise(self) -> None:
        delay_s = self.settings.reconnect_min_s
        while not self._closed:
            try:
                protocol = await self._open_session()
            except (OSError, TimeoutError, AmiError) as exc:
                log.warning(
                    "AMI %s:%s unavailable: %s", self.settings.host, self.settings.port, exc
                )
            else:
                delay_s = self.settings.reconnect_min_s
                await self._keep_alive(protocol)
                self._logged_in.clear()
                self.authenticated = False
                log.warning("AMI session ended; reconnecting in %.1f s", delay_s)
            # Back-off between attempts, not polling: nothing to wait for but time.
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, self.settings.reconnect_max_s)

    async def _open_session(self) -> AmiProtocol:
        loop = asyncio.get_running_loop()
        _, protocol = await asyncio.wait_for(
            loop.create_connection(self.make_protocol, self.settings.host, self.settings.port),
            self.settings.connect_timeout_s,
        )
        self.protocol = protocol
        self.responses = protocol.responses
        try:
            await self._handshake(protocol)
        except (OSError, TimeoutError, AmiError):
            protocol.close()
            raise
        self.logins += 1
        self.authenticated = True
        self._logged_in.set()
        log.info("AMI logged in to %s:%s", self.settings.host, self.settings.port)
        self._flush_parked(protocol)
        for hook in self._login_hooks:
            self._run_callback(hook, self)
        return protocol

    def make_protocol(self) -> AmiProtocol:
        """The wire protocol of one connection (the tracker puts its fast parser in)."""
        return AmiProtocol(self)

    async def _handshake(self, protocol: AmiProtocol) -> None:
        timeout_s = self.settings.action_timeout_s
        login = {
            "Action": "Login",
            "Username": self.settings.user,
            "Secret": self.settings.secret,
            "Events": self.config["events"],
        }
        reply = await asyncio.wait_for(protocol.send(login), timeout_s)
        if not reply.success:
            raise AmiLoginError(f"AMI login as {self.settings.user!r} refused: {reply.message}")
        if self.event_mask:
            events = {"Action": "Events", "EventMask": self.event_mask}
            reply = await asyncio.wait_for(protocol.send(events), timeout_s)
            if not reply.success:
                raise AmiError(f"AMI refused EventMask {self.event_mask!r}: {reply.message}")

    async def _keep_alive(self, protocol: AmiProtocol) -> None:
        """Ping every `ping_interval_s`; return when the connection ends or a Ping fails."""
        while True:
            done, _ = await asyncio.wait({protocol.done}, timeout=self.settings.ping_interval_s)
            if done:
                return
            ping = protocol.send({"Action": "Ping"})
            try:
                await asyncio.wait_for(ping, self.settings.ping_timeout_s)
            except TimeoutError:
                log.warning(
                    "AMI Ping unanswered for %.1f s: the socket is dead, reconnecting",
                    self.settings.ping_timeout_s,
                )
                protocol.close()
                return
            except AmiUnavailable:
                return

    # -- actions ---------------------------------------------------------------------

    def send_action(  # type: ignore[override]
        self, action: Mapping[str, Any] | actions.Action, as_list: bool | None = None, **kwargs: Any
    ) -> asyncio.Future[Any]:
        """Send an action; the future fails with `AmiUnavailable` after `action_timeout_s`.

        During an outage the action waits for the next login (up to the same limit).
        """
        action = make_action({**action, **kwargs} if kwargs else action, as_list)
        if self._closed:
            action.future.set_exception(AmiUnavailable("the AMI client is closed"))
            return action.future
        timer = asyncio.get_running_loop().call_later(
            self.settings.action_timeout_s, self._expire, action
        )
        action.future.add_done_callback(lambda _: timer.cancel())
        if self.is_logged_in and self.protocol is not None and not self.protocol.closed:
            self.protocol.send(action, as_list=action.as_list)
        else:
            self._parked.append(action)
        return action.future

    def _flush_parked(self, protocol: AmiProtocol) -> None:
        while self._parked:
            action = self._parked.popleft()
            if not action.future.done():
                protocol.send(action, as_list=action.as_list)

    def _expire(self, action: actions.Action) -> None:
        if action.future.done():
            return
        if action in self._parked:
            self._parked.remove(action)
            why = "AMI not connected"
        else:
            why = "no reply from Asterisk"
            if self.protocol is not None:
                self.protocol.forget(action)
        action.future.set_exception(
            AmiUnavailable(f"{action.action}: {why} within {self.settings.action_timeout_s} s")
        )

    async def send_awaiting_actions(self, *_: Any) -> None:
        """Unused: actions are parked by `send_action` and sent at login."""

    # -- events and hooks -------------------------------------------------------------

    def register_event(self, pattern: str, callback: EventHandler | None = None) -> Any:
        """Register `callback(manager, event)` (plain or `async def`) for an event pattern."""

        def register(handler: EventHandler) -> EventHandler:
            if not callable(handler):
                raise TypeError(f"AMI event handler for {pattern!r} is not callable: {handler!r}")
            return Manager.register_event(self, pattern, handler)

        return register if callback is None else register(callback)

    def add_login_hook(self, hook: LoginHook) -> LoginHook:
        """Run `hook(manager)` (plain or `async def`) after every login, e.g. to resync."""
        if not callable(hook):
            raise TypeError(f"AMI login hook is not callable: {hook!r}")
        self._login_hooks.append(hook)
        return hook

    def dispatch(self, event: Message) -> list[str]:
        """Call every handler whose pattern matches; one failing handler spoils nothing else."""
        event.manager = self
        matched: list[str] = []
        for pattern, regexp in self.patterns:
            if regexp.match(event.event) is None:
                continue
            matched.append(pattern)
            for handler in self.callbacks[pattern]:
                self._run_callback(handler, self, event)
        return matched

    def _run_callback(self, callback: Callable[..., Any], *args: Any) -> None:
        try:
            result = callback(*args)
        except Exception:
            log.exception("AMI callback %r failed", callback)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("AMI callback task failed", exc_info=task.exception())

    def connection_lost(self, exc: Exception | None) -> None:
        """Unused: the supervisor learns of a lost connection from `AmiProtocol.done`."""
