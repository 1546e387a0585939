"""One settings object, read from `HOTLINE_*` environment variables and an optional `.env`."""

from __future__ import annotations

import hashlib
import re
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.keys import DEFAULT_PREFIX, RedisKeys, check_prefix
from core.service_level import DEFAULT_SHORT_ABANDON_S, DEFAULT_THRESHOLD_S

Role = Literal["agent", "supervisor", "service"]
ROLES: tuple[Role, ...] = ("agent", "supervisor", "service")

# Tokens that are plainly placeholders are refused rather than trusted.
_PLACEHOLDER_TOKENS = {"changeme", "change-me", "secret", "password", "token", "test", "xxx"}
MIN_TOKEN_LENGTH = 16
MIN_SECRET_LENGTH = 32


def _group(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )


class DatabaseSettings(BaseSettings):
    """`HOTLINE_DATABASE_URL`: an SQLAlchemy async URL."""

    model_config = _group("HOTLINE_DATABASE_")
    url: str = "sqlite+aiosqlite:///./hotline.db"


class RedisSettings(BaseSettings):
    """`HOTLINE_REDIS_URL`, `HOTLINE_REDIS_PREFIX`: every key, stream and pub/sub channel of
    this install sits under `<prefix>:`, so two installs on one Redis set two prefixes."""

    model_config = _group("HOTLINE_REDIS_")
    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = DEFAULT_PREFIX

    @field_validator("prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        return check_prefix(value)

    @property
    def keys(self) -> RedisKeys:
        """The names of this install's keys, streams and channels."""
        return RedisKeys(self.prefix)


class TicketSettings(BaseSettings):
    """`HOTLINE_UIN_DIGITS`, `HOTLINE_PHONE_REGION`."""

    model_config = _group("HOTLINE_")
    uin_digits: int = Field(default=8, ge=4, le=18)
    phone_region: str = "RU"


class ApiSettings(BaseSettings):
    """`HOTLINE_API_TOKENS`: comma-separated `role:token` pairs; an agent's token may name
    its agent (`agent/agent1:token`), which the transfer API needs to know who is asking."""

    model_config = _group("HOTLINE_API_")
    tokens: str = ""
    # A request body longer than this is refused (413) before it is read in full or parsed.
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # `POST /api/mail/inbound` takes whole e-mails, attachments included (base64: 4/3).
    max_mail_bytes: int = Field(default=40_000_000, ge=1024)

    @field_validator("tokens")
    @classmethod
    def _check_tokens(cls, value: str) -> str:
        parse_tokens(value)
        return value

    @cached_property
    def token_digests(self) -> dict[bytes, Role]:
        """sha256 of each token -> its role; the plain tokens are not kept around."""
        return {
            hashlib.sha256(token.encode()).digest(): role
            for role, token in parse_tokens(self.tokens)
        }

    @cached_property
    def token_agents(self) -> dict[bytes, str]:
        """sha256 of each agent token that names its agent -> the agent's name."""
        return {
            hashlib.sha256(token.encode()).digest(): agent
            for _role, agent, token in parse_token_entries(self.tokens)
            if agent
        }


class CrmClientSettings(BaseSettings):
    """`HOTLINE_CRM_URL`, `HOTLINE_CRM_TOKEN`: how the AGI server and tracker reach the CRM."""

    model_config = _group("HOTLINE_CRM_")
    url: str = "http://127.0.0.1:8000"
    token: str = ""
    timeout_s: float = 0.8


class AmiSettings(BaseSettings):
    """`HOTLINE_AMI_HOST`, `_PORT`, `_USER`, `_SECRET`, `_BIND`, `_PERMIT`, and the timings
    below (`HOTLINE_AMI_*`)."""

    model_config = _group("HOTLINE_AMI_")
    host: str = "127.0.0.1"
    port: int = 5038
    # Asterisk's side (rendered into manager.conf): the address AMI listens on, and the
    # networks (comma-separated CIDRs) Hotline's AMI user may log in from. Loopback by
    # default; compose sets its internal network.
    bind: str = "127.0.0.1"
    permit: str = "127.0.0.1/32"
    user: str = "hotline"
    secret: str = ""
    # A Ping unanswered within ping_timeout_s means a dead (half-open) socket.
    ping_interval_s: float = Field(default=10.0, gt=0)
    ping_timeout_s: float = Field(default=5.0, gt=0)
    # Longest wait of one action, including the wait for a connection during an outage.
    action_timeout_s: float = Field(default=10.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    # Reconnect back-off doubles from reconnect_min_s up to reconnect_max_s.
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    # Event classes asked for after login (`Action: Events`); empty means all.
    event_mask: str = "call,agent"
    # Asterisk's queue_log file, when the tracker can read it (same host or a shared
    # volume): at a resync, a call that ended while the tracker was away is closed with
    # what Asterisk logged of it (answered, wait, talk, abandoned) instead of an estimate.
    queue_log: str = ""


class ServiceLevelSettings(BaseSettings):
    """`HOTLINE_SL_THRESHOLD_S`, `HOTLINE_SL_SHORT_ABANDON_S`, `HOTLINE_SL_GOAL_PCT`."""

    model_config = _group("HOTLINE_SL_")
    threshold_s: int = Field(default=DEFAULT_THRESHOLD_S, ge=1)
    short_abandon_s: int = Field(default=DEFAULT_SHORT_ABANDON_S, ge=0)
    # The share answered within T the hotline promises (the wallboard turns red below it).
    goal_pct: float = Field(default=96.0, gt=0, le=100)


class CalendarSettings(BaseSettings):
    """`HOTLINE_HOURS`, `HOTLINE_TIMEZONE`, `HOTLINE_HOLIDAY_CALENDAR`."""

    model_config = _group("HOTLINE_")
    hours: str = "mon-fri 09:00-18:00"
    timezone: str = "Europe/Moscow"
    holiday_calendar: str = "RU"


class AgiSettings(BaseSettings):
    """`HOTLINE_AGI_HOST`, `_PORT`, `_ALLOW` (comma-separated IPs/CIDRs), and the timeouts."""

    model_config = _group("HOTLINE_AGI_")
    host: str = "127.0.0.1"
    port: int = 4573
    allow: str = "127.0.0.1,::1"
    # A client that has not sent its whole environment within header_timeout_s is dropped.
    header_timeout_s: float = Field(default=5.0, gt=0)
    # Longest wait for Asterisk's answer to one AGI command (GET DATA waits for DTMF).
    command_timeout_s: float = Field(default=60.0, gt=0)
    # How often the IVR re-reads the supervisor's calendar overrides from the CRM.
    calendar_refresh_s: float = Field(default=60.0, gt=0)


class AsteriskSettings(BaseSettings):
    """`HOTLINE_WHISPER`, `HOTLINE_AGENT_CHANNEL`, `HOTLINE_AGENT_LANGUAGE`: the dialplan's
    choices that `hotline asterisk-config render` writes into `extensions.conf`.

    The whisper (Queue()'s pre-bridge Gosub) runs after the agent answers and before the
    caller is bridged, inside the caller's wait: off by default, since the screen pop gives
    the agent the UIN and context while the phone rings. `agent_channel` is how the
    dialplan dials agent NN, `{agent}` standing for `agentNN`; a bare technology
    (`PJSIP`) means `PJSIP/{agent}`.
    """

    model_config = _group("HOTLINE_")
    whisper: Literal["off", "on"] = "off"
    agent_channel: str = "PJSIP/{agent}"
    agent_language: Literal["ru", "en"] = "ru"

    @field_validator("agent_channel")
    @classmethod
    def _check_agent_channel(cls, value: str) -> str:
        value = value.strip()
        if "{agent}" not in value:
            value = f"{value}/{{agent}}"
        technology = value.split("/", 1)[0]
        if not technology.isalnum() or any(c in value for c in ",()\n"):
            raise ValueError(
                f"HOTLINE_AGENT_CHANNEL: {value!r} is not a dial string like PJSIP/{{agent}}"
            )
        return value

    def agent_dial(self, agent: str) -> str:
        """The dial string of `agent` (a dialplan expression such as `agent${EXTEN:1}`)."""
        return self.agent_channel.replace("{agent}", agent)


class MailSettings(BaseSettings):
    """`HOTLINE_SMTP_*`: the SMTP server the worker sends the outbox through."""

    model_config = _group("HOTLINE_")
    smtp_host: str = ""  # empty: e-mails wait in the outbox until a server is set
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "hotline@localhost"
    smtp_starttls: bool = False
    smtp_timeout_s: float = Field(default=10.0, gt=0)


class LifecycleSettings(BaseSettings):
    """Ticket lifecycle: escalation, confirmation links, the worker's schedule and periods.

    Periods are in business days of the calendar; `HOTLINE_SECRET_KEY` signs the links
    callers confirm solutions with (placeholders and short keys are refused).
    """

    model_config = _group("HOTLINE_")
    secret_key: str = ""
    public_url: str = "http://127.0.0.1:8000"
    escalation_share: float = Field(default=0.75, gt=0, lt=1)
    escalation_line2_email: str = ""
    escalation_line3_email: str = ""
    worker_interval_s: float = Field(default=60.0, gt=0)
    info_reminder_days: int = Field(default=7, ge=1)
    info_refusal_days: int = Field(default=14, ge=1)
    confirm_reminder1_days: int = Field(default=10, ge=1)
    confirm_reminder2_days: int = Field(default=20, ge=1)
    confirm_close_days: int = Field(default=30, ge=1)
    confirm_link_max_age_days: int = Field(default=90, ge=1)

    @field_validator("secret_key")
    @classmethod
    def _check_secret(cls, value: str) -> str:
        if value and (value.lower() in _PLACEHOLDER_TOKENS or len(value) < MIN_SECRET_LENGTH):
            raise ValueError(
                "HOTLINE_SECRET_KEY is a placeholder or shorter than "
                f"{MIN_SECRET_LENGTH} characters; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return value

    @model_validator(mode="after")
    def _check_order(self) -> LifecycleSettings:
        if not (
            self.confirm_reminder1_days < self.confirm_reminder2_days < self.confirm_close_days
        ):
            raise ValueError(
                "need HOTLINE_CONFIRM_REMINDER1_DAYS < HOTLINE_CONFIRM_REMINDER2_DAYS < "
                "HOTLINE_CONFIRM_CLOSE_DAYS"
            )
        if self.info_reminder_days >= self.info_refusal_days:
            raise ValueError("need HOTLINE_INFO_REMINDER_DAYS < HOTLINE_INFO_REFUSAL_DAYS")
        return self


class StaffingSettings(BaseSettings):
    """`HOTLINE_WRAPUP_S` (the queue's wrap-up after each call: rendered into `queues.conf`
    and added to the talk time by the staffing planner), `HOTLINE_STAFFING_*`: the
    planner's defaults (target share within `HOTLINE_SL_THRESHOLD_S`, shrinkage, weeks of
    history)."""

    model_config = _group("HOTLINE_")
    wrapup_s: int = Field(default=10, ge=0)
    staffing_target_pct: float = Field(default=96.0, gt=0, lt=100)
    staffing_shrinkage: float = Field(default=0.3, ge=0, lt=1)
    staffing_weeks: int = Field(default=4, ge=1, le=52)


class ImapSettings(BaseSettings):
    """`HOTLINE_IMAP_HOST`, `_PORT`, `_USER`, `_PASSWORD`, `_MAILBOX`, `_TLS` and the timings
    below: the hotline's mailbox that `hotline mail-intake` reads; `HOTLINE_MAIL_MAX_BYTES`,
    the largest attachment kept (a larger one is refused with a note to the sender).

    An empty host: no mailbox is read (`hotline run` starts no reader). `tls` is `on`
    (IMAPS, port 993 by default) or `off` (plain IMAP, port 143, for loopback only).
    """

    model_config = _group("HOTLINE_")
    imap_host: str = ""
    imap_port: int | None = Field(default=None, ge=1, le=65535)  # None: 993 with TLS, else 143
    imap_user: str = ""
    imap_password: str = ""
    imap_mailbox: str = "INBOX"
    imap_tls: bool = True
    imap_ca_file: str = ""  # a CA bundle to check the server with; empty: the system's
    # IDLE is renewed this often (RFC 2177: servers may drop an idle client after 30 min).
    imap_idle_s: float = Field(default=600.0, gt=0)
    # Without IDLE (or while it is refused) the mailbox is searched this often.
    imap_poll_s: float = Field(default=30.0, gt=0)
    imap_timeout_s: float = Field(default=30.0, gt=0)
    imap_reconnect_max_s: float = Field(default=60.0, gt=0)
    mail_max_bytes: int = Field(default=10 * 1024 * 1024, ge=0)

    @property
    def port(self) -> int:
        return self.imap_port or (993 if self.imap_tls else 143)


class WebSettings(BaseSettings):
    """The people's pages and their sessions: `HOTLINE_SESSION_SECRET` signs the session
    cookie (empty: the key kept in `HOTLINE_SESSION_SECRET_FILE`, generated there on first
    use; `hotline crm` and `hotline run` default the file to `./hotline-session.key`,
    beside the default SQLite file, and refuse to start if it cannot be written), the
    session's idle lifetime, the lock-out after repeated failed logins, the pages'
    default language (`ru` or `en`; each person's own choice wins)."""

    model_config = _group("HOTLINE_")
    session_secret: str = ""
    session_secret_file: str = ""
    session_max_age_s: int = Field(default=12 * 3600, ge=60)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_s: int = Field(default=900, ge=1)
    language: Literal["ru", "en"] = "ru"

    @field_validator("session_secret")
    @classmethod
    def _check_session_secret(cls, value: str) -> str:
        if value and (value.lower() in _PLACEHOLDER_TOKENS or len(value) < MIN_SECRET_LENGTH):
            raise ValueError(
                "HOTLINE_SESSION_SECRET is a placeholder or shorter than "
                f"{MIN_SECRET_LENGTH} characters; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return value


TARGETS_CONTEXT = "hotline-targets"  # extensions.conf: rendered from HOTLINE_TRANSFER_TARGETS
_DIALPLAN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_EXTENSION = re.compile(r"[0-9]{1,10}")


class TransferSettings(BaseSettings):
    """`HOTLINE_TRANSFER_LIMIT`, `_CONTEXT`, `_PHONE_CONTEXT`, `_TARGETS`, `_RESERVATION_S`.

    `targets` is the one list of transfer targets: it maps dialplan extensions to who
    answers them, `201=agent:agent01,300=queue:support`. `hotline asterisk-config render`
    writes the dialplan's `[hotline-targets]` from it (an agent's extension dials that
    agent through `HOTLINE_AGENT_CHANNEL`, a queue's runs `Queue()`), the API accepts an
    extension or the name behind it, and the screen pop goes to the agent it names.
    `context` is the dialplan context the API's BlindTransfer/Atxfer send the caller to
    (`hotline-targets`: the API counts its own transfers); `phone_context` the one the
    agents' own phones transfer to (the dialplan's TRANSFER_CONTEXT, whose AGI route
    `transfer` decides: a transfer reported there at the limit, or to an extension that
    is not a target, was refused).
    """

    model_config = _group("HOTLINE_TRANSFER_")
    limit: int = Field(default=2, ge=0)
    context: str = TARGETS_CONTEXT
    phone_context: str = "hotline-transfer"
    targets: str = "201=agent:agent01,202=agent:agent02,300=queue:support"
    # An attended transfer nobody completed frees its slot after this long.
    reservation_s: float = Field(default=120.0, gt=0)

    @field_validator("targets")
    @classmethod
    def _check_targets(cls, value: str) -> str:
        parse_targets(value)
        return value

    @field_validator("context", "phone_context")
    @classmethod
    def _check_context(cls, value: str) -> str:
        if not _DIALPLAN_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a dialplan context name")
        return value


def parse_targets(value: str) -> dict[str, tuple[str, str]]:
    """`201=agent:agent01,300=queue:support` -> {"201": ("agent", "agent01"), ...}.

    Extensions are digits (an agent's phone dials them); agent and queue names are
    dialplan names (they are written into the rendered `[hotline-targets]`)."""
    targets: dict[str, tuple[str, str]] = {}
    for raw in value.split(","):
        item = raw.strip()
        if not item:
            continue
        exten, _, target = item.partition("=")
        kind, _, name = target.partition(":")
        exten, kind, name = exten.strip(), kind.strip(), name.strip()
        if (
            not _EXTENSION.fullmatch(exten)
            or kind not in ("agent", "queue")
            or not _DIALPLAN_NAME.fullmatch(name)
        ):
            raise ValueError(
                f"HOTLINE_TRANSFER_TARGETS: {item!r} is not exten=agent:NAME or exten=queue:NAME"
                " (exten: digits; NAME: letters, digits, _ and -)"
            )
        if exten in targets:
            raise ValueError(f"HOTLINE_TRANSFER_TARGETS: extension {exten} is listed twice")
        targets[exten] = (kind, name)
    return targets


class Settings(BaseSettings):
    """Every setting of Hotline, in groups; build it once in `main` and pass it in."""

    model_config = _group("HOTLINE_")
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    tickets: TicketSettings = Field(default_factory=TicketSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    crm: CrmClientSettings = Field(default_factory=CrmClientSettings)
    ami: AmiSettings = Field(default_factory=AmiSettings)
    sl: ServiceLevelSettings = Field(default_factory=ServiceLevelSettings)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    agi: AgiSettings = Field(default_factory=AgiSettings)
    asterisk: AsteriskSettings = Field(default_factory=AsteriskSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    lifecycle: LifecycleSettings = Field(default_factory=LifecycleSettings)
    staffing: StaffingSettings = Field(default_factory=StaffingSettings)
    transfers: TransferSettings = Field(default_factory=TransferSettings)
    imap: ImapSettings = Field(default_factory=ImapSettings)
    web: WebSettings = Field(default_factory=WebSettings)


def parse_tokens(value: str) -> list[tuple[Role, str]]:
    """Parse `role:token,role:token`; refuse unknown roles and placeholder or short tokens."""
    return [(role, token) for role, _agent, token in parse_token_entries(value)]


def parse_token_entries(value: str) -> list[tuple[Role, str, str]]:
    """(role, agent name or "", token) for each `role:token` or `agent/NAME:token`."""
    entries: list[tuple[Role, str, str]] = []
    for raw in value.split(","):
        item = raw.strip()
        if not item:
            continue
        role, sep, token = item.partition(":")
        role, _slash, agent = role.strip().partition("/")
        role, agent = role.strip(), agent.strip()
        token = token.strip()
        if _slash and (role != "agent" or not agent):
            raise ValueError(
                f"HOTLINE_API_TOKENS: only agent tokens name someone (agent/NAME:token), "
                f"not {item.partition(':')[0]!r}"
            )
        if not sep or role not in ROLES:
            raise ValueError(
                f"HOTLINE_API_TOKENS: {role!r} is not a role; expected role:token with role "
                f"one of {', '.join(ROLES)}"
            )
        if token.lower() in _PLACEHOLDER_TOKENS or len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"HOTLINE_API_TOKENS: the {role} token is a placeholder or shorter than "
                f"{MIN_TOKEN_LENGTH} characters"
            )
        entries.append((role, agent, token))  # type: ignore[arg-type]
    return entries
