"""The agent report as CSV: one row per agent and interval, then each agent's total
(`period` = `total`); pause reasons as columns `paused_<reason>_s`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crm.csv_export import CsvRows
from crm.reports.service import AgentReport, Grid

FIELDS = (
    "logged_in_s",
    "sessions",
    "paused_s",
    "offered",
    "answered",
    "missed",
    "talk_s",
    "wrapup_s",
    "transfers",
    "days_logged_in",
    "contacts_per_day",
    "occupancy",
)
CHUNK_ROWS = 500


def header(reasons: list[str]) -> list[str]:
    return [
        "period",
        "start",
        "end",
        "agent",
        *FIELDS,
        *(f"paused_{r or 'no_reason'}_s" for r in reasons),
    ]


def reasons_of(reports: list[AgentReport]) -> list[str]:
    return sorted({reason for report in reports for reason in report.total.paused_by_reason})


def agents_csv(
    grid: Grid,
    reports: list[AgentReport],
    reasons: list[str],
    rows: CsvRows,
    span: tuple[str, str],
) -> Iterator[str]:
    """CSV text in pieces (the header is the caller's: `crm.csv_export.with_bom`)."""
    batch: list[list[Any]] = []
    first, last = span
    for report in reports:
        for i, figures in enumerate(report.series):
            values = figures.as_dict()
            by_reason = values["paused_by_reason"]
            batch.append(
                [
                    "interval",
                    grid.starts[i].isoformat(),
                    grid.ends[i].isoformat(),
                    report.agent,
                    *(values[f] for f in FIELDS),
                    *(by_reason.get(r, 0.0) for r in reasons),  # type: ignore[union-attr]
                ]
            )
            if len(batch) >= CHUNK_ROWS:
                yield rows.piece(batch)
                batch.clear()
        values = report.total.as_dict()
        by_reason = values["paused_by_reason"]
        batch.append(
            [
                "total",
                first,
                last,
                report.agent,
                *(values[f] for f in FIELDS),
                *(by_reason.get(r, 0.0) for r in reasons),  # type: ignore[union-attr]
            ]
        )
    yield rows.piece(batch)
