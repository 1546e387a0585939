"""The Redis key schema: every key, stream and channel name Hotline uses, in one place.

Everything sits under `hotline:`. Pub/sub channels are global to a Redis server whatever
the database number, so the prefix is what keeps one install's channels apart.

| name | kind | written by | read by |
|---|---|---|---|
| `hotline:facts` | stream | tracker, AGI (`core.bus`) | recorder, screen pops |
| `hotline:facts:dead` | stream | recorder | operators |
| `hotline:live:...` | hashes, sorted sets | tracker | supervisor API, transfers |
| `hotline:live:changes` | channel | tracker | supervisor SSE |
| `hotline:call:<linkedid>[:res|:seen]` | hashes | `core.context` | AGI, CRM |
| `hotline:agent-events:<agent>` | channel | `core.context.notifier` | agent SSE |
| `hotline:agi:...` | lists, hashes | AGI (UIN stock, owed tickets and withdrawals) | AGI |
| `hotline:session:<id>` | strings (TTL) | CRM login | CRM pages and API (open while kept) |
"""

from __future__ import annotations

ROOT = "hotline:"

FACT_STREAM = f"{ROOT}facts"
DEAD_LETTERS = f"{FACT_STREAM}:dead"

LIVE_PREFIX = f"{ROOT}live:"
LIVE_CHANGES_CHANNEL = f"{LIVE_PREFIX}changes"


def live_agent(agent: str, prefix: str = LIVE_PREFIX) -> str:
    """The tracker's hash of one agent's live state (`linkedid` while on a call)."""
    return f"{prefix}agent:{agent}"


CALL_CONTEXT_PREFIX = f"{ROOT}call:"
AGENT_EVENTS_PREFIX = f"{ROOT}agent-events:"


def agent_events(agent: str) -> str:
    """The pub/sub channel of one agent's screen pops."""
    return f"{AGENT_EVENTS_PREFIX}{agent}"


WEB_SESSION_PREFIX = f"{ROOT}session:"


def web_session(session_id: str) -> str:
    """A logged-in browser session: its person's id, kept while the session is open."""
    return f"{WEB_SESSION_PREFIX}{session_id}"


AGI_UIN_STOCK = f"{ROOT}agi:uin-stock"
AGI_PENDING_TICKETS = f"{ROOT}agi:pending-tickets"
AGI_PENDING_REFUSED = f"{ROOT}agi:pending-refused"  # owed tickets the CRM can never create
# New UINs withdrawn into a caller's existing request, owed while the CRM cannot take them.
AGI_PENDING_WITHDRAWALS = f"{ROOT}agi:pending-withdrawals"
AGI_WITHDRAWALS_REFUSED = f"{ROOT}agi:withdrawals-refused"  # the CRM said no: for a person
