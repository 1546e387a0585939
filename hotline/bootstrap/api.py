"""The one place that wires Hotline together: engine, Redis, services, the FastAPI app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.ami.manager import AmiManager
from core.context.store import CallContextStore
from core.settings import Settings
from crm.agents.api import install_agent_error_handlers
from crm.agents.api import router as agents_router
from crm.agents.service import AgentQueues
from crm.api import install_error_handlers, router
from crm.calls.api import router as calls_router
from crm.db import make_engine, make_sessionmaker
from crm.edge import BodyLimit, install_edge_error_handlers, plain_request_text
from crm.lifecycle.api import install_lifecycle_error_handlers
from crm.lifecycle.api import router as lifecycle_router
from crm.lifecycle.calendar import CalendarStore
from crm.lifecycle.service import LifecycleService
from crm.lifecycle.tokens import ConfirmationTokens
from crm.mail.api import router as mail_router
from crm.mail.service import MailIntake
from crm.models import utcnow
from crm.people.service import PeopleService
from crm.reports.api import router as reports_router
from crm.service import Clock, TicketService
from crm.sse import install_stopping
from crm.staffing.api import install_staffing_error_handlers
from crm.staffing.api import router as staffing_router
from crm.supervisor.api import router as supervisor_router
from crm.supervisor.feed import WallboardFeed
from crm.supervisor.pages import router as supervisor_pages_router
from crm.supervisor.tally import TodayTally
from crm.supervisor.wallboard import read_wallboard
from crm.transfers.api import install_transfer_error_handlers
from crm.transfers.api import router as transfers_router
from crm.transfers.service import TransferService
from crm.web.apidocs import router as apidocs_router
from crm.web.auth import install_page_auth
from crm.web.desk import router as desk_router
from crm.web.pages import router as pages_router
from crm.web.session import DEFAULT_SECRET_FILE, SessionCookies, session_secret
from crm.web.templates import Pages
from hotline import __version__

log = logging.getLogger(__name__)
HEALTH_TIMEOUT_S = 2.0


def confirmation_tokens(settings: Settings) -> ConfirmationTokens:
    return ConfirmationTokens(
        settings.lifecycle.secret_key,
        timedelta(days=settings.lifecycle.confirm_link_max_age_days),
    )


def mail_intake(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    calendars: CalendarStore,
    clock: Clock,
) -> MailIntake:
    """The one intake function behind `POST /api/mail/inbound` and the IMAP reader."""
    return MailIntake(
        sessions,
        calendars,
        uin_digits=settings.tickets.uin_digits,
        own_address=settings.mail.smtp_from,
        max_attachment_bytes=settings.imap.mail_max_bytes,
        clock=clock,
    )


def create_app(
    settings: Settings,
    clock: Clock = utcnow,
    ami: AmiManager | None = None,
    redis_factory: Callable[[], Redis] | None = None,
    engine_factory: Callable[[str], AsyncEngine] = make_engine,
) -> FastAPI:
    """The CRM API; its engine and Redis client live as long as the app's lifespan.

    `clock` gives "now" to every service (tests pass a fake one to control SLA time).
    `ami` makes the transfer API's actions; without it, one is built from the settings
    when `HOTLINE_AMI_SECRET` is set (else transfers over the API answer 502).
    `redis_factory` replaces the client of `HOTLINE_REDIS_URL` (the demo's embedded Redis).
    `engine_factory` builds the engine of `HOTLINE_DATABASE_URL` (the demo's runs SQLite
    on the loop's thread: the file is its own).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = engine_factory(settings.db.url)
        redis = redis_factory() if redis_factory is not None else _redis(settings)
        own_ami = ami is None and bool(settings.ami.secret)
        manager = AmiManager(settings.ami, event_mask="off") if own_ami else ami
        if own_ami and manager is not None:
            manager.connect()
        _install_services(app, settings, engine, redis, manager, clock)
        app.state.health = _health_check(engine, redis)
        try:
            yield
        finally:
            if own_ami and manager is not None:
                await manager.aclose()
            await redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="Hotline CRM",
        version=__version__,
        lifespan=lifespan,
        description="Tickets with UINs, calls, transfers and service-level metrics.",
        dependencies=[Depends(plain_request_text)],
        # /docs and /redoc are served from vendored assets (crm/web/apidocs.py), not a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(
        SessionCookies,
        secret=session_secret(settings.web),
        max_age_s=settings.web.session_max_age_s,
    )
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.api.max_body_bytes,
        larger={"/api/mail/inbound": settings.api.max_mail_bytes},
    )
    install_stopping(app)
    app.include_router(router)
    app.include_router(lifecycle_router)
    app.include_router(supervisor_router)
    app.include_router(calls_router)
    app.include_router(reports_router)
    app.include_router(staffing_router)
    app.include_router(transfers_router)
    app.include_router(mail_router)
    app.include_router(agents_router)
    app.include_router(pages_router)
    app.include_router(desk_router)
    app.include_router(supervisor_pages_router)
    app.include_router(apidocs_router)
    app.mount("/static", StaticFiles(packages=[("crm.web", "static")]), name="static")
    app.state.pages = Pages(settings.calendar.timezone, settings.web.language)
    install_page_auth(app)
    install_error_handlers(app)
    install_edge_error_handlers(app)
    install_transfer_error_handlers(app)
    install_lifecycle_error_handlers(app)
    install_staffing_error_handlers(app)
    install_agent_error_handlers(app)
    return app


