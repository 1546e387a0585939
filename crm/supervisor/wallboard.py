"""The supervisor wallboard's figures: one snapshot of queues and agents, read from the
tracker's live keys, for the API (`GET /api/wallboard`), its stream and the page alike.

Per queue (and `all`) the snapshot holds `queue_figures`' waiting callers, longest wait
and service level today and over the rolling 15 and 60 minutes, plus `alerts`: the
windows whose `sl` is under the goal (`HOTLINE_SL_GOAL_PCT`) and whether a caller has
waited more than T. Per agent: state and since when, the caller it rings for or talks
to (number, name, UIN from the call context), pause reason and since when, and calls
answered today, counted from the same outcomes as the queues' figures (so the agents'
sum is the queues' `answered` today, whatever tracker restarts happened).

`next_change_at` is the next moment the figures change with no event: a waiting caller
passes T, an outcome leaves a rolling window, midnight. The stream wakes for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from redis.asyncio import Redis

from core.context.store import CallContextStore
from core.settings import Settings
from crm.supervisor.live import WINDOWS_S, LiveRead, queue_figures, read_agents, read_live
from crm.supervisor.tally import TodayTally

TRACKER_SILENT_S = 45.0  # the tracker's heartbeat is every 10 s: three missed is silence


def _alerts(queue: dict[str, Any], goal_pct: float, threshold_s: int) -> dict[str, Any]:
    below = [
        window
        for window, figures in queue["service_level"].items()
        if figures["sl"] is not None and figures["sl"] < goal_pct
    ]
    return {"sl_below_goal": below, "long_wait": queue["longest_wait_s"] > threshold_s}


def answered_today(live: LiveRead, tz: tzinfo) -> dict[str, int]:
    """Queue entries each agent answered since midnight in `tz`."""
    midnight = datetime.fromtimestamp(live.now, tz).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    since = midnight.timestamp()
    counts: dict[str, int] = {}
    for row in live.done:
        if row["outcome"] == "answered" and row["at"] >= since and row.get("agent"):
            counts[row["agent"]] = counts.get(row["agent"], 0) + 1
    return counts


def next_change_at(live: LiveRead, tz: tzinfo, threshold_s: int) -> float:
    """The next moment a figure changes without an event (see the module docstring)."""
    now = live.now
    day = datetime.fromtimestamp(now, tz).date() + timedelta(days=1)
    moments = [datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()]
    for rows in live.waiting.values():
        # a wait of exactly T is within: the alert turns just after it
        moments += [row["joined_at"] + threshold_s for row in rows]
    for row in live.done:
        moments += [row["at"] + span for span in WINDOWS_S.values()]
    return min((m for m in moments if m >= now), default=now + 3600.0)


async def read_wallboard(
    redis: Redis,
    contexts: CallContextStore,
    now: float,
    tz: tzinfo,
    settings: Settings,
    tally: TodayTally | None = None,
) -> dict[str, Any]:
    """The whole wallboard as JSON-ready data (see the module docstring); with `tally`,
    today's figures are brought up to date rather than counted again."""
    sl = settings.sl
    keys = settings.redis.keys
    live = await (tally.read(redis, keys, now, tz) if tally else read_live(redis, keys, now, tz))
    board = queue_figures(live, tz, sl.threshold_s, sl.short_abandon_s)
    for queue in [*board["queues"], board["all"]]:
        queue["alerts"] = _alerts(queue, sl.goal_pct, sl.threshold_s)
    agents = await read_agents(redis, keys)
    linkedids = sorted({a["linkedid"] for a in agents if a["linkedid"]})
    known = await contexts.get_many(linkedids)
    answered = live.answered_today
    if answered is None:
        answered = answered_today(live, tz)
    board["agents"] = [_agent(agent, known, answered, now) for agent in agents]
    seen = live.tracker_seen_at
    board |= {
        "threshold_s": sl.threshold_s,
        "short_abandon_s": sl.short_abandon_s,
        "goal_pct": sl.goal_pct,
        "wrapup_s": settings.staffing.wrapup_s,
        "tracker_alive": seen is not None and now - seen < TRACKER_SILENT_S,
        "next_change_at": next_change_at(live, tz, sl.threshold_s),
    }
    return board


def _agent(
    agent: dict[str, Any], contexts: dict[str, Any], answered: dict[str, int], now: float
) -> dict[str, Any]:
    context = contexts.get(agent["linkedid"]) if agent["linkedid"] else None
    caller_num = agent["caller_num"] or (context.caller_num if context else "")
    caller_name = agent["caller_name"] or (context.caller_name if context else "")
    on_call = agent["status"] in ("ringing", "talking") and bool(agent["linkedid"])
    return {
        "name": agent["name"],
        "status": agent["status"],
        "since": agent["since"],
        "status_s": round(max(now - agent["since"], 0.0), 3) if agent["since"] else None,
        "paused": agent["paused"],
        "paused_reason": agent["paused_reason"],
        "paused_since": agent["paused_since"] or None,
        "linkedid": agent["linkedid"] if on_call else "",
        "caller_num": caller_num if on_call else "",
        "caller_name": caller_name if on_call else "",
        "uin": context.uin if context and on_call else "",
        "answered_today": answered.get(agent["name"], 0),
        "calls_taken": agent["calls_taken"],
        "queues": agent["queues"],
    }
