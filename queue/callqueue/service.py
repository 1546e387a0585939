"""The tracker service: AMI in, call facts onto the stream, live state into Redis.

One process, one asyncio loop:
- `TrackerAmiManager` (panoramisk's Manager with the 1.4 faults fixed) keeps the AMI
  session up; its `TrackerProtocol` feeds each read's events to `on_read` (see `wire`
  for why our parser and not panoramisk's); `on_read` runs the `CallTracker`, puts the
  facts into the `FactOutbox` (never blocks; rides out Redis outages) and notes the live
  changes in `LiveState`;
- a writer task flushes `LiveState` in one pipeline whenever something changed (so under
  load one pipeline covers every read since the last one) and refreshes the TTLs as a
  heartbeat;
- after every (re)login the service sends `CoreShowChannels` and `QueueStatus` and
  applies both lists where the `QueueStatus` list ends in the stream (`resync`), so calls
  in progress during an outage are neither lost nor counted twice;
- with a `Recorder` (`hotline tracker` runs one in the same process unless
  `--no-recorder`), the facts also reach SQL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from callqueue.agents import AgentBoard
from callqueue.checkpoint import load_open_calls
from callqueue.live import LiveState
from callqueue.queue_log import read_queue_log
from callqueue.tracker import CallTracker
from callqueue.wire import TrackerAmiManager
from core.aio import wait_any
from core.ami.parser import AmiMessage
from core.ami.protocol import AmiError
from core.bus import FactBus, FactOutbox
from core.facts import CallQueued, CallTicketed, load_fact
from core.settings import Settings

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0  # TTL refresh and wrap-up clock; the TTL is a few of these
LIVE_EVERY_S = 0.05  # the live state is written at most this often (one pipeline per burst)
RESYNC_PREFIX = "hotline-resync-"
OUTAGE_FACTS_MAX = 500_000  # facts read back after a restart (hours of a busy centre)
OUTAGE_CLOCK_SLACK_S = 300.0  # Redis's clock (the stream ids) against Asterisk's


class TrackerService:
    """Runs the tracker until `stop`; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        redis: Redis,
        *,
        clock: Callable[[], float] = time.time,
        heartbeat_s: float = HEARTBEAT_S,
        live_ttl_s: int | None = None,
        wrapup_s: float = 0.0,
        keep_finished: bool = False,
        live_every_s: float = LIVE_EVERY_S,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self.heartbeat_s = heartbeat_s
        self.live_every_s = live_every_s
        keys = settings.redis.keys
        self._redis, self._keys = redis, keys
        self._seen_id: str | None = None  # the stream's id the tracker before got to
        self._outage_since: float | None = None
        self.live = LiveState(
            redis,
            keys,
            threshold_s=settings.sl.threshold_s,
            short_abandon_s=settings.sl.short_abandon_s,
            ttl_s=live_ttl_s or int(heartbeat_s * 6),
        )
        self.tracker = CallTracker(
            # "calls today" by the hotline's calendar day
            AgentBoard(self.live, wrapup_s=wrapup_s, tz=ZoneInfo(settings.calendar.timezone)),
            keep_finished=keep_finished,
        )
        self.live.attach(self.tracker)
        self.outbox = FactOutbox(FactBus(redis, keys))
        self.manager = TrackerAmiManager(settings.ami, self.on_read, self.tracker.wanted_events)
        self.manager.add_login_hook(self._resync)
        self._wake = asyncio.Event()
        self._lists: dict[str, list[AmiMessage]] = {}
        self._resync_id = ""
        self.resyncs = 0
        self.resynced = asyncio.Event()  # set after each resync (cleared at each login)
        self.events = 0

    # -- the hot path (sync: called from data_received) ---------------------------------

    def on_read(self, messages: list[AmiMessage]) -> None:
        facts = []
        tracker = self.tracker
        for message in messages:
            if self._resync_id and "ActionID: " in message.text:
                facts += self._collect(message)
                continue
            facts += tracker.handle(message)
        self.events += len(messages)
        if facts:
            put = self.outbox.put
            for fact in facts:
                put(fact)
            self.live.collect(facts)
        if self.live.dirty:
            self._wake.set()

    # -- resynchronisation --------------------------------------------------------------

    async def _restore(self) -> None:
        """Take back the open calls a tracker before this one kept in Redis: the first
        resync closes those that ended meanwhile and continues the others."""
        try:
            calls = await load_open_calls(self._redis, self._keys)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("open calls of the tracker before not read (Redis): %s", exc)
            return
        for call in calls:
            self.tracker.restore(call)
        if calls:
            log.warning("took back %d open call(s) of the tracker before", len(calls))
        try:
            seen = await self._redis.get(self._keys.tracker_seen)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            seen = None
        self._seen_id = seen.decode() if isinstance(seen, bytes) else seen

    async def _read_outage_facts(self) -> None:
        """After a restart, the facts published since the tracker before wrote its open
        calls: `ticketed` ones of calls it never saw (the AGI told them meanwhile) and
        `ended` ones; and from a while before that point on (Redis's clock against
        Asterisk's), every call id (queue_log's) the facts tell, so that the resync
        tells from queue_log alone only the calls nothing told."""
        if not self._seen_id:
            return
        seen, self._seen_id = self._seen_id, None
        seen_at = _stream_id(seen)
        if seen_at is None:
            log.warning("the tracker before's stream position %r not understood", seen)
            return
        seen_s = seen_at[0] / 1000
        read_from_ms = max(seen_at[0] - int(2 * OUTAGE_CLOCK_SLACK_S * 1000), 0)
        try:
            entries = await self._redis.xrange(
                self._keys.facts, min=f"{read_from_ms}-0", max="+", count=OUTAGE_FACTS_MAX
            )
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("facts of the outage not read (Redis): %s", exc)
            return
        tickets: dict[str, tuple[CallTicketed, float]] = {}
        ended: set[str] = set()
        told: set[str] = set()
        told_joins: set[tuple[str, int]] = set()
        callids: dict[str, set[str]] = {}  # each ticketed call's channel Uniqueids
        for entry_id, fields in entries:
            kind = fields.get(b"kind")
            if kind not in (b"ticketed", b"ended", b"queued"):
                continue
            try:
                fact = load_fact(fields[b"fact"])
            except (ValidationError, KeyError):
                continue
            after = (_stream_id(entry_id) or (0, 0)) > seen_at
            if isinstance(fact, CallQueued):
                if fact.uniqueid:
                    told.add(fact.uniqueid)
                else:
                    told_joins.add((fact.queue, int(fact.at.timestamp())))
            elif isinstance(fact, CallTicketed):
                if fact.uniqueid:
                    told.add(fact.uniqueid)
                    callids.setdefault(fact.linkedid, set()).add(fact.uniqueid)
                if after and not fact.attached:
                    # told when the stream took it (the entry id's milliseconds)
                    told_at = int(entry_id.split(b"-")[0]) / 1000
                    tickets.setdefault(fact.linkedid, (fact, told_at))
            elif fact.kind == "ended" and after:
                ended.add(fact.linkedid)
        # Calls entering a queue from a while before that point on may be unseen ones
        # (`0-0`, an older tracker's mark of an empty stream, gives no such point).
        unseen_since = seen_s - OUTAGE_CLOCK_SLACK_S if seen_at[0] else None
        self.tracker.use_outage_facts(
            tickets,
            ended,
            unseen_since=unseen_since,
            told=told,
            told_joins=told_joins,
            callids=callids,
        )
        # queue_log from then on: its times are Asterisk's clock
        first = min((at for _fact, at in tickets.values()), default=None)
        if unseen_since is not None:
            self._outage_since = unseen_since
        elif first is not None:
            self._outage_since = first - OUTAGE_CLOCK_SLACK_S

    async def _read_queue_log(self) -> None:
        """Asterisk's queue_log since the oldest call the resync may close, for it."""
        path = self.settings.ami.queue_log
        starts = [call.started_at for call in self.tracker.calls.values()]
        if self._outage_since is not None:
            starts.append(self._outage_since)
            self._outage_since = None
        if not path or not starts:
            return
        self.tracker.use_queue_log(await asyncio.to_thread(read_queue_log, path, min(starts)))

    async def _resync(self, manager: object) -> None:
        """Login hook: ask for channels and queues; `_collect` applies them in-stream.
        queue_log is read first: a call gone from the snapshots ended before it."""
        self.resynced.clear()
        self.tracker.begin_resync()
        await self._read_outage_facts()
        await self._read_queue_log()
        self._resync_id = f"{RESYNC_PREFIX}{self.manager.logins}"
        self._lists = {"channels": [], "queues": []}
        channels = self.manager.send_action(
            {"Action": "CoreShowChannels", "ActionID": f"{self._resync_id}-channels"}
        )
        queues = self.manager.send_action(
            {"Action": "QueueStatus", "ActionID": f"{self._resync_id}-queues"}
        )
        for result in await asyncio.gather(channels, queues, return_exceptions=True):
            if isinstance(result, AmiError):
                # The session died or Asterisk did not answer: the next login tries again.
                log.warning("AMI resync failed: %s", result)
                self._resync_id = ""
                self.tracker.cancel_resync()
                return
            if isinstance(result, Exception):
                raise result

    def _collect(self, message: AmiMessage) -> list:
        action_id = message.get("ActionID")
        prefix = f"{self._resync_id}-"
        if not action_id.startswith(prefix):
            return self.tracker.handle(message)
        which = action_id[len(prefix) :]
        if which not in self._lists:
            return []
        self._lists[which].append(message)
        if message.name != "QueueStatusComplete":
            return []
        self._resync_id = ""
        try:
            facts = self.tracker.apply_resync(
                self._lists["channels"], self._lists["queues"], self._clock()
            )
        except (ValueError, KeyError, TypeError) as exc:
            # A snapshot we cannot read must not stop the event stream: carry on without.
            log.error("AMI resync not applied: %s", exc)
            self.tracker.cancel_resync()
            self.tracker.errors += 1
            facts = []
        self._lists = {}
        self.live.touch_queues()
        self.resyncs += 1
        self.resynced.set()
        log.info("AMI resync %d: %d facts", self.resyncs, len(facts))
        return facts

    # -- the loops ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Connect and run until `stop` is set; then flush what is left and close."""
        await self._restore()
        self.manager.connect()
        tasks = [
            asyncio.create_task(self.outbox.run(stop), name="fact-outbox"),
            asyncio.create_task(self._write_live(stop), name="live-writer"),
        ]
        try:
            await stop.wait()
        finally:
            await self.manager.aclose()
            self._wake.set()
            done, pending = await asyncio.wait(tasks, timeout=5.0)
            for task in pending:
                task.cancel()
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("tracker task %s failed", task.get_name(), exc_info=task.exception())

    async def _write_live(self, stop: asyncio.Event) -> None:
        last_beat = -self.heartbeat_s
        while True:
            await wait_any(self._wake, stop, timeout_s=self.heartbeat_s)
            if self.live_every_s and not stop.is_set():
                # Changes in a burst go out in one pipeline: a wallboard needs no fresher
                # figures than this, and Redis gets one write per burst, not per event.
                await wait_any(stop, timeout_s=self.live_every_s)
            self._wake.clear()
            now = self._clock()
            beat = time.monotonic()  # the heartbeat runs on real time, whatever `clock` says
            try:
                if beat - last_beat >= self.heartbeat_s:
                    self.tracker.agents.end_wrapups(now)
                    await self.live.refresh(now)
                    last_beat = beat
                await self.live.flush(now)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                # The changes stay collected; the next wake-up or heartbeat retries.
                log.warning("live state not written, Redis unreachable: %s", exc)
                if not stop.is_set():
                    await wait_any(stop, timeout_s=min(1.0, self.heartbeat_s))
                    self._wake.set()
            if stop.is_set() and not self.live.dirty:
                return
            if stop.is_set():
                # One last try, then give up: the TTLs clear what is left.
                try:
                    await self.live.flush(self._clock())
                except (RedisConnectionError, RedisTimeoutError, OSError):
                    pass
                return


def _stream_id(entry_id: str | bytes) -> tuple[int, int] | None:
    """A stream entry id (`<ms>-<seq>`) as numbers to compare, None if it is not one."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, sep, seq = text.partition("-")
    if not (ms.isdigit() and seq.isdigit() and sep):
        return None
    return int(ms), int(seq)
