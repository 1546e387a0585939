"""The tracker's commands: `hotline replay` of recorded AMI sessions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from core.service_level import DEFAULT_SHORT_ABANDON_S, DEFAULT_THRESHOLD_S

replay_app = typer.Typer(add_completion=False)


@replay_app.command()
def replay(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="raw AMI transcripts (bytes as received); several are successive sessions",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    sl_threshold: Annotated[
        int, typer.Option("--sl-threshold", min=1, help="service-level threshold T, seconds")
    ] = DEFAULT_THRESHOLD_S,
    short_abandon: Annotated[
        int, typer.Option("--short-abandon", min=0, help="abandons within S s are not counted")
    ] = DEFAULT_SHORT_ABANDON_S,
) -> None:
    """Replay AMI transcripts through the tracker: calls, waits, transfers, service level."""
    from callqueue.replay import replay_report

    report = replay_report(files, sl_threshold, short_abandon)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    for row in report["calls"]:
        transfers = ", ".join(f"{t['kind']}->{t['to']}" for t in row["transfers"])
        typer.echo(
            f"{row['linkedid']:>18} {row['queue']:<10} {row['outcome']:<9} "
            f"wait {row['wait_s']!s:>7} s  {row['agent']:<8} {transfers}"
        )
    for queue, figures in report["service_level"].items():
        typer.echo(
            f"{queue:<10} offered {figures['offered']} answered {figures['answered']} "
            f"abandoned {figures['abandoned']} sl {figures['sl']} "
            f"perf {figures['perf']} perf2 {figures['perf2']}"
        )
