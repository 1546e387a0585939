"""The tracker's live state in Redis: waiting callers per queue, agents, today's outcomes.

`LiveState` is the tracker's `AgentStateSink`; it also reads the open queue entries
from the tracker. Changes are collected while events are handled (no I/O there) and
written by `flush()` in one pipeline, so a read of many events costs one round trip.
Every key has a TTL (`ttl_s`), refreshed by each flush and by `refresh()` (the
tracker's heartbeat): a tracker that dies leaves nothing behind once the TTL runs out.
Each flush that changed something publishes one message on `<prefix>:live:changes`.

Keys (`<prefix>:live:`, `RedisKeys.live`):
- `queues` (set) names; `queue:<q>:waiting` (hash) `linkedid:entry` -> JSON
  {linkedid, entry, caller_num, caller_name, joined_at, position};
- `queue:<q>:done` (sorted set, score = time) JSON of each answered or abandoned entry
  of the last `DONE_KEEP_S` (live service level: today, rolling 15 and 60 minutes);
- `queue:<q>:counters` (hash) offered (entries into the queue), answered,
  answered_within (wait <= T), abandoned: counters for Prometheus, counted since the
  tracker started (a restart is a counter reset, which Prometheus expects);
- `queue:<q>:agents` (hash) agent name -> JSON {answered, completed, talk_s,
  ring_no_answer}: the same kind of counters per agent in the queue (answered entries,
  entries whose talk ended with `AgentComplete`, their `TalkTime` summed, rings that
  went unanswered), for Prometheus; a queue's talk time is its agents' sum, so a
  tracker's first write of the hash replaces its predecessor's;
- `agents` (set) names; `agent:<name>` (hash) status, paused, paused_reason,
  paused_since, calls_today, day, linkedid, caller_num, caller_name (of the call it rings
  for or talks to), since, queues, interface;
- `tracker` (string) the time of the tracker's latest heartbeat (`refresh`).

And the tracker's open calls (`RedisKeys.open_calls`, see `checkpoint`): those a batch
touched at each flush, all of them at each heartbeat.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from callqueue.agents import AgentState, AgentStateSink
from callqueue.checkpoint import OPEN_CALLS_TTL_S, dump_call
from core.facts import (
    AGENT_FACTS,
    AgentRingNoAnswer,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallFact,
    CallQueued,
)
from core.keys import RedisKeys
from core.service_level import DEFAULT_SHORT_ABANDON_S, DEFAULT_THRESHOLD_S, answered_within

if TYPE_CHECKING:
    from callqueue.tracker import CallTracker

log = logging.getLogger(__name__)

# The fact stream's last id, kept for a restarted tracker (`RedisKeys.tracker_seen`);
# with no fact yet, the millisecond before now: a restarted tracker reads queue_log for
# calls no one saw from about then, not the whole file from before Hotline was there.
_MARK_SEEN = """
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local id
if last[1] then
  id = last[1][1]
else
  local now = redis.call('TIME')
  id = string.format('%.0f-0', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - 1)
