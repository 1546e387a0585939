"""HTTP routes of the ticket lifecycle, SLA and calendar overrides, all under /api."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response, status
from fastapi.responses import JSONResponse

from crm.deps import (
    AnyRole,
    Principal,
    StaffRole,
    TicketsDep,
    UinPath,
    UinWidth,
    require,
    with_canonical_duplicate_of,
)
from crm.lifecycle.audit import sla_dict
from crm.lifecycle.calendar import CalendarStore
from crm.lifecycle.errors import LinkExpired, LinkInvalid, NotConfigured
from crm.lifecycle.service import LifecycleService
from crm.models import Ticket
from crm.schemas import (
    AtRiskTicket,
    CallerReplied,
    Confirmation,
    ConfirmedWithCaller,
    InfoRequest,
    OverridePublic,
    OverrideRequest,
    RefuseRequest,
    ResolveRequest,
    SlaPublic,
    SuspendRequest,
    TicketCreate,
    TicketPublic,
)


async def get_lifecycle(request: Request) -> LifecycleService:
    return request.app.state.lifecycle


async def get_calendars(request: Request) -> CalendarStore:
    return request.app.state.calendars


LifecycleDep = Annotated[LifecycleService, Depends(get_lifecycle)]
CalendarsDep = Annotated[CalendarStore, Depends(get_calendars)]
SupervisorRole = Annotated[Principal, Depends(require("supervisor"))]

router = APIRouter(prefix="/api")


@router.post("/tickets/{uin}/suspend", response_model=TicketPublic, tags=["lifecycle"])
async def suspend(uin: UinPath, body: SuspendRequest, lc: LifecycleDep, who: StaffRole) -> Ticket:
    """Stop the SLA clock for a Table 5 reason (`external_system` needs `external_ref`)."""
    return await lc.suspend(uin, body, who.actor)


@router.post("/tickets/{uin}/resume", response_model=TicketPublic, tags=["lifecycle"])
async def resume(uin: UinPath, lc: LifecycleDep, who: StaffRole) -> Ticket:
    """Start the clock again after a suspension."""
    return await lc.resume(uin, who.actor)


@router.post("/tickets/{uin}/resolve", response_model=TicketPublic, tags=["lifecycle"])
async def resolve(uin: UinPath, body: ResolveRequest, lc: LifecycleDep, who: StaffRole) -> Ticket:
    """Record the solution; the caller is e-mailed the UIN, the solution and a confirmation link."""
    return await lc.resolve(uin, body.solution, who.actor)


@router.post("/tickets/{uin}/refuse", response_model=TicketPublic, tags=["lifecycle"])
async def refuse(
    uin: UinPath, body: RefuseRequest, lc: LifecycleDep, who: StaffRole, digits: UinWidth
) -> Ticket:
    """Refuse with a reason: `out_of_scope`, or `duplicate` of a solved ticket (`duplicate_of`)."""
    return await lc.refuse(uin, with_canonical_duplicate_of(body, digits), who.actor)


@router.post(
    "/tickets/{uin}/info-requests",
    response_model=TicketPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["lifecycle"],
)
async def request_info(uin: UinPath, body: InfoRequest, lc: LifecycleDep, who: StaffRole) -> Ticket:
    """E-mail the caller a question; the ticket waits suspended (`more_information`)."""
    return await lc.request_info(uin, body.question, who.actor)


@router.post("/tickets/{uin}/caller-replied", response_model=TicketPublic, tags=["lifecycle"])
async def caller_replied(
    uin: UinPath, body: CallerReplied, lc: LifecycleDep, who: StaffRole
) -> Ticket:
    """The caller answered: the `more_information` suspension ends."""
    return await lc.caller_replied(uin, body.note, who.actor)


@router.post("/tickets/{uin}/confirm", response_model=TicketPublic, tags=["lifecycle"])
async def confirm_with_caller(
    uin: UinPath, body: ConfirmedWithCaller, lc: LifecycleDep, who: StaffRole
) -> Ticket:
    """Close a resolved ticket whose caller confirmed the solution to the agent (`note`: how)."""
    return await lc.confirm_with_caller(uin, body.note, who.actor)


@router.get("/tickets/{uin}/sla", response_model=SlaPublic, tags=["sla"])
async def sla(uin: UinPath, lc: LifecycleDep, _who: AnyRole) -> SlaPublic:
    """The SLA clock now, in business seconds, replayed from the audit log."""
    return SlaPublic.model_validate(sla_dict(await lc.sla(uin)))


@router.get("/sla/at-risk", response_model=list[AtRiskTicket], tags=["sla"])
async def at_risk(lc: LifecycleDep, _who: SupervisorRole) -> list[AtRiskTicket]:
    """Open tickets past the escalation share of their allowance, or breached."""
    return [
        AtRiskTicket(
            uin=t.uin,
            status=t.status,
            category=t.category,
            priority=t.priority,
            line=t.line,
            sla=SlaPublic.model_validate(sla_dict(clock)),
        )
        for t, clock in await lc.at_risk()
    ]


@router.post(
    "/calls/{linkedid}/tickets",
    response_model=TicketPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["calls"],
)
async def open_ticket_in_call(
    linkedid: str, body: TicketCreate, tickets: TicketsDep, who: StaffRole
) -> TicketPublic:
    """One request, one ticket: a new question raised in the call gets its own ticket."""
    return await tickets.register_in_call(body, who.actor, linkedid)


@router.get("/confirm/{token}", response_model=Confirmation, tags=["lifecycle"])
async def confirm(token: str, lc: LifecycleDep) -> Confirmation:
    """The caller confirms the solution (no bearer token: the signed link is the credential)."""
    ticket = await lc.confirm(token)
    return Confirmation(uin=ticket.uin, status=ticket.status, confirmed_at=ticket.confirmed_at)


@router.get("/calendar/overrides", response_model=list[OverridePublic], tags=["calendar"])
async def list_overrides(calendars: CalendarsDep, _who: AnyRole) -> list[OverridePublic]:
    return [OverridePublic.model_validate(o) for o in await calendars.list_overrides()]


@router.put(
    "/calendar/overrides/{day}",
    response_model=OverridePublic,
    tags=["calendar"],
    responses={201: {"description": "a new override"}},
)
async def put_override(
    day: date,
    body: OverrideRequest,
    calendars: CalendarsDep,
    lc: LifecycleDep,
    who: SupervisorRole,
    response: Response,
) -> OverridePublic:
    """Make `day` an extra holiday or working day; deadlines follow at once."""
    row, created = await calendars.put_override(day, body.kind, body.note, who.actor, lc.clock())
    if created:
        response.status_code = status.HTTP_201_CREATED
    return OverridePublic.model_validate(row)


@router.delete(
    "/calendar/overrides/{day}", status_code=status.HTTP_204_NO_CONTENT, tags=["calendar"]
)
async def delete_override(day: date, calendars: CalendarsDep, _who: SupervisorRole) -> None:
    await calendars.delete_override(day)


def install_lifecycle_error_handlers(app: FastAPI) -> None:
    """Statuses for this slice's errors (others go through the CRM's handler)."""

    async def _answer(_request: Request, exc: Exception) -> JSONResponse:
        code = {
            LinkInvalid: status.HTTP_400_BAD_REQUEST,
            LinkExpired: status.HTTP_410_GONE,
            NotConfigured: status.HTTP_503_SERVICE_UNAVAILABLE,
        }[type(exc)]
        return JSONResponse({"detail": str(exc)}, status_code=code)

    for cls in (LinkInvalid, LinkExpired, NotConfigured):
        app.add_exception_handler(cls, _answer)
