"""The supervisor's pages: the live wallboard (`/wallboard`, `?tv=1` for a wall screen), the
service-level history with its chart (`/history`), the call log (`/calls`), the agent
report (`/agents`) and the tickets at SLA risk (`/sla`). Supervisors only (`page_user`).

The wallboard's live part is the board of `crm.supervisor.feed`, the very reading
`GET /api/wallboard` returns, rendered to HTML on the server (`supervisor/board.html`) and
sent by `/wallboard/stream` for htmx's SSE extension to swap in. The other pages draw what
the reporting endpoints answer (`/api/metrics/service-level`, `/api/calls`,
`/api/reports/agents`, `/api/sla/at-risk`), and their CSV buttons are those endpoints' `format=csv`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sse_starlette import EventSourceResponse
from starlette.responses import Response

from crm.people.service import Person
from crm.supervisor.feed import Board, WallboardFeed, board_stream
from crm.supervisor.history import INTERVALS
from crm.web.auth import page_user
from crm.web.session import session_ids
from crm.web.templates import render

router = APIRouter(include_in_schema=False)
Supervisor = Annotated[Person, Depends(page_user("supervisor"))]
WINDOWS = ("today", "last_15m", "last_60m")
CHART_INTERVALS = ("15m", "hour", "day", "quarter")
# An open wallboard asks again this often whether its session still holds (disabled person,
# changed password: the stream ends and the page goes to the login).
SESSION_RECHECK_S = 15.0


def duration(seconds: float | None) -> str:
    """Seconds as m:ss (h:mm:ss from an hour), as `Hotline.format.duration` writes them.

    >>> duration(65.9), duration(3725), duration(None)
    ('1:05', '1:02:05', '—')
    """
    if seconds is None:
        return "—"
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _feed(request: Request) -> WallboardFeed:
    return request.app.state.wallboard


def _board_context(board: Board, tv: bool) -> dict[str, Any]:
    queues = list(board["queues"])
    if len(queues) != 1:  # with one queue, `all` says the same again
        queues.append(board["all"])
    return {
        "board": board,
        "queues": queues,
        "windows": WINDOWS,
        "duration": duration,
        "epoch": _epoch,
        "tv": tv,
    }


def _epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@router.get("/wallboard")
async def wallboard(request: Request, person: Supervisor, tv: bool = False) -> Response:
    board = await _feed(request).board()
    context = _board_context(board, tv)
    return render(request, "supervisor/wallboard.html", context, person=person)


@router.get("/wallboard/stream")
async def wallboard_stream(
    request: Request, person: Supervisor, tv: bool = False
) -> EventSourceResponse:
    """The board as HTML (`board` events) whenever it changes (see `crm.supervisor.feed`)."""
    pages = request.app.state.pages
    template = pages.environments[pages.language_of(request, person)].get_template(
        "supervisor/board.html"
    )

    def html(board: Board) -> str:
        return template.render(**_board_context(board, tv))

    async def still_a_supervisor() -> bool:
        ids = session_ids(request)
        now = None if ids is None else await request.app.state.people.session_person(*ids)
        return now is not None and now.role == "supervisor"

    return await board_stream(
        request,
        _feed(request),
        render=html,
        allowed=still_a_supervisor,
        recheck_s=SESSION_RECHECK_S,
    )


@router.get("/history")
async def history(request: Request, person: Supervisor) -> Response:
    context = {"intervals": [i for i in CHART_INTERVALS if i in INTERVALS]}
    context["goal_pct"] = request.app.state.settings.sl.goal_pct
    context["threshold_s"] = request.app.state.settings.sl.threshold_s
    return render(request, "supervisor/history.html", context, person=person)


@router.get("/calls")
async def calls(request: Request, person: Supervisor) -> Response:
    return render(request, "supervisor/calls.html", {}, person=person)


@router.get("/agents")
async def agents(request: Request, person: Supervisor) -> Response:
    """The agent report: `GET /api/reports/agents` (branch `reports`) drawn as a table."""
    return render(request, "supervisor/agents.html", {}, person=person)


@router.get("/sla")
async def sla(request: Request, person: Supervisor) -> Response:
    return render(request, "supervisor/sla.html", {}, person=person)
