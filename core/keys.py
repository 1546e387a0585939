"""The Redis key schema: every key, stream and channel name Hotline uses, in one place.

Everything sits under the install's prefix (`HOTLINE_REDIS_PREFIX`, `hotline` by
default) and a colon. Pub/sub channels are global to a Redis server whatever the database
number, so the prefix is what keeps one install's channels (screen pops carry callers'
names) apart from another's on the same Redis. No name is a module constant: a component
is handed the `RedisKeys` of its settings (`settings.redis.keys`) and asks it for names.

| name (under `<prefix>:`) | kind | written by | read by |
|---|---|---|---|
| `facts` | stream (and its consumer groups) | tracker, AGI (`core.bus`) | recorder, screen pops |
| `facts:dead` | stream | recorder | operators |
| `live:...` | hashes, sorted sets | tracker | supervisor API, transfers |
| `live:changes` | channel | tracker | supervisor SSE |
| `tracker:open-calls` | hash | tracker (its open calls) | the tracker after a restart |
| `tracker:seen` | string | tracker (the stream's last id) | the tracker after a restart |
| `call:<linkedid>[:res|:seen]` | hashes | `core.context` | AGI, CRM |
| `agent-events:<agent>` | channel | `core.context.notifier` | agent SSE |
| `agent-last-pop:<agent>` | string (TTL) | `core.context.notifier` | the agent desk |
| `session:<id>` | strings (TTL) | CRM login | CRM pages and API (open while kept) |
| `agi:...` | lists, hashes | AGI (UIN stock, owed tickets and withdrawals) | AGI, CRM health |

>>> keys = RedisKeys("acme")
>>> keys.facts, keys.agent_events("agent1")
('acme:facts', 'acme:agent-events:agent1')
>>> keys.owns("acme:live:queues"), keys.owns("hotline:live:queues")
(True, False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PREFIX = "hotline"
# No colon (nor glob character): two different prefixes then never nest, so
# `SCAN MATCH <prefix>:*` of one install never lists a key of another.
PREFIX_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_prefix(prefix: str) -> str:
    """`prefix` if it can name an install's keys; ValueError saying why otherwise."""
    if not PREFIX_PATTERN.fullmatch(prefix):
        raise ValueError(
            f"HOTLINE_REDIS_PREFIX: {prefix!r} is not a key prefix: 1-64 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit (no ':', no glob characters)"
        )
    return prefix


@dataclass(frozen=True)
class RedisKeys:
    """The names of one install's keys, streams and channels (see the module docstring)."""

    prefix: str

    def __post_init__(self) -> None:
        check_prefix(self.prefix)

    @property
    def root(self) -> str:
        """What every name of this install starts with."""
        return f"{self.prefix}:"

    def owns(self, name: str) -> bool:
        """Whether `name` is one of this install's."""
        return name.startswith(self.root)

    # -- the fact stream --------------------------------------------------------------

    @property
    def facts(self) -> str:
        return f"{self.root}facts"

    @property
    def dead_letters(self) -> str:
        return f"{self.facts}:dead"

    # -- the tracker's live state -------------------------------------------------------

    @property
    def live(self) -> str:
        """The prefix of the live-state keys (`live:queues`, `live:agent:<name>`, ...)."""
        return f"{self.root}live:"

    @property
    def live_changes(self) -> str:
        return f"{self.live}changes"

    def live_agent(self, agent: str) -> str:
        """The tracker's hash of one agent's live state (`linkedid` while on a call)."""
        return f"{self.live}agent:{agent}"

    @property
    def open_calls(self) -> str:
        """The tracker's open calls (linkedid -> JSON), so a restarted tracker has them."""
        return f"{self.root}tracker:open-calls"

    @property
    def tracker_seen(self) -> str:
        """The fact stream's last entry id when the tracker last wrote its open calls: a
        restarted tracker reads what was published after it (calls it never saw)."""
        return f"{self.root}tracker:seen"

    # -- call context and screen pops ---------------------------------------------------

    @property
    def call_context(self) -> str:
        """The prefix of the call contexts (`call:<linkedid>`, `:res`, `:seen`)."""
        return f"{self.root}call:"

    def agent_events(self, agent: str) -> str:
        """The pub/sub channel of one agent's screen pops."""
        return f"{self.root}agent-events:{agent}"

    def agent_last_pop(self, agent: str) -> str:
        """The last screen pop sent to the agent (a string, with a TTL): a desk opened or
        reconnected after it shows the call without waiting for the next one."""
        return f"{self.root}agent-last-pop:{agent}"

    # -- the pages' sessions ------------------------------------------------------------

    @property
    def web_session_prefix(self) -> str:
        return f"{self.root}session:"

    def web_session(self, session_id: str) -> str:
        """A logged-in browser session: its person's id, kept while the session is open."""
        return f"{self.web_session_prefix}{session_id}"

    # -- the AGI server's stock and debts -----------------------------------------------

    @property
    def uin_stock(self) -> str:
        return f"{self.root}agi:uin-stock"

    @property
    def uin_peak(self) -> str:
        """The most UINs callers took in a minute lately: a restarted AGI server's stock
        starts at that size."""
        return f"{self.root}agi:uin-peak"

    @property
    def pending_tickets(self) -> str:
        return f"{self.root}agi:pending-tickets"

    @property
    def pending_refused(self) -> str:
        """Owed tickets the CRM can never create, kept for a person."""
        return f"{self.root}agi:pending-refused"

    @property
    def pending_withdrawals(self) -> str:
        """New UINs withdrawn into a caller's existing request, owed while the CRM is away."""
        return f"{self.root}agi:pending-withdrawals"

    @property
    def withdrawals_refused(self) -> str:
        """Withdrawals the CRM said no to: for a person."""
        return f"{self.root}agi:withdrawals-refused"
