"""HTTP route of the agent report: `GET /api/reports/agents` (a supervisor sees every
agent, an agent only itself)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from crm.csv_export import MEDIA_TYPE as CSV_MEDIA_TYPE
from crm.csv_export import SEPARATORS, CsvRows, with_bom
from crm.deps import Principal, require
from crm.reports.export import agents_csv, header, reasons_of
from crm.reports.schemas import AgentReports
from crm.reports.service import agent_report
from crm.supervisor.intervals import INTERVALS, interval_starts
from crm.supervisor.intervals import Interval as IntervalName
from crm.xlsx_export import MEDIA_TYPE as XLSX_MEDIA_TYPE
from crm.xlsx_export import XlsxRows, xlsx_from

router = APIRouter(prefix="/api/reports", tags=["reports"])
Reader = Annotated[Principal, Depends(require("agent", "supervisor"))]


def _invalid(parameter: str, message: str) -> HTTPException:
    return HTTPException(
        422, [{"loc": ["query", parameter], "msg": message, "type": "value_error"}]
    )


@router.get(
    "/agents",
    response_model=None,
    responses={200: {"model": AgentReports, "content": {"text/csv": {}}}},
)
async def agents_report(
    request: Request,
    who: Reader,
    from_: Annotated[
        datetime | None, Query(alias="from", description="ISO time; default: today 00:00")
    ] = None,
    to: Annotated[datetime | None, Query(description="ISO time, exclusive; default: now")] = None,
    interval: Annotated[
        str, Query(description="15m, hour, day, week (from Monday), month or quarter")
    ] = "day",
    agent: Annotated[
        str | None, Query(max_length=80, description="one agent; all if absent")
    ] = None,
    format: Annotated[
        str,
        Query(description="json, csv (UTF-8 with BOM, a row per agent and interval) or xlsx"),
    ] = "json",
    sep: Annotated[
        str, Query(description="csv: `;` (decimal comma, the default), `,` or `tab`")
    ] = ";",
) -> AgentReports | StreamingResponse:
    """Per agent and interval: logged-in time and sessions, paused time by reason, calls
    offered / answered / missed (ring no answer), talk and wrap-up time, transfers made,
    contacts per day, occupancy. An agent's token sees only that agent."""
    settings = request.app.state.settings
    tz = ZoneInfo(settings.calendar.timezone)
    if who.role == "agent":
        if not who.agent:
            raise HTTPException(403, "this agent token names no agent (agent/NAME:token)")
        if agent and agent != who.agent:
            raise HTTPException(403, "an agent sees only its own report")
        agent = who.agent
    if interval not in INTERVALS:
        raise _invalid("interval", f"must be one of {', '.join(INTERVALS)}, not {interval!r}")
    if format not in ("json", "csv", "xlsx"):
        raise _invalid("format", f"must be json, csv or xlsx, not {format!r}")
    if sep not in SEPARATORS:
        raise _invalid("sep", f"must be one of {', '.join(SEPARATORS)}, not {sep!r}")
    now = datetime.now(UTC)
    end = (to if to is None or to.tzinfo else to.replace(tzinfo=tz)) or now
    start = (from_ if from_ is None or from_.tzinfo else from_.replace(tzinfo=tz)) or datetime.now(
        tz
    ).replace(hour=0, minute=0, second=0, microsecond=0)
    if start >= end:
        raise _invalid("from", "`from` must be before `to`")
    name: IntervalName = interval  # type: ignore[assignment]
    try:
        starts = list(interval_starts(start, end, name, tz))
    except ValueError as exc:
        raise _invalid("interval", str(exc)) from None
    grid, reports = await agent_report(
        request.app.state.engine,
        starts,
        start,
        end,
        name,
        tz,
        wrapup_s=settings.staffing.wrapup_s,
        now=now,
        agent=agent,
    )
    span = (start.astimezone(tz).isoformat(), end.astimezone(tz).isoformat())
    if format == "xlsx":
        reasons = reasons_of(reports)
        sheet = XlsxRows("agents")
        return StreamingResponse(
            xlsx_from(sheet, header(reasons), agents_csv(grid, reports, reasons, sheet, span)),  # type: ignore[arg-type]
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": 'attachment; filename="agents.xlsx"'},
        )
    if format == "csv":
        rows = CsvRows(sep)
        reasons = reasons_of(reports)
        pieces = with_bom(header(reasons), agents_csv(grid, reports, reasons, rows, span), rows)
        return StreamingResponse(
            _encoded(pieces),
            media_type=CSV_MEDIA_TYPE,
            headers={"Content-Disposition": 'attachment; filename="agents.csv"'},
        )
    return AgentReports.model_validate(
        {
            "interval": interval,
            "from": span[0],
            "to": span[1],
            "timezone": str(tz),
            "queue_wrapup_s": settings.staffing.wrapup_s,
            "agents": [
                {
                    "agent": report.agent,
                    "total": report.total.as_dict(),
                    "series": [
                        {
                            "start": grid.starts[i].isoformat(),
                            "end": grid.ends[i].isoformat(),
                            **figures.as_dict(),
                        }
                        for i, figures in enumerate(report.series)
                    ],
                }
                for report in reports
            ],
        }
    )


async def _encoded(pieces: Iterator[str]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece.encode()
