"""Supervisor API: service-level history (SQL), live queues and agents (Redis), a server-sent
event stream of changes, and Prometheus metrics. Mounted by `hotline.bootstrap`.

Every route needs a bearer token: role `supervisor` for the `/api` routes; `/metrics`
takes `supervisor` or `service` (give Prometheus a service token in its scrape config's
`authorization`), because queue figures are business data.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import tzinfo
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from redis.asyncio import Redis
from sse_starlette import EventSourceResponse

from core.keys import RedisKeys
from core.settings import Settings
from crm.csv_export import MEDIA_TYPE as CSV_MEDIA_TYPE
from crm.csv_export import CsvRows, with_bom
from crm.deps import Principal, require
from crm.report_params import ExportFormat, ReportRange, export_format, report_range
from crm.sse import pubsub_stream
from crm.supervisor.export import HEADER, history_csv
from crm.supervisor.feed import WallboardFeed, board_stream
from crm.supervisor.history import history_json
from crm.supervisor.history_sql import aggregate
from crm.supervisor.live import read_agents, read_queues
from crm.supervisor.metrics import MEDIA_TYPE, prometheus_text, read_snapshot
from crm.supervisor.rollup import aggregate_rolled, whole_quarter_hours
from crm.supervisor.schemas import ServiceLevelHistory, Wallboard
from crm.xlsx_export import MEDIA_TYPE as XLSX_MEDIA_TYPE
from crm.xlsx_export import XlsxRows, xlsx_from

router = APIRouter()
SupervisorRole = Annotated[Principal, Depends(require("supervisor"))]
ScraperRole = Annotated[Principal, Depends(require("supervisor", "service"))]
SSE_KEEPALIVE_S = 15.0


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _redis(request: Request) -> Redis:
    return request.app.state.redis


def _keys(request: Request) -> RedisKeys:
    return request.app.state.keys


def _tz(settings: Settings) -> tzinfo:
    return ZoneInfo(settings.calendar.timezone)


HistoryRange = Annotated[ReportRange, Depends(report_range("hour"))]
HistoryFormat = Annotated[
    ExportFormat,
    Depends(export_format("json, csv (UTF-8 with BOM, a row per interval and queue) or xlsx")),
]


@router.get(
    "/api/metrics/service-level",
    tags=["supervisor"],
    response_model=None,
    responses={200: {"model": ServiceLevelHistory}},
)
async def service_level_history(
    request: Request,
    _: SupervisorRole,
    span: HistoryRange,
    output: HistoryFormat,
    queue: Annotated[
        str | None, Query(max_length=80, description="one queue; all if absent")
    ] = None,
) -> StreamingResponse:
    """Service level by interval from the recorded queue entries (per queue and `all`),
    counted by the database; the JSON (or CSV) is streamed as it is written."""
    sl = _settings(request).sl
    start, end, interval, tz, starts = span.start, span.end, span.interval, span.tz, span.starts
    args = (request.app.state.engine, start, end, interval, tz, sl.threshold_s, sl.short_abandon_s)
    # The rollup where the zone's offset is whole quarter hours (every zone today).
    if whole_quarter_hours(start, end, tz):
        counts = await aggregate_rolled(*args, queue, starts=starts)
    else:
        counts = await aggregate(*args, queue)
    figures = (start, end, interval, tz, sl.threshold_s, sl.short_abandon_s)
    if output.format == "xlsx":
        sheet = XlsxRows("service level")
        return StreamingResponse(
            xlsx_from(sheet, HEADER, history_csv(counts, starts, *figures, sheet)),
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": 'attachment; filename="service-level.xlsx"'},
        )
    if output.format == "csv":
        rows = CsvRows(output.sep)
        pieces = with_bom(HEADER, history_csv(counts, starts, *figures, rows), rows)
        return StreamingResponse(
            _encoded(pieces),
            media_type=CSV_MEDIA_TYPE,
            headers={"Content-Disposition": 'attachment; filename="service-level.csv"'},
        )
    pieces = history_json(counts, starts, *figures)
    return StreamingResponse(_encoded(pieces), media_type="application/json")


async def _encoded(pieces: Iterator[str]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece.encode()


async def _live_queues(request: Request) -> dict[str, Any]:
    settings = _settings(request)
    return await read_queues(
        _redis(request),
        _keys(request),
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
    return {"at": time.time(), "agents": await read_agents(_redis(request), _keys(request))}


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
        _keys(request).live_changes,
        "change",
        greeting="live changes follow",
        ping_s=SSE_KEEPALIVE_S,
        limit=limit,
    )


def _feed(request: Request) -> WallboardFeed:
    return request.app.state.wallboard


@router.get("/api/wallboard", tags=["supervisor"], response_model=Wallboard)
async def wallboard(request: Request, _: SupervisorRole) -> dict[str, Any]:
    """The supervisor wallboard's figures in one reading: per queue and `all` the waiting
    callers, longest wait, service level today and over the last 15 and 60 minutes with
    the alerts against the goal, answered/abandoned and ASA; per agent the state and since
    when, the caller, the pause and calls answered today. The `/wallboard` page shows the
    same readings (`crm.supervisor.wallboard`)."""
    return await _feed(request).board()


@router.get("/api/stream/wallboard", tags=["supervisor"], response_class=EventSourceResponse)
async def stream_wallboard(
    request: Request,
    _: SupervisorRole,
    limit: Annotated[
        int | None, Query(ge=1, le=10_000, description="end the stream after this many boards")
    ] = None,
) -> EventSourceResponse:
    """Server-sent events: `board` (the JSON of `GET /api/wallboard`) at once, then after
    every change of the live state (at most 5 a second), when a caller passes T or an
    outcome leaves a rolling window, and at least every 15 s."""
    return await board_stream(request, _feed(request), limit=limit)


@router.get("/metrics", tags=["supervisor"], response_class=Response)
async def metrics(request: Request, _: ScraperRole) -> Response:
    """Prometheus text format: counters since the tracker's live keys were created, the
    live figures per queue, and per agent the state, the pause and calls answered today
    as `GET /api/wallboard` shows them (`crm.supervisor.metrics`)."""
    board = await _feed(request).board()
    snapshot = await read_snapshot(_redis(request), _keys(request), board)
    return Response(prometheus_text(snapshot), media_type=MEDIA_TYPE)
