"""HTTP routes of the CRM, all under /api: thin, they call the service and shape replies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request, Response, status
from fastapi.responses import JSONResponse

from crm.deps import (
    AnyRole,
    ServiceRole,
    StaffRole,
    TicketsDep,
    UinPath,
    UinWidth,
    body_uin,
    with_canonical_duplicate_of,
)
from crm.errors import (
    Conflict,
    CrmError,
    InvalidClassification,
    NotFound,
    UinNotReserved,
    UinSpaceExhausted,
)
from crm.models import Call, Category, Status, Ticket
from crm.owed import read_owed
from crm.schemas import (
    CallAttach,
    CallPublic,
    TicketCreate,
    TicketEventPublic,
    TicketPage,
    TicketPublic,
    TicketUpdate,
    TicketWithdraw,
    UinBlock,
    UinReserve,
)
from crm.service import InvalidField, TicketFilter

router = APIRouter(prefix="/api")


def _call_public(call: Call, uin: str | None, uins: list[str] | None = None) -> CallPublic:
    fields = {c: getattr(call, c) for c in CallPublic.model_fields if c not in ("uin", "uins")}
    fields["agents"] = call.agents or []
    return CallPublic.model_validate(
        {**fields, "uin": uin, "uins": uins if uins is not None else ([uin] if uin else [])}
    )


@router.post(
    "/tickets", status_code=status.HTTP_201_CREATED, response_model=TicketPublic, tags=["tickets"]
)
async def create_ticket(body: TicketCreate, tickets: TicketsDep, who: AnyRole) -> TicketPublic:
    """Register a ticket; the CRM allocates its UIN."""
    return await tickets.register_ticket(body, who.actor)


@router.post(
    "/uins/reserve", status_code=status.HTTP_201_CREATED, response_model=UinBlock, tags=["tickets"]
)
async def reserve_uins(body: UinReserve, tickets: TicketsDep, who: ServiceRole) -> UinBlock:
    """Reserve a block of UINs (the AGI server's stock for when the CRM is unreachable)."""
    return UinBlock(uins=await tickets.reserve_uins(body.count, who.actor))


@router.put(
    "/tickets/{uin}",
    response_model=TicketPublic,
    tags=["tickets"],
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "the ticket of this UIN existed already"},
        422: {"description": "the UIN was not reserved"},
    },
)
async def register_reserved(
    uin: UinPath,
    body: TicketCreate,
    tickets: TicketsDep,
    who: ServiceRole,
    response: Response,
) -> TicketPublic:
    """Create the ticket of a reserved UIN that a caller has already been told; idempotent."""
    ticket, created = await tickets.register_reserved(body, who.actor, uin)
    if not created:
        response.status_code = status.HTTP_200_OK
    return ticket


MAX_PAGE_SIZE = 200
# The row offset of the last page must fit the databases' 64-bit integers.
MAX_PAGE = (2**63 - 1) // MAX_PAGE_SIZE


