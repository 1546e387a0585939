"""HTTP route of the agent report: `GET /api/reports/agents` (a supervisor sees every
agent, an agent only itself)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from crm.csv_export import MEDIA_TYPE as CSV_MEDIA_TYPE
from crm.csv_export import CsvRows, with_bom
from crm.deps import Principal, require
from crm.report_params import ExportFormat, ReportRange, export_format, report_range
from crm.reports.export import agents_csv, header, reasons_of
from crm.reports.schemas import AgentReports
from crm.reports.service import agent_report
from crm.xlsx_export import MEDIA_TYPE as XLSX_MEDIA_TYPE
from crm.xlsx_export import XlsxRows, xlsx_from

router = APIRouter(prefix="/api/reports", tags=["reports"])
Reader = Annotated[Principal, Depends(require("agent", "supervisor"))]


AgentsRange = Annotated[ReportRange, Depends(report_range("day"))]


async def _agent_wanted(
    agent: Annotated[
        str | None, Query(max_length=80, description="one agent; all if absent")
    ] = None,
) -> str | None:
    return agent


# A dependency, not the route's own parameter, only to keep OpenAPI's order (from, to,
# interval, agent, format, sep): FastAPI lists a route's own parameters first.
AgentWanted = Annotated[str | None, Depends(_agent_wanted)]
AgentsFormat = Annotated[
    ExportFormat,
    Depends(export_format("json, csv (UTF-8 with BOM, a row per agent and interval) or xlsx")),
]


@router.get(
    "/agents",
    response_model=None,
    responses={200: {"model": AgentReports, "content": {"text/csv": {}}}},
)
async def agents_report(
    request: Request,
    who: Reader,
    span: AgentsRange,
    agent: AgentWanted,
    output: AgentsFormat,
) -> AgentReports | StreamingResponse:
    """Per agent and interval: logged-in time and sessions, paused time by reason, calls
    offered / answered / missed (ring no answer), talk and wrap-up time, transfers made,
    contacts per day, occupancy. An agent's token sees only that agent."""
    settings = request.app.state.settings
    if who.role == "agent":
        if not who.agent:
            raise HTTPException(403, "this agent token names no agent (agent/NAME:token)")
        if agent and agent != who.agent:
            raise HTTPException(403, "an agent sees only its own report")
        agent = who.agent
    tz = span.tz
    grid, reports = await agent_report(
        request.app.state.engine,
        span.starts,
        span.start,
        span.end,
        span.interval,
        tz,
        wrapup_s=settings.staffing.wrapup_s,
        now=datetime.now(UTC),
        agent=agent,
    )
    bounds = (span.start.astimezone(tz).isoformat(), span.end.astimezone(tz).isoformat())
    if output.format == "xlsx":
        reasons = reasons_of(reports)
        sheet = XlsxRows("agents")
        return StreamingResponse(
            xlsx_from(sheet, header(reasons), agents_csv(grid, reports, reasons, sheet, bounds)),  # type: ignore[arg-type]
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": 'attachment; filename="agents.xlsx"'},
        )
    if output.format == "csv":
        rows = CsvRows(output.sep)
        reasons = reasons_of(reports)
        pieces = with_bom(header(reasons), agents_csv(grid, reports, reasons, rows, bounds), rows)
        return StreamingResponse(
            _encoded(pieces),
            media_type=CSV_MEDIA_TYPE,
            headers={"Content-Disposition": 'attachment; filename="agents.csv"'},
        )
    return AgentReports.model_validate(
        {
            "interval": span.interval,
            "from": bounds[0],
            "to": bounds[1],
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
