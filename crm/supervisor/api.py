"""Supervisor API: service-level history (SQL), live queues and agents (Redis), a server-sent
event stream of changes, and Prometheus metrics. Mounted by `hotline.bootstrap`.

Every route needs a bearer token: role `supervisor` for the `/api` routes; `/metrics`
takes `supervisor` or `service` (give Prometheus a service token in its scrape config's
`authorization`), because queue figures are business data.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from redis.asyncio import Redis
from sse_starlette import EventSourceResponse

from core.keys import LIVE_CHANGES_CHANNEL as CHANGES_CHANNEL
from core.settings import Settings
from crm.deps import Principal, require
from crm.owed import read_owed
from crm.sse import pubsub_stream
from crm.supervisor.history import INTERVALS, history, load_entries
from crm.supervisor.live import read_agents, read_counters, read_queues
from crm.supervisor.metrics import MEDIA_TYPE, prometheus_text

router = APIRouter()
SupervisorRole = Annotated[Principal, Depends(require("supervisor"))]
ScraperRole = Annotated[Principal, Depends(require("supervisor", "service"))]
SSE_KEEPALIVE_S = 15.0


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _redis(request: Request) -> Redis:
    return request.app.state.redis


def _tz(settings: Settings) -> tzinfo:
    return ZoneInfo(settings.calendar.timezone)


def _aware(value: datetime | None, tz: tzinfo) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


@router.get("/api/metrics/service-level", tags=["supervisor"])
async def service_level_history(
    request: Request,
    _: SupervisorRole,
    queue: Annotated[
        str | None, Query(max_length=80, description="one queue; all if absent")
    ] = None,
    from_: Annotated[
        datetime | None, Query(alias="from", description="ISO time; default: today 00:00")
    ] = None,
    to: Annotated[datetime | None, Query(description="ISO time, exclusive; default: now")] = None,
    interval: Annotated[str, Query(description="15m, hour, day or quarter")] = "hour",
) -> dict[str, Any]:
    """Service level by interval from the recorded queue entries (per queue and `all`)."""
    settings = _settings(request)
    tz = _tz(settings)
    if interval not in INTERVALS:
        raise HTTPException(
            422,
            f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}",
        )
    end = _aware(to, tz) or datetime.now(UTC)
    start = _aware(from_, tz) or datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    if start >= end:
        raise HTTPException(422, "`from` must be before `to`")
    rows = await load_entries(request.app.state.engine, start, end, queue)
    try:
        return history(
            rows,
            start,
            end,
            interval,  # type: ignore[arg-type]
            tz,
            settings.sl.threshold_s,
            settings.sl.short_abandon_s,
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


async def _live_queues(request: Request) -> dict[str, Any]:
    settings = _settings(request)
    return await read_queues(
        _redis(request),
        time.time(),
        _tz(settings),
        settings.sl.threshold_s,
        settings.sl.short_abandon_s,
    )


@router.get("/api/queues/live", tags=["supervisor"])
async def queues_live(request: Request, _: SupervisorRole) -> dict[str, Any]:
    """Waiting callers (join time, position, wait), longest wait, live service level
    (today, rolling 15 and 60 minutes) per queue and `all`."""
    return await _live_queues(request)


@router.get("/api/agents/live", tags=["supervisor"])
async def agents_live(request: Request, _: SupervisorRole) -> dict[str, Any]:
    """Every logged-in agent: state, pause reason, calls taken today."""
    return {"at": time.time(), "agents": await read_agents(_redis(request))}


@router.get("/api/stream/live", tags=["supervisor"], response_class=EventSourceResponse)
async def stream_live(
    request: Request,
    _: SupervisorRole,
    limit: Annotated[
        int | None, Query(ge=1, le=10_000, description="end the stream after this many changes")
    ] = None,
) -> EventSourceResponse:
    """Server-sent events: `change` (`{"at", "queues", "agents"}`: what the tracker just
    wrote) on every change of the live state; a comment line every 15 s keeps it open."""
    return await pubsub_stream(
        request,
        CHANGES_CHANNEL,
        "change",
        greeting="live changes follow",
        ping_s=SSE_KEEPALIVE_S,
        limit=limit,
    )


@router.get("/metrics", tags=["supervisor"], response_class=Response)
async def metrics(request: Request, _: ScraperRole) -> Response:
    """Prometheus text format (counters since the tracker's live keys were created)."""
    counters = await read_counters(_redis(request))
    live = await _live_queues(request)
    owed = await read_owed(_redis(request))
    return Response(prometheus_text(counters, live, owed), media_type=MEDIA_TYPE)
