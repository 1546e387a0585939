"""The signed session cookie: Starlette's SessionMiddleware (itsdangerous), Secure when the
request came over HTTPS, and what a session holds (person, signing time, CSRF token,
language).

The cookie carries only ids and a timestamp, signed; every request checks that the
session's record is still in Redis (logging out deletes it) and the person in SQL
(enabled, password unchanged since the session was signed), so logging out, disabling a
person or changing a password ends the session at once.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from core.keys import web_session
from core.settings import WebSettings
from crm.people.service import Person

log = logging.getLogger(__name__)
COOKIE_NAME = "hotline_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_PERSON, _SIGNED_AT, _CSRF, _LANGUAGE, _ID = "uid", "at", "csrf", "lang", "sid"
KEPT_FORM = "kept_form"  # {"path": the page, "fields": {name: value}} until it is shown


class SecretUnavailable(RuntimeError):
    """No session secret set and none could be kept in the file."""


DEFAULT_SECRET_FILE = "hotline-session.key"


def session_secret(settings: WebSettings) -> str:
    """`HOTLINE_SESSION_SECRET`, or the key kept in `HOTLINE_SESSION_SECRET_FILE`, created
    (mode 0600) on first use: several processes starting at once agree on one key. With
    neither (an embedded app: the demo, the tests), a key of this process only."""
    if settings.session_secret:
        return settings.session_secret
    if not settings.session_secret_file:
        log.info("no HOTLINE_SESSION_SECRET: sessions last as long as this process")
        return secrets.token_urlsafe(32)
    path = Path(settings.session_secret_file)
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)  # another process wrote it first
    except OSError as exc:
        raise SecretUnavailable(
            f"HOTLINE_SESSION_SECRET is not set and {path} cannot be created ({exc}); "
            "set HOTLINE_SESSION_SECRET (python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')"
        ) from None
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    log.info("session secret generated and kept in %s", path)
    return key


def _read_secret(path: Path) -> str:
    key = path.read_text().strip()
    if len(key) < 32:
        raise SecretUnavailable(f"{path} holds no usable session secret (under 32 characters)")
    return key


class SessionCookies:
    """ASGI middleware: the session cookie, with `Secure` when the request is HTTPS.

    Starlette's middleware takes `https_only` once; two instances over the same app, one
    chosen per request by its scheme (uvicorn's `--proxy-headers` sets the scheme from
    a trusted proxy's `X-Forwarded-Proto`)."""

    def __init__(self, app: ASGIApp, secret: str, max_age_s: int) -> None:
        common: dict[str, Any] = {
            "secret_key": secret,
            "session_cookie": COOKIE_NAME,
            "max_age": max_age_s,
            "same_site": "lax",
        }
        self.app = app
        self.plain = SessionMiddleware(app, https_only=False, **common)
        self.secure = SessionMiddleware(app, https_only=True, **common)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _bearer_api_call(scope):
            # A service's call with its token never uses a session: spared the cookie
            # work (40-80 us a request, measured), which the AGI's hot path would pay.
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"
        await (self.secure if secure else self.plain)(scope, receive, send)


def _bearer_api_call(scope: Scope) -> bool:
    if not scope["path"].startswith("/api/"):
        return False
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value[:7].lower() == b"bearer "
    return False


def csrf_token(conn: HTTPConnection) -> str:
    """This session's CSRF token (made on first use: anonymous sessions have one too, for
    the login form)."""
    token = conn.session.get(_CSRF)
    if not token:
        token = secrets.token_urlsafe(32)
        conn.session[_CSRF] = token
    return token


def csrf_matches(conn: HTTPConnection, presented: str | None) -> bool:
    expected = conn.session.get(_CSRF)
    return bool(expected and presented) and hmac.compare_digest(
        str(expected).encode(), str(presented).encode()
    )


async def start_session(conn: HTTPConnection, person: Person, signed_at: datetime) -> None:
    """Log `person` in: a fresh session (new id and CSRF token: no fixation), their
    language. `signed_at` comes from the people service's clock, the one `sessions_after`
    uses. The session's id is recorded in Redis: logging out deletes it, so a copy of the
    cookie is worthless afterwards."""
    language = person.language or conn.session.get(_LANGUAGE)
    kept_form = conn.session.get(KEPT_FORM)  # a form posted after the session expired
    session_id = secrets.token_urlsafe(24)
    await _redis(conn).set(web_session(session_id), str(person.id), ex=_max_age_s(conn))
    conn.session.clear()
    if kept_form:
        conn.session[KEPT_FORM] = kept_form
    conn.session[_ID] = session_id
    conn.session[_PERSON] = person.id
    conn.session[_SIGNED_AT] = signed_at.timestamp()
    conn.session[_CSRF] = secrets.token_urlsafe(32)
    if language:
        conn.session[_LANGUAGE] = language


async def end_session(conn: HTTPConnection) -> None:
    """Log out: the session's record goes, the cookie keeps only the language."""
    session_id = conn.session.get(_ID)
    if isinstance(session_id, str):
        try:
            await _redis(conn).delete(web_session(session_id))
        except RedisError:
            log.warning("logout: the session record could not be deleted (Redis is down)")
    _forget(conn)


def _forget(conn: HTTPConnection) -> None:
    language = conn.session.get(_LANGUAGE)
    conn.session.clear()
    if language:
        conn.session[_LANGUAGE] = language


def _redis(conn: HTTPConnection) -> Redis:
    return conn.app.state.redis


def _max_age_s(conn: HTTPConnection) -> int:
    return conn.app.state.settings.web.session_max_age_s


def session_ids(conn: HTTPConnection) -> tuple[str, int, datetime] | None:
    """(session id, person id, signing time) of a logged-in session, or None."""
    if "session" not in conn.scope:
        return None
    session_id = conn.session.get(_ID)
    person_id, signed_at = conn.session.get(_PERSON), conn.session.get(_SIGNED_AT)
    if (
        not isinstance(session_id, str)
        or not isinstance(person_id, int)
        or not isinstance(signed_at, int | float)
    ):
        return None
    return session_id, person_id, datetime.fromtimestamp(signed_at, UTC)


async def _session_open(conn: HTTPConnection, session_id: str, person_id: int) -> bool:
    """The session's record exists (renewed for another max age: the cookie is too)."""
    try:
        value = await _redis(conn).getex(web_session(session_id), ex=_max_age_s(conn))
    except RedisError:
        log.warning("sessions cannot be checked: Redis is down")
        return False
    return value is not None and value.decode() == str(person_id)


async def session_person(conn: HTTPConnection) -> Person | None:
    """The enabled person this request's session belongs to, or None. Cached per request."""
    if "hotline.person" in conn.scope:
        return conn.scope["hotline.person"]
    ids = session_ids(conn)
    person = None
    if ids is not None:
        session_id, person_id, signed_at = ids
        if await _session_open(conn, session_id, person_id):
            person = await conn.app.state.people.session_person(person_id, signed_at)
        if person is None:
            # logged out, disabled, or the password changed: the cookie is void
            _forget(conn)
    conn.scope["hotline.person"] = person
    return person


def session_language(conn: HTTPConnection) -> str | None:
    if "session" not in conn.scope:
        return None
    return conn.session.get(_LANGUAGE)


def set_session_language(conn: HTTPConnection, language: str) -> None:
    conn.session[_LANGUAGE] = language
