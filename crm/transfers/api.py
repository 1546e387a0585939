"""HTTP routes of transfers: make one, read a ticket's chain, an agent's event stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from crm.deps import Principal, UinPath, require
from crm.sse import pubsub_stream
from crm.transfers.errors import (
    NotOnCall,
    TransferError,
    TransferLimitReached,
    TransferNotMade,
    UnknownTarget,
)
from crm.transfers.schemas import (
    CallContextPublic,
    ContextFields,
    TransferAccepted,
    TransferCreate,
    TransferPublic,
)
from crm.transfers.service import TransferService

router = APIRouter(prefix="/api", tags=["transfers"])
KEEPALIVE_S = 1.5  # under the client's 2 s socket timeout; also keeps proxies from closing it

AgentOrSupervisor = Annotated[Principal, Depends(require("agent", "supervisor"))]


async def get_transfers(request: Request) -> TransferService:
    return request.app.state.transfers


TransfersDep = Annotated[TransferService, Depends(get_transfers)]


@router.post(
    "/calls/{linkedid}/transfers",
    status_code=status.HTTP_201_CREATED,
    response_model=TransferAccepted,
)
async def create_transfer(
    linkedid: str, body: TransferCreate, transfers: TransfersDep, who: AgentOrSupervisor
) -> TransferAccepted:
    """Transfer the caller with the context filed; at most `HOTLINE_TRANSFER_LIMIT` per call.

    A blind transfer counts at once; an attended one counts when it completes (the
    answer gives the n it will have).
    """
    return await transfers.transfer(linkedid, who.role, who.agent, body)


@router.post("/calls/{linkedid}/transfers/cancel", response_model=CallContextPublic)
async def cancel_transfer(
    linkedid: str, transfers: TransfersDep, who: AgentOrSupervisor
) -> CallContextPublic:
    """Cancel the attended transfer in progress: it does not count, its slot is free."""
    await transfers.cancel(linkedid, who.role, who.agent)
    return await transfers.context(linkedid)


@router.put("/calls/{linkedid}/context", response_model=CallContextPublic)
async def file_context(
    linkedid: str, body: ContextFields, transfers: TransfersDep, who: AgentOrSupervisor
) -> CallContextPublic:
    """File the call's context before a transfer the agent's phone makes (the route
    `transfer` then carries it; without it the transfer is marked `context_missing`)."""
    return await transfers.file_context(linkedid, who.role, who.agent, body)


@router.get("/calls/{linkedid}/context", response_model=CallContextPublic)
async def read_context(
    linkedid: str, transfers: TransfersDep, who: AgentOrSupervisor
) -> CallContextPublic:
    """The call's live context: UIN, ticket, context fields, count, remaining, chain."""
    return await transfers.context(linkedid)


@router.get("/tickets/{uin}/transfers", response_model=list[TransferPublic])
async def ticket_transfers(
    uin: UinPath, transfers: TransfersDep, who: AgentOrSupervisor
) -> list[TransferPublic]:
    """The whole chain of transfers of the ticket's calls, in order."""
    return await transfers.chain(uin)


@router.get("/agents/{agent}/events", response_class=EventSourceResponse)
async def agent_events(agent: str, request: Request, who: AgentOrSupervisor) -> EventSourceResponse:
    """Server-sent events for one agent: `screen-pop` when a call rings them."""
    if who.role == "agent" and who.agent != agent:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this token is not {agent}'s")
    return await pubsub_stream(
        request,
        request.app.state.keys.agent_events(agent),
        "screen-pop",
        greeting="connected",
        ping_s=KEEPALIVE_S,
    )


def install_transfer_error_handlers(app: FastAPI) -> None:
    """Map transfer errors to statuses (403, 409, 422, 502) with a clear `detail`; an
    unknown call is the CRM's `CallNotFound` (404, `crm.api`)."""

    @app.exception_handler(TransferError)
    async def _transfer_error(_request: Request, exc: TransferError) -> JSONResponse:
        if isinstance(exc, NotOnCall):
            code = status.HTTP_403_FORBIDDEN
        elif isinstance(exc, TransferLimitReached):
            code = status.HTTP_409_CONFLICT
        elif isinstance(exc, UnknownTarget):
            detail = [{"loc": ["body", "to"], "msg": str(exc), "type": "value_error"}]
            return JSONResponse({"detail": detail}, status_code=422)
        elif isinstance(exc, TransferNotMade):
            code = status.HTTP_502_BAD_GATEWAY
        else:
            code = status.HTTP_400_BAD_REQUEST
        return JSONResponse({"detail": str(exc)}, status_code=code)
