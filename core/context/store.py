"""The call context in Redis, keyed by Linkedid: the one counter of a call's transfers.

Keys (`<prefix>:call:<linkedid>`, `RedisKeys.call_context`), all with a TTL of
`CONTEXT_TTL_S` refreshed on every change, so the context outlives any Hotline process
but not the day:
- `` (hash): uin, ticket_id, caller_num, caller_name (Asterisk's caller ID),
  caller_full_name, org_inn, summary, agent (who has the caller now), count (transfers
  counted), chain (JSON list of {n, from, to, how});
- `:res` (hash): token -> JSON reservation {token, agent, to, mode, how, at, context, n?}.
  A reservation takes a slot before the transfer is made (API, AGI route); it is counted
  (`n` set) when the transfer is known to have happened, and matched once by the AMI
  event that reports it, so the event does not count it again;
- `:seen` (hash): fact key -> the n it was given (a fact delivered twice counts once);
  also the marks of facts a reader has handled (`marked`, `mark`), so that a fact
  delivered again changes nothing there either.

The context's `refused` field counts the tries turned down at the limit (a softphone
transfer's AGI route, or the API), when they were turned down.

A softphone transfer is reported by Asterisk (`BlindTransfer` into the phone transfer
context) whatever the AGI route then decides, and in either order with the route's run.
Such an event counts only as the route's allowed transfer; with the limit reached and no
reservation to match, it is a try the route turns down, and counts nothing.

Every step that reads and changes the counter is one Lua script, so two paths (the API
and a softphone transfer, two recorders) can never both take the last slot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from core.context.model import CallContext
from core.keys import RedisKeys

CONTEXT_TTL_S = 24 * 3600
RESERVATION_TTL_S = 120.0  # an uncounted reservation frees its slot after this long

# Uncounted reservations older than ARGV[ttl] are dropped first (an Atxfer nobody completed).
_PURGE = """
local function purge(res, now, ttl)
  local all = redis.call('HGETALL', res)
  for i = 1, #all, 2 do
    local r = cjson.decode(all[i + 1])
    if r.n == nil and now - r.at > ttl then redis.call('HDEL', res, all[i]) end
  end
end
local function uncounted(res)
  local all = redis.call('HGETALL', res)
  local k = 0
  for i = 2, #all, 2 do
    if cjson.decode(all[i]).n == nil then k = k + 1 end
  end
  return k
end
local function touch(ttl_s)
  for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ttl_s) end
end
local function count_one(ctx, r, how)
  local n = tonumber(redis.call('HGET', ctx, 'count') or '0') + 1
  redis.call('HSET', ctx, 'count', n)
  local chain = cjson.decode(redis.call('HGET', ctx, 'chain') or '[]')
  if #chain == 0 then chain = {} end
  table.insert(chain, {n = n, from = r.agent or '', to = r.to or '', to_agent = r.to_agent or '',
                       how = how})
  redis.call('HSET', ctx, 'chain', cjson.encode(chain))
  if r.to_agent and r.to_agent ~= '' then redis.call('HSET', ctx, 'agent', r.to_agent) end
  return n
end
"""

# KEYS: ctx, res. ARGV: reservation JSON, limit, now, reservation ttl, context ttl, adopt.
# Returns {n projected, count, adopted}; n = -1 when the limit is reached. With adopt=1
# (a blind transfer's route) a blind transfer already counted from its event is adopted.
_CLAIM = (
    _PURGE
    + """
local r = cjson.decode(ARGV[1])
local limit, now = tonumber(ARGV[2]), tonumber(ARGV[3])
purge(KEYS[2], now, tonumber(ARGV[4]))
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if ARGV[6] == '1' then
  -- A blind transfer's event may have been counted before the route runs: adopt it.
  local all, best, field = redis.call('HGETALL', KEYS[2]), nil, nil
  for i = 1, #all, 2 do
    local e = cjson.decode(all[i + 1])
    if e.adoptable and e.to == r.to and (e.agent == r.agent or e.agent == '') then
      if best == nil or e.n < best.n then best, field = e, all[i] end
    end
  end
  if best then
    best.adoptable = false
    redis.call('HSET', KEYS[2], field, cjson.encode(best))
    -- Made already but over the limit: refused below, the dialplan returns the caller.
    if best.n <= limit then return {best.n, count, 1} end
  end
end
local used = count + uncounted(KEYS[2])
if used >= limit then
  redis.call('HINCRBY', KEYS[1], 'refused', 1)
  touch(tonumber(ARGV[5]))
  return {-1, count, 0}
