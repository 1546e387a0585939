"""HTTP routes of the agent's queue membership and pause (an agent for itself only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request, status
from fastapi.responses import JSONResponse

from crm.agents.errors import (
    AgentQueueError,
    AlreadyInQueue,
    AsteriskFailed,
    NoSuchQueue,
    NotInQueue,
    StaticMember,
)
from crm.agents.schemas import AgentQueueState, PauseRequest, QueueMembership
from crm.agents.service import AgentQueues
from crm.deps import Principal, require

router = APIRouter(prefix="/api", tags=["agents"])

AgentOrSupervisor = Annotated[Principal, Depends(require("agent", "supervisor"))]
AgentName = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_.-]{1,80}$", description="the agent's queue member name")
]


async def get_agent_queues(request: Request) -> AgentQueues:
    return request.app.state.agent_queues


AgentQueuesDep = Annotated[AgentQueues, Depends(get_agent_queues)]


def _own(who: Principal, agent: str) -> None:
    """An agent acts only for itself; a supervisor for anyone."""
    if who.role == "agent" and who.agent != agent:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"an agent acts only for itself, not {agent}"
        )


@router.get("/agents/{agent}/queue", response_model=AgentQueueState)
async def queue_state(
    agent: AgentName, queues: AgentQueuesDep, who: AgentOrSupervisor
) -> AgentQueueState:
    """The queues the agent is logged in to, paused or not and why (Asterisk's `QueueStatus`)."""
    _own(who, agent)
    return await queues.state(agent)


@router.post("/agents/{agent}/queue", response_model=AgentQueueState)
async def join_or_leave(
    agent: AgentName, body: QueueMembership, queues: AgentQueuesDep, who: AgentOrSupervisor
) -> AgentQueueState:
    """Log in to the queues (`QueueAdd`) or out of them (`QueueRemove`), as `*71`/`*72` do."""
    _own(who, agent)
    if body.joined:
        return await queues.join(agent, body.queues)
    return await queues.leave(agent, body.queues)


@router.post("/agents/{agent}/pause", response_model=AgentQueueState)
async def pause(
    agent: AgentName, body: PauseRequest, queues: AgentQueuesDep, who: AgentOrSupervisor
) -> AgentQueueState:
    """Pause with a reason or come back (`QueuePause` in every queue), as `*73N` does."""
    _own(who, agent)
    return await queues.pause(agent, body.paused, body.reason or "")


def install_agent_error_handlers(app: FastAPI) -> None:
    """404 an unknown queue, 409 a membership that is not as asked, 502 Asterisk failing."""

    @app.exception_handler(AgentQueueError)
    async def _agent_error(_request: Request, exc: AgentQueueError) -> JSONResponse:
        if isinstance(exc, NoSuchQueue):
            code = status.HTTP_404_NOT_FOUND
        elif isinstance(exc, AlreadyInQueue | NotInQueue | StaticMember):
            code = status.HTTP_409_CONFLICT
        elif isinstance(exc, AsteriskFailed):
            code = status.HTTP_502_BAD_GATEWAY
        else:
            code = status.HTTP_400_BAD_REQUEST
        return JSONResponse({"detail": str(exc)}, status_code=code)
