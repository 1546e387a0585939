"""The `hotline` command: one entry point for every Hotline component."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from core.settings import Settings

app = typer.Typer(help="Hotline: contact-centre backend on Asterisk.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
prompts_app = typer.Typer(
    help="IVR prompts (text catalogue -> telephone audio).", no_args_is_help=True
)
app.add_typer(prompts_app, name="prompts")
SOUNDS_DIR = "asterisk-config/sounds"


@prompts_app.command("render")
def prompts_render(
    out: Annotated[
        str, typer.Option(help="sounds folder (Asterisk's sounds/<lang>/ layout)")
    ] = SOUNDS_DIR,
    force: Annotated[bool, typer.Option(help="render everything, changed or not")] = False,
) -> None:
    """Render every prompt and digit, ru and en, to 8 kHz mono WAV; only changed ones.

    The closed-hours prompt says the hours of HOTLINE_HOURS and HOTLINE_TIMEZONE."""
    from pathlib import Path

    from ivr.render import render

    report = render(Path(out), force=force, calendar=_settings().calendar)
    typer.echo(
        f"{len(report.rendered)} rendered, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed, in {out}"
    )


asterisk_app = typer.Typer(
    help="Asterisk configuration (templates -> files).", no_args_is_help=True
)
app.add_typer(asterisk_app, name="asterisk-config")


@asterisk_app.command("render")
def asterisk_config_render(
    out: Annotated[
        str, typer.Option(help="folder to write the .conf files into")
    ] = "build/asterisk",
) -> None:
    """Fill asterisk-config/*.conf from the environment (numbers, addresses, secrets)."""
    import os
    from pathlib import Path

    from hotline.asterisk_config import ConfigError, render

    try:
        written = render(Path(out), os.environ, _settings())
    except ConfigError as exc:
        typer.echo(f"hotline asterisk-config render: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{len(written)} files written to {out}")


# Forwarded as they are: the simulator (and the replay's tracker) load only when these run,
# so the production commands never import the simulated Asterisk.
FORWARDED = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.command(context_settings=FORWARDED, add_help_option=False)
def sim(ctx: typer.Context) -> None:
    """Simulated Asterisk (mocked AMI) for tests and demos: `hotline sim --help`."""
    try:
        from asterisksim.cli import sim_app
    except ModuleNotFoundError:  # the production image leaves the simulator out
        typer.echo("hotline sim: the simulated Asterisk is not installed here", err=True)
        raise typer.Exit(2) from None
    sim_app(args=ctx.args, prog_name="hotline sim")


@app.command(context_settings=FORWARDED, add_help_option=False)
def replay(ctx: typer.Context) -> None:
    """Replay AMI transcripts through the tracker: `hotline replay --help`."""
    from callqueue.cli import replay_app

    replay_app(args=ctx.args, prog_name="hotline replay")


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        typer.echo(f"hotline: bad settings: {exc}", err=True)
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Migrate the database of HOTLINE_DATABASE_URL to `revision` (default: head)."""
    from crm.migrate import upgrade

    settings = _settings()
    upgrade(settings.db.url, revision)
    typer.echo(f"database at {revision}")


@app.command()
def crm(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="server processes")] = 1,
    upgrade_db: Annotated[
        bool, typer.Option("--upgrade-db/--no-upgrade-db", help="migrate the database first")
    ] = True,
) -> None:
    """Serve the CRM API (OpenAPI at /docs)."""
    import uvicorn

    from crm.migrate import upgrade

    settings = _settings()
    logging.basicConfig(level=logging.INFO)
    if not settings.api.token_digests:
        typer.echo(
            "hotline crm: HOTLINE_API_TOKENS is empty: every /api route but "
            "/api/health will answer 401",
            err=True,
        )
    if upgrade_db:
        upgrade(settings.db.url)
    # A factory, so that each of several worker processes builds its own app.
    uvicorn.run(
        "hotline.bootstrap:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


@app.command()
def agi(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 4573,
    sounds: Annotated[
        str, typer.Option(help="rendered prompts (checked at start-up)")
    ] = SOUNDS_DIR,
) -> None:
    """Run the FastAGI server (routes hotline, whisper, survey, agent-login/logout/pause)."""
    import asyncio
    import signal
    from pathlib import Path

    from hotline.bootstrap.agi import AgiService, MissingPrompts

    settings = _settings()
    settings.agi.host, settings.agi.port = host, port
    logging.basicConfig(level=logging.INFO)

    async def main() -> None:
        service = AgiService(settings, sounds_dir=Path(sounds))
        try:
            await service.start()
        except MissingPrompts as exc:
            typer.echo(f"hotline agi: {exc}", err=True)
            raise typer.Exit(2) from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await service.stop()

    asyncio.run(main())


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="run one round and exit")] = False,
) -> None:
    """Run the ticket lifecycle worker: escalations, reminders, refusals, closures, e-mails.

    Safe to run on several hosts at once (PostgreSQL row locks); every
    HOTLINE_WORKER_INTERVAL_S seconds until SIGINT or SIGTERM.
    """
    import asyncio
    import signal

    from crm.db import make_engine
    from hotline.bootstrap import create_worker, run_worker

    settings = _settings()
    logging.basicConfig(level=logging.INFO)

    async def main() -> None:
        if once:
            engine = make_engine(settings.db.url)
            try:
                done = await create_worker(settings, engine).run_once()
            finally:
                await engine.dispose()
            typer.echo(f"worker round: {dict(done) or 'nothing to do'}")
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    asyncio.run(main())


@app.command()
def tracker(
    recorder: Annotated[
        bool,
        typer.Option(
            "--recorder/--no-recorder",
            help="also run the recorder (facts -> SQL) here; the screen pops always run",
        ),
    ] = True,
    upgrade_db: Annotated[
        bool, typer.Option("--upgrade-db/--no-upgrade-db", help="migrate the database first")
    ] = True,
) -> None:
    """Run the call tracker against the AMI of HOTLINE_AMI_HOST:HOTLINE_AMI_PORT.

    Facts go onto the Redis stream `hotline:facts`, live queue and agent state into
    Redis, screen pops to the agents; with --recorder (the default) the same process
    records the facts in SQL.
    """
    import asyncio
    import signal

    from hotline.bootstrap.tracker import run_tracker

    settings = _settings()
    logging.basicConfig(level=logging.INFO)
    if recorder and upgrade_db:
        from crm.migrate import upgrade

        upgrade(settings.db.url)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_tracker(settings, stop, with_recorder=recorder)

    asyncio.run(main())


@app.command()
def demo(
    calls: Annotated[int, typer.Option(min=1, help="callers in the busy hour")] = 300,
    agents: Annotated[
        int | None, typer.Option(min=1, help="agents on line 1 (default: enough for the calls)")
    ] = None,
    seed: Annotated[int, typer.Option(help="traffic seed")] = 1,
    speed: Annotated[str, typer.Option(help="simulated seconds per real second, or 'max'")] = "60",
    json_out: Annotated[
        bool, typer.Option("--json", help="print only the summary, as one JSON object")
    ] = False,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy async URL (default: SQLite in a temp folder)")
    ] = None,
    port: Annotated[int, typer.Option(help="the CRM API's port (0: a free one)")] = 0,
) -> None:
    """All of Hotline in one process against a simulated Asterisk: a busy hour, then a summary."""
    import asyncio
    import json

    from hotline.demo.run import DemoOptions, parse_speed, run_demo

    try:
        options = DemoOptions(
            calls=calls,
            agents=agents,
            seed=seed,
            speed=parse_speed(speed),
            database_url=database_url,
            port=port,
        )
    except ValueError as exc:
        typer.echo(f"hotline demo: {exc}", err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(level=logging.ERROR if json_out else logging.WARNING)

    def say(line: str) -> None:
        if not json_out:
            typer.echo(line)

    report, summary = asyncio.run(run_demo(options, say))
    if json_out:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(report.text())


@app.command("run")
def run_command(
    host: Annotated[str, typer.Option(help="address of the CRM API")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port of the CRM API")] = 8000,
    agi_host: Annotated[str, typer.Option(help="address of the FastAGI server")] = "127.0.0.1",
    agi_port: Annotated[int, typer.Option(help="port of the FastAGI server")] = 4573,
    sounds: Annotated[
        str, typer.Option(help="rendered prompts (checked at start-up)")
    ] = SOUNDS_DIR,
    upgrade_db: Annotated[
        bool, typer.Option("--upgrade-db/--no-upgrade-db", help="migrate the database first")
    ] = True,
) -> None:
    """Every component in one process (API, AGI, tracker + recorder, worker): a small site."""
    import asyncio
    import signal
    from pathlib import Path

    from hotline.bootstrap.agi import MissingPrompts
    from hotline.run import RunOptions, run_all

    settings = _settings()
    logging.basicConfig(level=logging.INFO)
    if upgrade_db:
        from crm.migrate import upgrade

        upgrade(settings.db.url)
    options = RunOptions(host, port, agi_host, agi_port, Path(sounds))

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_all(settings, options, stop)

    try:
        asyncio.run(main())
    except MissingPrompts as exc:
        typer.echo(f"hotline run: {exc}", err=True)
        raise typer.Exit(2) from None


if __name__ == "__main__":
    app()
