"""HTTP route of the call log: `GET /api/calls` (a supervisor sees every call, an agent its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from crm.calls.export import HEADER, calls_csv
from crm.calls.schemas import CallLogPage
from crm.calls.service import BadCursor, CallFilter, decode_cursor, list_calls
from crm.csv_export import BOM, CsvRows
from crm.csv_export import MEDIA_TYPE as CSV_MEDIA_TYPE
from crm.deps import Principal, require
from crm.models import CallOutcome
from crm.report_params import ExportFormat, aware, check_order, export_format, invalid
from crm.xlsx_export import MEDIA_TYPE as XLSX_MEDIA_TYPE
from crm.xlsx_export import XlsxRows, xlsx_from_async

router = APIRouter(prefix="/api", tags=["calls"])
Reader = Annotated[Principal, Depends(require("agent", "supervisor"))]


CallsFormat = Annotated[
    ExportFormat,
    Depends(export_format("json (a page), or csv or xlsx: every call from `cursor` on")),
]


@router.get(
    "/calls",
    response_model=None,
    responses={200: {"model": CallLogPage, "content": {"text/csv": {}}}},
)
async def call_log(
    request: Request,
    who: Reader,
    from_: Annotated[
        datetime | None, Query(alias="from", description="calls started at or after (ISO)")
    ] = None,
    to: Annotated[datetime | None, Query(description="calls started before (ISO)")] = None,
    queue: Annotated[
        str | None, Query(max_length=80, description="calls that waited in it")
    ] = None,
    agent: Annotated[str | None, Query(max_length=80, description="calls it reached")] = None,
    outcome: Annotated[
        str | None, Query(description=f"one of {', '.join(o.value for o in CallOutcome)}")
    ] = None,
    phone: Annotated[str | None, Query(max_length=40, description="the caller's number")] = None,
    uin: Annotated[str | None, Query(max_length=20, description="a UIN heard or ticketed")] = None,
    transferred: Annotated[bool | None, Query(description="transferred at least once")] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="`next_cursor`")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="json: calls per page")] = 50,
    *,
    output: CallsFormat,
) -> CallLogPage | StreamingResponse:
    """Calls newest first, each with its caller, UINs, queue entries and waits, the agents
    it reached in order, transfers, outcome, talk time and survey answers. An agent's
    token sees only the calls that reached that agent."""
    tz = ZoneInfo(request.app.state.settings.calendar.timezone)
    start, end = aware(from_, tz), aware(to, tz)
    check_order(start, end)
    wanted_outcome = None
    if outcome is not None:
        try:
            wanted_outcome = CallOutcome(outcome)
        except ValueError:
            raise invalid(
                "outcome", f"must be one of {', '.join(o.value for o in CallOutcome)}"
            ) from None
    if who.role == "agent":
        if not who.agent:
            raise HTTPException(403, "this agent token names no agent (agent/NAME:token)")
        if agent and agent != who.agent:
            raise HTTPException(403, "an agent sees only its own calls")
        agent = who.agent
    wanted = CallFilter(start, end, queue, agent, wanted_outcome, phone, uin, transferred)
    engine = request.app.state.engine
    try:
        if output.format == "xlsx":
            if cursor:
                decode_cursor(cursor)
            sheet = XlsxRows("calls")
            return StreamingResponse(
                xlsx_from_async(sheet, HEADER, calls_csv(engine, wanted, sheet, cursor)),  # type: ignore[arg-type]
                media_type=XLSX_MEDIA_TYPE,
                headers={"Content-Disposition": 'attachment; filename="calls.xlsx"'},
            )
        if output.format == "csv":
            if cursor:
                decode_cursor(cursor)
            rows = CsvRows(output.sep)
            return StreamingResponse(
                _csv(rows, calls_csv(engine, wanted, rows, cursor)),
                media_type=CSV_MEDIA_TYPE,
                headers={"Content-Disposition": 'attachment; filename="calls.csv"'},
            )
        return await list_calls(engine, wanted, limit, cursor)
    except BadCursor as exc:
        raise invalid("cursor", str(exc)) from None


async def _csv(rows: CsvRows, pieces: AsyncIterator[str]) -> AsyncIterator[bytes]:
    yield (BOM + rows.piece([HEADER])).encode()
    async for piece in pieces:
        yield piece.encode()