end
redis.call('HSET', KEYS[2], r.token, ARGV[1])
touch(tonumber(ARGV[5]))
return {used + 1, count, 0}
"""
)

# KEYS: ctx, res. ARGV: token, context ttl. Counts a reservation (idempotent).
# Returns n, or -2 when the reservation is gone (expired or released).
_COUNT = (
    _PURGE
    + """
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return -2 end
local r = cjson.decode(raw)
if r.n ~= nil then return r.n end
r.n = count_one(KEYS[1], r, r.how)
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(r))
touch(tonumber(ARGV[2]))
return r.n
"""
)

# KEYS: ctx, res, seen. ARGV: fact key, agent, how, to, context ttl, the agent behind `to`,
# '1' if it went to the phone transfer context (its AGI route decides), limit.
# A transfer event: absorbed by a reservation (the agent's first, else any), else counted;
# a phone transfer at the limit is a refused try: n = 0, nothing counted.
# Returns {n, reservation JSON or ''}.
_EVENT = (
    _PURGE
    + """
local seen = redis.call('HGET', KEYS[3], ARGV[1])
if seen then return cjson.decode(seen) end
local all = redis.call('HGETALL', KEYS[2])
local best, best_score = nil, -1
for i = 1, #all, 2 do
  local r = cjson.decode(all[i + 1])
  if not r.matched then
    local score = 0
    if r.agent == ARGV[2] then score = score + 2 end
    if r.n ~= nil then score = score + 1 end
    if ARGV[2] == '' or r.agent == ARGV[2] then
      if score > best_score then best, best_score = r, score end
    end
  end
end
local result
if best then
  if best.n == nil then best.n = count_one(KEYS[1], best, best.how) end
  best.matched = true
  redis.call('HSET', KEYS[2], best.token, cjson.encode(best))
  result = {best.n, cjson.encode(best)}
elseif ARGV[7] == '1' and tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
    + uncounted(KEYS[2]) >= tonumber(ARGV[8]) then
  result = {0, ''}
else
  local n = count_one(KEYS[1], {agent = ARGV[2], to = ARGV[4], to_agent = ARGV[6]}, ARGV[3])
  -- Kept so the AGI route of this very transfer, if it runs after, adopts it.
  local e = {token = 'ev:' .. ARGV[1], agent = ARGV[2], to = ARGV[4], n = n,
             matched = true, adoptable = (ARGV[3] == 'blind')}
  redis.call('HSET', KEYS[2], e.token, cjson.encode(e))
  result = {n, ''}
end
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(result))
touch(tonumber(ARGV[5]))
return result
"""
)

# KEYS: ctx, res. ARGV: token. Frees an uncounted reservation; 1 if it was freed.
_RELEASE = """
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return 0 end
if cjson.decode(raw).n ~= nil then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""

# KEYS: ctx, res. ARGV: agent. Frees the agent's uncounted reservations; how many.
_RELEASE_AGENT = """
local all, freed = redis.call('HGETALL', KEYS[2]), 0
for i = 1, #all, 2 do
  local r = cjson.decode(all[i + 1])
  if r.n == nil and r.agent == ARGV[1] then
    redis.call('HDEL', KEYS[2], all[i])
    freed = freed + 1
  end
end
return freed
"""


@dataclass(frozen=True)
class Reservation:
    token: str
    agent: str  # who transfers
    to: str  # extension, agent or queue as asked
    mode: str  # blind | attended
    how: str  # api | blind | attended | redirect
    at: float
    context: dict[str, str]
    to_agent: str = ""  # the agent the caller goes to, when it is one
    n: int | None = None

    def to_json(self) -> str:
        data: dict[str, Any] = {k: v for k, v in self.__dict__.items() if v is not None}
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Reservation:
        data = json.loads(raw)
        data.pop("matched", None)
        return cls(**data)


@dataclass(frozen=True)
class EventCount:
    """What a transfer event counted as: its n, and the reservation it matched if any."""

    n: int
    reservation: Reservation | None


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


def _by_call(marks: list[tuple[str, str]]) -> dict[str, list[str]]:
    by_call: dict[str, list[str]] = {}
    for linkedid, name in marks:
        by_call.setdefault(linkedid, []).append(name)
    return by_call


def _context(raw: dict[Any, Any]) -> CallContext | None:
    """The model of a context hash (None when there is none)."""
    if not raw:
        return None
    data: dict[str, Any] = {_text(k): _text(v) for k, v in raw.items()}
    data["count"] = int(data.get("count") or 0)
    data["refused"] = int(data.get("refused") or 0)
    # Lua's cjson writes an empty list as `{}`.
    data["chain"] = json.loads(data.get("chain") or "[]") or []
    return CallContext.model_validate(data)


