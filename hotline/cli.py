"""The `hotline` command: one entry point for every Hotline component."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from core.settings import Settings
from hotline.users import users_app

app = typer.Typer(help="Hotline: contact-centre backend on Asterisk.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
prompts_app = typer.Typer(
    help="IVR prompts (text catalogue -> telephone audio).", no_args_is_help=True
)
app.add_typer(prompts_app, name="prompts")
app.add_typer(users_app, name="users")
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


def _session_secret_or_exit(settings: Settings, command: str) -> None:
    """A served site's session key: HOTLINE_SESSION_SECRET, or the key file (made now, so
    that every worker reads the same one); a clear refusal when neither can be had."""
    from crm.web.session import SecretUnavailable, session_secret
    from hotline.bootstrap.api import with_session_secret_file

    try:
        session_secret(with_session_secret_file(settings).web)
    except SecretUnavailable as exc:
        typer.echo(f"hotline {command}: {exc}", err=True)
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
    _session_secret_or_exit(settings, "crm")
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

    from hotline.bootstrap.agi import AgiService, MissingPrompts, settle_heap

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
        settle_heap()
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


@app.command("mail-intake")
def mail_intake(
    once: Annotated[
        bool, typer.Option("--once", help="take the waiting messages once and exit")
    ] = False,
    upgrade_db: Annotated[
        bool, typer.Option("--upgrade-db/--no-upgrade-db", help="migrate the database first")
    ] = True,
) -> None:
    """Read the hotline's mailbox (HOTLINE_IMAP_*): new requests become tickets on channel
    email, replies join their ticket, mail without enough information is returned.

    Waits in IDLE where the server offers it, else polls every HOTLINE_IMAP_POLL_S
    seconds, until SIGINT or SIGTERM. E-mails to senders go through the outbox (the
    worker sends them).
    """
    import asyncio
    import signal

    from crm.mail.imap import ImapError
    from hotline.bootstrap.mail import mail_reader, run_mail_intake

    settings = _settings()
    logging.basicConfig(level=logging.INFO)
    if not settings.imap.imap_host:
        typer.echo("hotline mail-intake: HOTLINE_IMAP_HOST is empty: no mailbox to read", err=True)
        raise typer.Exit(2)
    if upgrade_db:
        from crm.migrate import upgrade

        upgrade(settings.db.url)

    async def main() -> None:
        if once:
            async with mail_reader(settings) as reader:
                try:
                    result = await reader.run_once()
                except (ImapError, OSError, TimeoutError) as exc:
                    where = f"{settings.imap.imap_host}:{settings.imap.port}"
                    typer.echo(f"hotline mail-intake: IMAP {where}: {exc!r}", err=True)
                    raise typer.Exit(1) from None
            typer.echo(f"mail-intake: {result.taken} taken, {result.failed} failed")
            if result.failed:
                raise typer.Exit(1)
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_mail_intake(settings, stop)

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

    Facts go onto the Redis stream `<prefix>:facts`, live queue and agent state into
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

    try:
        asyncio.run(main())
    except Exception:  # logged with its traceback by run_tracker: exit for the supervisor
        raise typer.Exit(1) from None


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
    rate: Annotated[
        float | None,
        typer.Option(help="steady traffic instead of the busy hour: Poisson calls per hour"),
    ] = None,
    aht: Annotated[
        float | None, typer.Option(help="with --rate: mean talk time, s (exponential; 180)")
    ] = None,
    patience: Annotated[
        float | None, typer.Option(help="with --rate: callers' mean patience, s (exponential; 75)")
    ] = None,
    hours: Annotated[float | None, typer.Option(help="with --rate: hours of traffic (1)")] = None,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep",
            help="after the summary keep the stack up (API, pages, simulator) until Ctrl-C,"
            " printing the URLs and a supervisor's and an agent's login",
        ),
    ] = False,
    keep_calling: Annotated[
        bool,
        typer.Option(
            "--keep-calling", help="with --keep: callers go on arriving at the hour's rate"
        ),
    ] = False,
) -> None:
    """All of Hotline in one process against a simulated Asterisk: a busy hour (or --rate's
    steady traffic, staffed by the planner unless --agents), then a summary; with --keep
    the stack stays up until Ctrl-C."""
    import asyncio
    import gc
    import json

    from hotline.demo.report import DemoReport
    from hotline.demo.run import DemoOptions, parse_speed, run_demo

    try:
        options = DemoOptions(
            calls=calls,
            agents=agents,
            seed=seed,
            speed=parse_speed(speed),
            database_url=database_url,
            port=port,
            rate=rate,
            aht_s=aht,
            patience_s=patience,
            hours=hours,
            keep=keep,
            keep_calling=keep_calling,
        )
    except ValueError as exc:
        typer.echo(f"hotline demo: {exc}", err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(level=logging.ERROR if json_out else logging.WARNING)

    def say(line: str) -> None:
        if not json_out:
            typer.echo(line)

    def ready(report: DemoReport, summary: dict[str, object]) -> None:
        typer.echo(json.dumps(summary) if json_out else report.text())

    def tell(line: str) -> None:
        # With --json, standard output stays one JSON object: --keep's lines go to stderr.
        typer.echo(line, err=json_out)

    asyncio.run(run_demo(options, say, ready=ready, tell=tell))
    # Everything is stopped and printed: the interpreter's last collections would walk
    # every object of the run again (seconds after a large one, or after Ctrl-C on --keep).
    gc.freeze()


@app.command()
def staffing(
    rate: Annotated[
        float | None, typer.Option(help="calls per hour (one load; without it: the history)")
    ] = None,
    aht: Annotated[
        float | None, typer.Option(help="handle time, talk + wrap-up, s (default: history)")
    ] = None,
    patience: Annotated[
        float | None,
        typer.Option(help="callers' mean patience, s: Erlang A (default: history; none: C)"),
    ] = None,
    target: Annotated[
        float | None,
        typer.Option(help="percent answered within the threshold [HOTLINE_STAFFING_TARGET_PCT]"),
    ] = None,
    threshold: Annotated[int | None, typer.Option(help="seconds [HOTLINE_SL_THRESHOLD_S]")] = None,
    shrinkage: Annotated[
        float | None,
        typer.Option(help="share of paid time off the phones [HOTLINE_STAFFING_SHRINKAGE]"),
    ] = None,
    agents: Annotated[
        int | None, typer.Option(help="the inverse: what this many agents give")
    ] = None,
    queue: Annotated[str, typer.Option(help="the queue whose history is read")] = "hotline",
    day: Annotated[
        str | None, typer.Option(help="the day to plan, YYYY-MM-DD (default: today)")
    ] = None,
    week: Annotated[bool, typer.Option("--week", help="plan seven days from --day")] = False,
    interval: Annotated[int, typer.Option(help="minutes per interval: 15, 30 or 60")] = 30,
    weeks: Annotated[
        int | None,
        typer.Option(help="history: the same weekday, N weeks back [HOTLINE_STAFFING_WEEKS]"),
    ] = None,
    model: Annotated[str, typer.Option(help="auto, erlang_c or erlang_a")] = "auto",
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    csv_out: Annotated[bool, typer.Option("--csv", help="print the plan as CSV")] = False,
) -> None:
    """Agents needed for a target share within a threshold (Erlang C, or A when callers
    give up): for one rate, or per interval of a day or a week from the recorded history."""
    from hotline.staffing import StaffingOptions, run_staffing

    options = StaffingOptions(
        rate=rate,
        aht=aht,
        patience=patience,
        target=target,
        threshold=threshold,
        shrinkage=shrinkage,
        agents=agents,
        queue=queue,
        day=day,
        week=week,
        interval=interval,
        weeks=weeks,
        model=model,
        json_out=json_out,
        csv_out=csv_out,
    )
    try:
        typer.echo(run_staffing(_settings(), options))
    except ValueError as exc:  # StaffingError and bad dates alike: say what is wrong
        typer.echo(f"hotline staffing: {exc}", err=True)
        raise typer.Exit(2) from None


reconcile_app = typer.Typer(help="Hotline's record against Asterisk's own.", no_args_is_help=True)
app.add_typer(reconcile_app, name="reconcile")


@reconcile_app.command("queue-log")
def reconcile_queue_log(
    file: Annotated[Path, typer.Argument(help="Asterisk's queue_log")],
    from_: Annotated[
        str | None,
        typer.Option("--from", help="ISO time (default: the file's first entry)"),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="ISO time, exclusive (default: its last)")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Calls Asterisk's queue_log has that Hotline did not record, entries Hotline recorded
    that Asterisk does not know, waits more than 1 s apart and outcomes that differ (in
    HOTLINE_DATABASE_URL). Exit status 1 when there is any."""
    import json

    from hotline.reconcile import run_reconcile, summary

    try:
        report = run_reconcile(_settings(), file, from_, to)
    except ValueError as exc:
        typer.echo(f"hotline reconcile: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(report, ensure_ascii=False) if json_out else summary(report))
    if not report["ok"]:
        raise typer.Exit(1)


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
    """Every component in one process (API, AGI, tracker + recorder, worker, and the mail
    intake when HOTLINE_IMAP_HOST is set): a small site."""
    import asyncio
    import signal
    from pathlib import Path

    from hotline.bootstrap.agi import MissingPrompts
    from hotline.run import RunOptions, run_all

    settings = _settings()
    logging.basicConfig(level=logging.INFO)
    _session_secret_or_exit(settings, "run")
    if upgrade_db:
        from crm.migrate import upgrade

        upgrade(settings.db.url)
    options = RunOptions(host, port, agi_host, agi_port, Path(sounds), settle_heap=True)

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