end
redis.call('SET', KEYS[1], id, 'EX', ARGV[1])
return id
"""
DONE_KEEP_S = 26 * 3600  # "today" in any time zone, plus the last hour
MAX_PENDING_DONE = 100_000  # outcomes kept for Redis while it is down
COUNTERS = ("offered", "answered", "answered_within", "abandoned")
AGENT_COUNTERS = ("answered", "completed", "talk_s", "ring_no_answer")
_QUEUE_FACTS = {"queued", "answered", "abandoned", "transferred", "ended"}


class LiveState(AgentStateSink):
    """Collects live-state changes while events are handled; `flush()` writes them."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        *,
        threshold_s: int = DEFAULT_THRESHOLD_S,
        short_abandon_s: int = DEFAULT_SHORT_ABANDON_S,
        ttl_s: int = 120,
    ) -> None:
        if ttl_s < 1:
            raise ValueError("the live-state TTL must be at least 1 s")
        self._redis = redis
        self.threshold_s = threshold_s
        self.short_abandon_s = short_abandon_s
        self.ttl_s = ttl_s
        self.prefix = keys.live
        self.channel = keys.live_changes
        self.open_calls_key = keys.open_calls
        self._seen_keys = [keys.tracker_seen, keys.facts]
        self._calls_dirty: set[str] = set()  # linkedids whose open-call record is stale
        self.tracker: CallTracker | None = None
        self._agents: dict[str, AgentState | None] = {}  # None: removed
        self._done: list[tuple[float, str, dict[str, object]]] = []
        self._queues: set[str] = set()
        self._queues_dirty = False
        # counters since this tracker started; written whole, so a failed write loses none
        self._counters: dict[str, dict[str, int]] = {}
        self._counters_dirty: set[str] = set()
        # per queue and agent, the same way (`AGENT_COUNTERS`)
        self._agent_counters: dict[str, dict[str, dict[str, float]]] = {}
        self._agent_counters_dirty: set[tuple[str, str]] = set()
        self._agent_counters_written: set[str] = set()  # queues whose hash is this tracker's
        self._expired_at: dict[str, float] = {}  # key -> when its TTL was last set (monotonic)
        self._waiting_written: dict[str, dict[str, str]] = {}
        self.dropped = 0
        self.flushes = 0

    # -- collecting (sync, called while events are handled) ---------------------------

    def attach(self, tracker: CallTracker) -> None:
        self.tracker = tracker

    def agent_changed(self, agent: AgentState) -> None:
        self._agents[agent.name] = agent

    def agent_removed(self, name: str) -> None:
        self._agents[name] = None

    def collect(self, facts: list[CallFact]) -> None:
        """Note what `facts` change: waiting lists, outcomes and counters."""
        for fact in facts:
            if isinstance(fact, AgentRingNoAnswer):
                self._count_agent(fact.queue, fact.agent, "ring_no_answer")
            if isinstance(fact, AGENT_FACTS):
                continue  # an agent's facts carry no call; its state comes as the agent's
            if isinstance(fact, CallCompleted) and fact.agent:
                self._count_agent(fact.queue, fact.agent, "completed")
                self._count_agent(fact.queue, fact.agent, "talk_s", fact.talk_s)
            self._calls_dirty.add(fact.linkedid)
            if fact.kind == "started":
                self._caller_known(fact.linkedid)
            if fact.kind not in _QUEUE_FACTS:
                continue
            self._queues_dirty = True
            if isinstance(fact, CallQueued):
                self._count(fact.queue, "offered")
            elif isinstance(fact, CallAnswered):
                self._done.append((fact.at.timestamp(), fact.queue, self._outcome(fact)))
                self._count(fact.queue, "answered")
                within = answered_within(fact.wait_s, self.threshold_s)
                self._count(fact.queue, "answered_within", int(within))
                if fact.agent:
                    self._count_agent(fact.queue, fact.agent, "answered")
            elif isinstance(fact, CallAbandoned):
                self._done.append((fact.at.timestamp(), fact.queue, self._outcome(fact)))
                self._count(fact.queue, "abandoned")
        if len(self._done) > MAX_PENDING_DONE:
            excess = len(self._done) - MAX_PENDING_DONE
            del self._done[:excess]
            self.dropped += excess
            log.error("live state: %d outcomes dropped while Redis was down", self.dropped)

    def _caller_known(self, linkedid: str) -> None:
        """The caller's number or name came: rewrite where they show (the waiting list,
        the agent ringing for or talking to the call)."""
        if self.tracker is None:
            return
        call = self.tracker.calls.get(linkedid)
        if call is not None and any(e.outcome == "waiting" for e in call.entries):
            self._queues_dirty = True
        for agent in self.tracker.agents.agents.values():
            if agent.linkedid == linkedid:
                self._agents[agent.name] = agent

    def _count(self, queue: str, field: str, n: int = 1) -> None:
        counters = self._counters.get(queue)
        if counters is None:
            counters = self._counters[queue] = dict.fromkeys(COUNTERS, 0)
        counters[field] += n
        self._counters_dirty.add(queue)

    def _count_agent(self, queue: str, agent: str, field: str, n: float = 1) -> None:
        counters = self._agent_counters.setdefault(queue, {}).get(agent)
        if counters is None:
            counters = self._agent_counters[queue][agent] = dict.fromkeys(AGENT_COUNTERS, 0)
        counters[field] += n
        self._agent_counters_dirty.add((queue, agent))
        self._queues_dirty = True  # a queue seen only here joins `queues`

    def touch_queues(self) -> None:
        """Rewrite the waiting lists at the next flush (after a resync, say)."""
        self._queues_dirty = True

    @property
    def dirty(self) -> bool:
        return bool(
            self._agents
            or self._done
            or self._counters_dirty
            or self._agent_counters_dirty
            or self._queues_dirty
            or self._calls_dirty
        )

    def _outcome(self, fact: CallAnswered | CallAbandoned) -> dict[str, object]:
        # The tracker's facts carry app_queue's whole seconds (HoldTime); int() is the
        # stand-in for a fact without them.
        whole_s = fact.wait_whole_s if fact.wait_whole_s is not None else int(fact.wait_s)
        return {
            "linkedid": fact.linkedid,
            "entry": fact.entry,
            "queue": fact.queue,
            "outcome": fact.kind,
            "wait_s": fact.wait_s,
            "wait_whole_s": whole_s,
            "agent": getattr(fact, "agent", ""),
            "at": fact.at.timestamp(),
        }

    # -- writing ------------------------------------------------------------------------

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _expire(self, pipe: Any, key: str) -> None:
        """Set the TTL of `key` unless it was set within the last quarter TTL: writes
        keep a key's TTL, and a key can only have expired if its TTL is older than that."""
        mono = time.monotonic()
        if mono - self._expired_at.get(key, -1e18) >= self.ttl_s / 4:
            pipe.expire(key, self.ttl_s)
            self._expired_at[key] = mono

    async def flush(self, now: float) -> bool:
        """Write what changed in one pipeline; False if nothing had changed.

        Redis errors propagate and the changes stay collected for the next try.
        """
        if not self.dirty:
            return False
        pipe = self._redis.pipeline(transaction=False)
        changed_agents = list(self._agents)
        present = []
        for name, agent in self._agents.items():
            key = self.key("agent", name)
            if agent is None:
                pipe.delete(key)
                pipe.srem(self.key("agents"), name)
                self._expired_at.pop(key, None)
                continue
            pipe.hset(key, mapping=self._agent_fields(agent))
            self._expire(pipe, key)
            present.append(name)
        if present:
            pipe.sadd(self.key("agents"), *present)
            self._expire(pipe, self.key("agents"))
        queues = self._write_waiting(pipe) if self._queues_dirty else set()
        # One command per queue and kind, however many outcomes this batch holds.
        done: dict[str, dict[str, float]] = {}
        for at, queue, row in self._done:
            done.setdefault(queue, {})[json.dumps(row, sort_keys=True)] = at
        for queue, members in done.items():
            key = self.key("queue", queue, "done")
            pipe.zadd(key, members)
            self._expire(pipe, key)
        for queue in self._counters_dirty:
            key = self.key("queue", queue, "counters")
            pipe.hset(key, mapping=self._counters[queue])
            self._expire(pipe, key)
        by_queue: dict[str, dict[str, str]] = {}
        for queue, agent in self._agent_counters_dirty:
            row = json.dumps(self._agent_counters[queue][agent], sort_keys=True)
            by_queue.setdefault(queue, {})[agent] = row
        for queue, rows in by_queue.items():
            key = self.key("queue", queue, "agents")
            if queue not in self._agent_counters_written:
                # This tracker's counters start from zero: a predecessor's agents left
                # beside them would make the queue's sums neither theirs nor ours.
                pipe.delete(key)
                self._expired_at.pop(key, None)
                rows = {
                    agent: json.dumps(counters, sort_keys=True)
                    for agent, counters in self._agent_counters[queue].items()
                }
            pipe.hset(key, mapping=rows)
            self._expire(pipe, key)
        self._agent_counters_written |= set(by_queue)
        queues |= self._counters_dirty | set(by_queue)
        calls_written = self._write_open_calls(pipe)
        change = {"at": now, "agents": changed_agents, "queues": sorted(queues)}
        pipe.publish(self.channel, json.dumps(change))
        # Taken out before the await: the AMI reader goes on collecting while the pipeline
        # is in flight (`collect` runs from data_received), and what it collects then is
        # not in this pipeline. Clearing the collections after the await lost it: an
        # outcome (a live figure short by one answer), an agent's change, a counter.
        agents, self._agents = self._agents, {}
        outcomes, self._done = self._done, []
        counters, self._counters_dirty = self._counters_dirty, set()
        agent_counters, self._agent_counters_dirty = self._agent_counters_dirty, set()
        queues_dirty, self._queues_dirty = self._queues_dirty, False
        self._calls_dirty -= calls_written  # written as they are now; touched again: again
        try:
            await pipe.execute()
        except Exception:
            # Unknown what was written: forget what we believe is in Redis, and collect
            # again what this pipeline carried, before what came meanwhile.
            self._expired_at.clear()
            self._waiting_written.clear()
            self._agent_counters_written.clear()
            self._agents = {**agents, **self._agents}
            self._done = outcomes + self._done
            self._counters_dirty |= counters
            self._agent_counters_dirty |= agent_counters
            self._queues_dirty = self._queues_dirty or queues_dirty
            self._calls_dirty |= calls_written
            raise
        self.flushes += 1
        return True

    def _write_open_calls(self, pipe: Any) -> set[str]:
        """Write the open calls the collected facts touched; drop those that ended."""
        if self.tracker is None:
            return set()
        calls = self.tracker.calls
        for linkedid in self._calls_dirty:
            call = calls.get(linkedid)
            if call is None:
                pipe.hdel(self.open_calls_key, linkedid)
            else:
                pipe.hset(self.open_calls_key, linkedid, dump_call(call))
        return set(self._calls_dirty)

    def _write_waiting(self, pipe: Any) -> set[str]:
        """Replace each queue's waiting hash with the tracker's open entries."""
        waiting: dict[str, dict[str, str]] = {}
        if self.tracker is not None:
            for call in self.tracker.calls.values():
                for entry in call.entries:
                    if entry.outcome != "waiting":
                        continue
                    row = {
                        "linkedid": entry.linkedid,
                        "entry": entry.entry,
                        "caller_num": entry.caller_num,
                        "caller_name": entry.caller_name,
                        "joined_at": entry.joined_at,
                        "position": entry.position,
                    }
                    waiting.setdefault(entry.queue, {})[f"{entry.linkedid}:{entry.entry}"] = (
                        json.dumps(row, ensure_ascii=False)
                    )
        changed = set()
        for queue in self._queues | set(waiting):
            rows = waiting.get(queue, {})
            if rows == self._waiting_written.get(queue):
                continue  # unchanged: nothing to write
            changed.add(queue)
            key = self.key("queue", queue, "waiting")
            pipe.delete(key)
            self._expired_at.pop(key, None)
            if rows:
                pipe.hset(key, mapping=rows)
                self._expire(pipe, key)
            self._waiting_written[queue] = rows
        new_queues = (
            set(waiting)
            | {q for _, q, _ in self._done}
            | self._counters_dirty
            | {q for q, _ in self._agent_counters_dirty}
        ) - self._queues
        if new_queues:
            self._queues |= new_queues
            pipe.sadd(self.key("queues"), *self._queues)
        if self._queues:
            self._expire(pipe, self.key("queues"))
        return changed

    def _agent_fields(self, agent: AgentState) -> dict[str, str | int | float]:
        call = self.tracker.calls.get(agent.linkedid) if self.tracker and agent.linkedid else None
        return {
            "name": agent.name,
            "interface": agent.interface,
            "status": agent.status,
            "paused": int(agent.paused),
            "paused_reason": agent.paused_reason,
            "paused_since": agent.paused_since,
            "calls_today": agent.calls_today,
            "calls_taken": agent.calls_taken,
            "day": agent.day,
            "linkedid": agent.linkedid,
            "caller_num": call.caller_num if call else "",
            "caller_name": call.caller_name if call else "",
            "since": agent.since,
            "queues": ",".join(sorted(agent.queues)),
        }

    async def refresh(self, now: float) -> None:
        """The heartbeat: keep every key alive for another `ttl_s`; the next flush
        rewrites the waiting lists."""
        ttl = self.ttl_s
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self.key("tracker"), repr(now), ex=ttl)
        keys = [self.key("queues"), self.key("agents")]
        for queue in self._queues:
            parts = ("waiting", "done", "counters", "agents")
            keys += [self.key("queue", queue, part) for part in parts]
        if self.tracker is not None:
            keys += [self.key("agent", name) for name in self.tracker.agents.agents]
        mono = time.monotonic()
        for key in keys:
            pipe.expire(key, ttl)
        if self._queues:
            pipe.sadd(self.key("queues"), *self._queues)
            pipe.expire(self.key("queues"), ttl)
        for queue in self._queues:
            pipe.zremrangebyscore(self.key("queue", queue, "done"), "-inf", now - DONE_KEEP_S)
        if self.tracker is not None:
            # The whole of the open calls again (a state changed without a fact, too),
            # and how far the fact stream went: a successor reads the facts after it.
            pipe.eval(_MARK_SEEN, 2, *self._seen_keys, OPEN_CALLS_TTL_S)
            pipe.delete(self.open_calls_key)
            if self.tracker.calls:
                pipe.hset(
                    self.open_calls_key,
                    mapping={k: dump_call(c) for k, c in self.tracker.calls.items()},
                )
                pipe.expire(self.open_calls_key, OPEN_CALLS_TTL_S)
        await pipe.execute()
        for key in keys:
            self._expired_at[key] = mono
        # Rewrite the waiting lists at the next flush, in case one expired unchanged.
        self._waiting_written.clear()
        self._queues_dirty = True
