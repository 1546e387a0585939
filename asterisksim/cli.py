"""`hotline sim ...`: run the simulated Asterisk's scenarios and record what AMI sent."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

sim_app = typer.Typer(
    help="Simulated Asterisk (mocked AMI) for tests and demos.", no_args_is_help=True
)


@sim_app.command("scenario")
def scenario(
    name: Annotated[str, typer.Argument(help="scenario name, e.g. answered")],
    record: Annotated[Path | None, typer.Option(help="write the AMI bytes received here")] = None,
    truth: Annotated[Path | None, typer.Option(help="write the ground truth JSON here")] = None,
) -> None:
    """Run a named scenario on an accelerated clock."""
    from asterisksim.scenarios import SCENARIOS, run_scenario
    from asterisksim.truth import to_json

    if name not in SCENARIOS:
        typer.echo(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}", err=True)
        raise typer.Exit(2)
    run = asyncio.run(run_scenario(name))
    if record is not None:
        record.write_bytes(run.received)
    if truth is not None:
        truth.write_text(to_json(run.truth))
    typer.echo(f"{name}: {len(run.received)} bytes, {len(run.truth)} calls")


@sim_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address for AMI clients")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="AMI port")] = 5038,
    real_time: Annotated[
        bool, typer.Option("--real-time/--accelerated", help="wall-clock time or a fast clock")
    ] = True,
    hours: Annotated[int, typer.Option(help="hours of generated traffic")] = 24,
    agents: Annotated[int, typer.Option(help="agents on shift")] = 5,
    seed: Annotated[int, typer.Option(help="traffic seed")] = 1,
    agi_url: Annotated[
        str | None, typer.Option(help="agi://host:port/script for each call")
    ] = None,
    timestamps: Annotated[bool, typer.Option(help="manager.conf timestampevents")] = True,
    truth: Annotated[Path | None, typer.Option(help="write the ground truth JSON here")] = None,
    queue_log: Annotated[
        Path | None, typer.Option(help="append a queue_log here, as app_queue writes one")
    ] = None,
) -> None:
    """Serve a simulated Asterisk with a generated day of traffic (for the demo)."""
    from asterisksim.config import SimConfig
    from asterisksim.sim import SimulatedAsterisk
    from asterisksim.traffic import TrafficGenerator, TrafficProfile
    from asterisksim.truth import to_json

    config = SimConfig(host=host, port=port, agi_url=agi_url, timestampevents=timestamps,
                       channelvars=("UIN", "TICKET_ID"))  # fmt: skip

    async def run() -> int:
        async with SimulatedAsterisk(config, accelerated=not real_time) as sim:
            typer.echo(f"simulated Asterisk: AMI on {sim.host}:{sim.port}")
            log = sim.write_queue_log(queue_log) if queue_log is not None else None
            profile = TrafficProfile(seed=seed, agents=agents, shift_hours=(0, 24))
            end_s = TrafficGenerator(sim, profile).schedule_day(hours=hours)
            await sim.run_until(end_s)
            if truth is not None:
                truth.write_text(to_json(sim.ground_truth))
            if log is not None:
                log.close()
            return len(sim.ground_truth)

    calls = asyncio.run(run())
    typer.echo(f"done: {calls} calls")