class CallContextStore:
    """Reads and changes call contexts; every counter change is one atomic script."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        *,
        limit: int = 2,
        reservation_ttl_s: float = RESERVATION_TTL_S,
        ttl_s: int = CONTEXT_TTL_S,
    ) -> None:
        self.redis = redis
        self.prefix = keys.call_context
        self.limit = limit
        self.reservation_ttl_s = reservation_ttl_s
        self.ttl_s = ttl_s
        self._claim = redis.register_script(_CLAIM)
        self._count = redis.register_script(_COUNT)
        self._event = redis.register_script(_EVENT)
        self._release = redis.register_script(_RELEASE)
        self._release_agent = redis.register_script(_RELEASE_AGENT)

    def _keys(self, linkedid: str) -> list[str]:
        base = f"{self.prefix}{linkedid}"
        return [base, f"{base}:res", f"{base}:seen"]

    async def get(self, linkedid: str) -> CallContext | None:
        """The call's context, or None if unknown."""
        return _context(await self.redis.hgetall(self._keys(linkedid)[0]))

    async def get_many(self, linkedids: list[str]) -> dict[str, CallContext | None]:
        """The contexts of several calls in one round trip."""
        if not linkedids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for linkedid in linkedids:
                pipe.hgetall(self._keys(linkedid)[0])
            replies = await pipe.execute()
        return {linkedid: _context(raw) for linkedid, raw in zip(linkedids, replies, strict=True)}

    async def marked(self, marks: list[tuple[str, str]]) -> list[bool]:
        """Whether each (linkedid, mark) was made before, in one round trip."""
        by_call = _by_call(marks)
        if not by_call:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for linkedid, names in by_call.items():
                pipe.hmget(self._keys(linkedid)[2], names)
            replies = await pipe.execute()
        found = {
            (linkedid, name)
            for (linkedid, names), values in zip(by_call.items(), replies, strict=True)
            for name, value in zip(names, values, strict=True)
            if value is not None
        }
        return [mark in found for mark in marks]

    async def mark(self, marks: list[tuple[str, str]]) -> None:
        """Make these (linkedid, mark); they last as long as the call's context."""
        by_call = _by_call(marks)
        if not by_call:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for linkedid, names in by_call.items():
                seen = self._keys(linkedid)[2]
                pipe.hset(seen, mapping=dict.fromkeys(names, 1))
                pipe.expire(seen, self.ttl_s)
            await pipe.execute()

    async def update(self, linkedid: str, **fields: str) -> None:
        """Set context fields (empty values are skipped: they never erase what is known)."""
        await self.update_many({linkedid: fields})

    async def update_many(self, updates: dict[str, dict[str, str]]) -> None:
        """`update` for several calls in one transaction (one round trip)."""
        mappings = {
            linkedid: mapping
            for linkedid, fields in updates.items()
            if (mapping := {k: v for k, v in fields.items() if v})
        }
        if not mappings:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            for linkedid, mapping in mappings.items():
                key = self._keys(linkedid)[0]
                pipe.hset(key, mapping=mapping)
                pipe.hsetnx(key, "count", 0)
                pipe.expire(key, self.ttl_s)
            await pipe.execute()

    async def claim(
        self, linkedid: str, reservation: Reservation, *, adopt: bool = False
    ) -> tuple[int, int]:
        """Take a slot: (n it will have, transfers counted so far); n = -1 at the limit.

        `adopt`: a blind transfer reported by its event already (counted then) is this
        one; its n is returned and nothing more is counted.
        """
        keys = self._keys(linkedid)[:2]
        n, count, _adopted = await self._claim(
            keys=keys,
            args=[
                reservation.to_json(),
                self.limit,
                reservation.at,
                self.reservation_ttl_s,
                self.ttl_s,
                "1" if adopt else "0",
            ],
        )
        return int(n), int(count)

    async def count(self, linkedid: str, token: str) -> int | None:
        """Count a reservation's transfer now (it happened); its n, None if it is gone."""
        n = int(await self._count(keys=self._keys(linkedid)[:2], args=[token, self.ttl_s]))
        return None if n < 0 else n

    async def refused_total(self) -> int:
        """Tries refused at the limit over every call context still kept (the demo's figure)."""
        total = 0
        async for key in self.redis.scan_iter(match=f"{self.prefix}*", count=500):
            name = _text(key)
            if ":" not in name[len(self.prefix) :]:  # the context itself, not :res / :seen
                total += int(_text(await self.redis.hget(name, "refused")) or 0)
        return total

    async def release(self, linkedid: str, token: str) -> bool:
        """Give back an uncounted reservation's slot (the transfer did not happen)."""
        return bool(await self._release(keys=self._keys(linkedid)[:2], args=[token]))

    async def release_agent(self, linkedid: str, agent: str) -> int:
        """Give back every uncounted slot `agent` took (their attended transfer was
        cancelled); how many."""
        keys = self._keys(linkedid)[:2]
        return int(await self._release_agent(keys=keys, args=[agent]))

    async def on_event(
        self,
        linkedid: str,
        key: str,
        agent: str,
        how: str,
        to: str,
        to_agent: str = "",
        *,
        phone: bool = False,
    ) -> EventCount:
        """A transfer Asterisk reported (fact `key`): counted once, whoever announced it.
        `to_agent`: the agent behind the extension `to`, for the chain. `phone`: it went to
        the phone transfer context, whose AGI route decides; n = 0 when that is a try at
        the limit (refused by the route, not a transfer)."""
        n, raw = await self._event(
            keys=self._keys(linkedid),
            args=[key, agent, how, to, self.ttl_s, to_agent, "1" if phone else "0", self.limit],
        )
        text = _text(raw)
        return EventCount(int(n), Reservation.from_json(text) if text else None)