@router.get("/tickets", response_model=TicketPage, tags=["tickets"])
async def list_tickets(
    tickets: TicketsDep,
    _who: AnyRole,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    category: Category | None = None,
    text: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="one box: a UIN, a phone or words")
    ] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> TicketPage:
    rows, total = await tickets.list_tickets(
        TicketFilter(
            phone=phone,
            status=status_,
            category=category,
            text=text,
            q=(q or "").strip() or None,
        ),
        page,
        page_size,
    )
    return TicketPage(
        items=[TicketPublic.model_validate(t) for t in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/tickets/{uin}", response_model=TicketPublic, tags=["tickets"])
async def get_ticket(uin: UinPath, tickets: TicketsDep, _who: AnyRole) -> Ticket:
    return await tickets.get_ticket(uin)


@router.patch("/tickets/{uin}", response_model=TicketPublic, tags=["tickets"])
async def update_ticket(
    uin: UinPath, body: TicketUpdate, tickets: TicketsDep, who: StaffRole, digits: UinWidth
) -> Ticket:
    """Change fields, category, priority or status; illegal status moves answer 409."""
    return await tickets.update_ticket(uin, with_canonical_duplicate_of(body, digits), who.actor)


@router.post(
    "/tickets/{uin}/withdraw",
    response_model=TicketPublic,
    tags=["tickets"],
    responses={409: {"description": "the ticket was worked on, or withdrawn elsewhere"}},
)
async def withdraw_ticket(
    uin: UinPath, body: TicketWithdraw, tickets: TicketsDep, who: ServiceRole, digits: UinWidth
) -> Ticket:
    """Withdraw the IVR's new UIN: the caller named their existing request `into`, which
    gets the call. The UIN is never reused; `GET /api/tickets/{uin}` names `withdrawn_into`;
    lists leave it out. Repeating it changes nothing."""
    into = body_uin(body.into, digits, "into")
    return await tickets.withdraw(uin, into, body.reason, who.actor)


@router.get("/tickets/{uin}/events", response_model=list[TicketEventPublic], tags=["tickets"])
async def ticket_events(
    uin: UinPath, tickets: TicketsDep, _who: AnyRole
) -> list[TicketEventPublic]:
    """The audit log of the ticket, oldest first."""
    return [TicketEventPublic.model_validate(e) for e in await tickets.ticket_events(uin)]


@router.post(
    "/tickets/{uin}/calls",
    response_model=CallPublic,
    tags=["calls"],
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "the call was already on this ticket"}},
)
async def attach_call(
    uin: UinPath, body: CallAttach, tickets: TicketsDep, who: AnyRole, response: Response
) -> CallPublic:
    """Record a call (by Asterisk Linkedid) on the ticket; repeating it changes nothing."""
    call, created = await tickets.attach_call(uin, body, who.actor)
    if not created:
        response.status_code = status.HTTP_200_OK
    return _call_public(call, uin)


@router.get("/calls/{linkedid}", response_model=CallPublic, tags=["calls"])
async def get_call(linkedid: str, tickets: TicketsDep, _who: AnyRole) -> CallPublic:
    """The call; `uin` is its first ticket, `uins` every ticket opened in it."""
    call, uin = await tickets.get_call(linkedid)
    return _call_public(call, uin, await tickets.call_uins(call))


@router.get(
    "/health",
    tags=["health"],
    responses={503: {"description": "a dependency is down; the body names it"}},
)
async def health(request: Request) -> JSONResponse:
    """Database and Redis reachability; open (no token) for load balancers and compose."""
    checks = await request.app.state.health()
    down = [name for name, ok in checks.items() if not ok]
    body: dict[str, object] = {name: "ok" if ok else "down" for name, ok in checks.items()}
    if checks.get("redis"):
        # Not a reason for 503 (callers are served), but a person must see them.
        body["tickets_owed"] = await read_owed(request.app.state.redis, request.app.state.keys)
    if down:
        body["detail"] = f"down: {', '.join(down)}"
        return JSONResponse(body, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return JSONResponse(body)


def _unprocessable(fields: tuple[str, ...], message: str) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"loc": ["body", f], "msg": message, "type": "value_error"} for f in fields]},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def install_error_handlers(app: FastAPI) -> None:
    """One place that maps domain errors to HTTP statuses with a clear `detail`."""

    @app.exception_handler(CrmError)
    async def _crm_error(_request: Request, exc: CrmError) -> JSONResponse:
        if isinstance(exc, InvalidClassification):
            return _unprocessable(exc.fields, str(exc))
        if isinstance(exc, UinNotReserved):
            return JSONResponse(
                {"detail": [{"loc": ["path", "uin"], "msg": str(exc), "type": "value_error"}]},
                status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            )
        if isinstance(exc, NotFound):
            code = status.HTTP_404_NOT_FOUND
        elif isinstance(exc, Conflict):
            code = status.HTTP_409_CONFLICT
        elif isinstance(exc, UinSpaceExhausted):
            code = status.HTTP_503_SERVICE_UNAVAILABLE
        else:
            code = status.HTTP_400_BAD_REQUEST
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.exception_handler(InvalidField)
    async def _invalid_field(_request: Request, exc: InvalidField) -> JSONResponse:
        return _unprocessable((exc.field,), exc.message)
