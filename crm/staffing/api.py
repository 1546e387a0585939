"""Staffing API (role `supervisor`): `GET /api/staffing`, the agents per interval for a target,
as JSON or as CSV (`format=csv` or `Accept: text/csv`). Mounted by `hotline.bootstrap`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Query, Request, status
from fastapi.responses import JSONResponse, Response

from core.settings import Settings
from crm.deps import Principal, require
from crm.staffing.errors import StaffingError
from crm.staffing.schemas import StaffingAnswer, StaffingPlan
from crm.staffing.service import PlanRequest, Target, answer_for_rate, plan, plan_csv

router = APIRouter()
SupervisorRole = Annotated[Principal, Depends(require("supervisor"))]
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


@router.get(
    "/api/staffing",
    tags=["supervisor"],
    response_model=StaffingPlan | StaffingAnswer,
    responses={200: {"content": {"text/csv": {}}}, 422: {"description": "no answer as asked"}},
)
async def staffing(
    request: Request,
    _: SupervisorRole,
    queue: Annotated[str, Query(max_length=80)] = "hotline",
    day: Annotated[date | None, Query(description="the day to plan; default: today")] = None,
    week: Annotated[bool, Query(description="plan seven days from `day`")] = False,
    interval: Annotated[int, Query(description="minutes: 15, 30 or 60")] = 30,
    weeks: Annotated[
        int | None, Query(ge=1, le=52, description="history: the same weekday, N weeks back")
    ] = None,
    target: Annotated[
        float | None, Query(gt=0, description="percent answered within the threshold")
    ] = None,
    threshold: Annotated[int | None, Query(ge=0, description="seconds")] = None,
    shrinkage: Annotated[float | None, Query(ge=0, lt=1)] = None,
    agents: Annotated[
        int | None, Query(ge=1, description="the inverse: figures for this many agents")
    ] = None,
    rate: Annotated[
        float | None, Query(ge=0, description="calls per hour: one load instead of the history")
    ] = None,
    aht: Annotated[float | None, Query(gt=0, description="handle time, talk + wrap-up, s")] = None,
    patience: Annotated[float | None, Query(gt=0, description="mean patience, s")] = None,
    model: Annotated[Literal["auto", "erlang_c", "erlang_a"], Query()] = "auto",
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
) -> StaffingPlan | StaffingAnswer | Response:
    """Agents needed per interval for `target` % within `threshold` s (Erlang C, or A when
    callers give up), and the number to schedule after `shrinkage`; or, with `agents`, what
    that many give. With `rate` (and `aht`): one load, no history."""
    settings: Settings = request.app.state.settings
    if target is not None and agents is not None:
        raise StaffingError("give a target or a number of agents, not both")
    goal = Target(
        target_pct=None
        if agents is not None
        else (target or settings.staffing.staffing_target_pct),
        threshold_s=settings.sl.threshold_s if threshold is None else threshold,
        short_abandon_s=settings.sl.short_abandon_s,
        shrinkage=settings.staffing.staffing_shrinkage if shrinkage is None else shrinkage,
        agents=agents,
    )
    if rate is not None:
        if aht is None:
            raise StaffingError("a rate needs its handle time: give aht (seconds)")
        return answer_for_rate(rate, aht, None if model == "erlang_c" else patience, goal)
    timezone = settings.calendar.timezone
    planned = await plan(
        request.app.state.engine,
        PlanRequest(
            queue=queue,
            first_day=day or datetime.now(ZoneInfo(timezone)).date(),
            days=7 if week else 1,
            interval_min=interval,
            weeks=weeks or settings.staffing.staffing_weeks,
            wrapup_s=settings.staffing.wrapup_s,
            aht_s=aht,
            patience_s=patience,
            model=model,
        ),
        goal,
        timezone,
    )
    if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
        name = f"staffing-{queue}-{planned.days[0].day.isoformat()}.csv"
        return Response(
            plan_csv(planned),
            media_type=CSV_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return planned


def install_staffing_error_handlers(app: FastAPI) -> None:
    """A question with no answer (a 100 % target, a load beyond any staffing) is a 422."""

    @app.exception_handler(StaffingError)
    async def _staffing_error(_request: Request, exc: StaffingError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
