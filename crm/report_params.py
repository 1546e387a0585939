"""Query parameters the reports share, with their checks: the time range cut into
intervals (`from`, `to`, `interval`: the service-level history, the agent report) and the
export format (`format`, `sep`: those two and the call log). Bad input is a 422 in
FastAPI's own shape naming the parameter."""

# No `from __future__ import annotations`: the dependencies' annotations hold their
# factory's arguments (a parameter's description), which FastAPI must evaluate.
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Query, Request

from crm.csv_export import SEPARATORS
from crm.supervisor.intervals import INTERVALS, Interval, interval_starts

Format = Literal["json", "csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("json", "csv", "xlsx")


def invalid(parameter: str, message: str) -> HTTPException:
    """A 422 in FastAPI's own shape, naming the query parameter."""
    return HTTPException(
        422, [{"loc": ["query", parameter], "msg": message, "type": "value_error"}]
    )


def aware(value: datetime | None, tz: tzinfo) -> datetime | None:
    """A time given without an offset is read in the hotline's zone."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def check_order(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start >= end:
        raise invalid("from", "`from` must be before `to`")


@dataclass(frozen=True)
class ReportRange:
    """[start, end) cut into intervals in the hotline's zone; `starts` are
    `interval_starts()`'s (at most `MAX_INTERVALS`)."""

    start: datetime
    end: datetime
    interval: Interval
    tz: ZoneInfo
    starts: list[datetime]


def report_range(
    default_interval: Interval,
) -> Callable[..., Coroutine[Any, Any, ReportRange]]:
    """Dependency: `from` (default: today 00:00), `to` (exclusive, default: now) and
    `interval`, checked: a known interval, `from` before `to`, not too many intervals."""

    async def _range(
        request: Request,
        from_: Annotated[
            datetime | None, Query(alias="from", description="ISO time; default: today 00:00")
        ] = None,
        to: Annotated[
            datetime | None, Query(description="ISO time, exclusive; default: now")
        ] = None,
        interval: Annotated[
            str, Query(description="15m, hour, day, week (from Monday), month or quarter")
        ] = default_interval,
    ) -> ReportRange:
        tz = ZoneInfo(request.app.state.settings.calendar.timezone)
        if interval not in INTERVALS:
            raise invalid("interval", f"must be one of {', '.join(INTERVALS)}, not {interval!r}")
        name: Interval = interval  # type: ignore[assignment]
        end = aware(to, tz) or datetime.now(UTC)
        start = aware(from_, tz) or datetime.now(tz).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        check_order(start, end)
        try:
            starts = list(interval_starts(start, end, name, tz))
        except ValueError as exc:
            raise invalid("interval", str(exc)) from None
        return ReportRange(start, end, name, tz, starts)

    return _range


@dataclass(frozen=True)
class ExportFormat:
    format: Format
    sep: str  # a key of `crm.csv_export.SEPARATORS`


def export_format(description: str) -> Callable[..., Coroutine[Any, Any, ExportFormat]]:
    """Dependency: `format` (described by `description`: what a row is) and `sep`, checked."""

    async def _format(
        format: Annotated[str, Query(description=description)] = "json",
        sep: Annotated[
            str, Query(description="csv: `;` (decimal comma, the default), `,` or `tab`")
        ] = ";",
    ) -> ExportFormat:
        if format not in FORMATS:
            raise invalid("format", f"must be json, csv or xlsx, not {format!r}")
        if sep not in SEPARATORS:
            raise invalid("sep", f"must be one of {', '.join(SEPARATORS)}, not {sep!r}")
        return ExportFormat(format, sep)  # type: ignore[arg-type]

    return _format