def _redis(settings: Settings) -> Redis:
    return Redis.from_url(
        settings.redis.url,
        socket_timeout=HEALTH_TIMEOUT_S,
        socket_connect_timeout=HEALTH_TIMEOUT_S,
    )


def _install_services(
    app: FastAPI,
    settings: Settings,
    engine: AsyncEngine,
    redis: Redis,
    manager: AmiManager | None,
    clock: Clock,
) -> None:
    """The services the routes use, on `app.state` for the lifespan's duration."""
    app.state.settings = settings
    app.state.engine = engine
    app.state.redis = redis
    app.state.keys = settings.redis.keys
    app.state.clock = clock
    sessions = make_sessionmaker(engine)
    app.state.tickets = TicketService(
        sessions,
        uin_digits=settings.tickets.uin_digits,
        phone_region=settings.tickets.phone_region,
        clock=clock,
    )
    app.state.calendars = CalendarStore(sessions, settings.calendar)
    app.state.lifecycle = LifecycleService(
        sessions,
        settings.lifecycle,
        app.state.calendars,
        confirmation_tokens(settings),
        clock,
    )
    app.state.mail_intake = mail_intake(settings, sessions, app.state.calendars, clock)
    app.state.people = PeopleService(
        sessions,
        max_failures=settings.web.login_max_failures,
        lockout=timedelta(seconds=settings.web.login_lockout_s),
        clock=clock,
    )
    app.state.transfers = TransferService(
        sessions,
        redis,
        settings.redis.keys,
        settings.transfers,
        manager.send_action if manager is not None else None,
        clock,
    )
    app.state.agent_queues = AgentQueues(
        manager.send_action if manager is not None else None,
        settings.asterisk,
        redis=redis,
        keys=settings.redis.keys,
    )
    app.state.wallboard = wallboard_feed(settings, redis)


def wallboard_feed(settings: Settings, redis: Redis) -> WallboardFeed:
    """The supervisor wallboard's one shared reading (API, stream and page)."""
    contexts = CallContextStore(redis, settings.redis.keys)
    tz = ZoneInfo(settings.calendar.timezone)
    tally = TodayTally(settings.sl.threshold_s, settings.sl.short_abandon_s)
    return WallboardFeed(lambda now: read_wallboard(redis, contexts, now, tz, settings, tally))


def _health_check(engine: AsyncEngine, redis: Redis) -> Callable[[], Awaitable[dict[str, bool]]]:
    """`GET /api/health`'s check: the database and Redis, each within HEALTH_TIMEOUT_S."""

    async def db_ok() -> bool:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def redis_ok() -> bool:
        return bool(await redis.ping())

    async def health() -> dict[str, bool]:
        results = {}
        for name, check in (("database", db_ok), ("redis", redis_ok)):
            try:
                results[name] = await asyncio.wait_for(check(), HEALTH_TIMEOUT_S)
            except Exception as exc:  # any failure of the check means "down"
                log.warning("health: %s is down: %s", name, exc)
                results[name] = False
        return results

    return health


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` and multi-worker serving: settings from the environment."""
    return create_app(with_session_secret_file(Settings()))


def with_session_secret_file(settings: Settings) -> Settings:
    """A served site keeps its session key across restarts and workers: without
    `HOTLINE_SESSION_SECRET` or `_FILE`, the file `./hotline-session.key`."""
    if not settings.web.session_secret and not settings.web.session_secret_file:
        settings.web.session_secret_file = DEFAULT_SECRET_FILE
    return settings
