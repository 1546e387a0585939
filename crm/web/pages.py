"""The pages every person meets: `/login` (fields `username`, `password`), `/logout`,
the language switch, and `/`, which sends each person to their own page."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from crm.people.service import LANGUAGES
from crm.web.auth import home_of, login_url, safe_next
from crm.web.session import (
    csrf_matches,
    end_session,
    session_person,
    set_session_language,
    start_session,
)
from crm.web.templates import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
MAX_FIELD = 1024


@router.get("/")
async def root(request: Request) -> Response:
    person = await session_person(request)
    return RedirectResponse(home_of(person) if person else "/login", status_code=303)


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    person = await session_person(request)
    if person is not None:
        return RedirectResponse(safe_next(next) or home_of(person), status_code=303)
    return render(request, "login.html", {"next": safe_next(next) or "", "username": ""})


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    password: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    csrf_token: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    next: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    """Log in; any failure gives the same message (and counts against the login)."""
    context = {"next": safe_next(next) or "", "username": username}
    if not csrf_matches(request, csrf_token):
        # No session cookie (expired, or cookies blocked): not a wrong password.
        return render(request, "login.html", {**context, "error": "expired"}, status_code=400)
    person = await request.app.state.people.authenticate(username, password)
    if person is None:
        log.info("login refused for %r from %s", username[:64], _client(request))
        return render(request, "login.html", {**context, "error": "refused"}, status_code=401)
    await start_session(request, person, request.app.state.people.clock())
    log.info("%s logged in from %s", person.login, _client(request))
    return RedirectResponse(safe_next(next) or home_of(person), status_code=303)


@router.post("/logout")
async def logout(
    request: Request, csrf_token: Annotated[str, Form(max_length=MAX_FIELD)] = ""
) -> Response:
    if not csrf_matches(request, csrf_token):
        return render(request, "forbidden.html", {"reason": "csrf", "home": "/"}, status_code=403)
    await end_session(request)
    return RedirectResponse("/login", status_code=303)


@router.post("/language")
async def choose_language(
    request: Request,
    language: Annotated[str, Form(max_length=8)],
    csrf_token: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    next: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    """The person's language: kept in their session, and on their record when logged in."""
    if not csrf_matches(request, csrf_token) or language not in LANGUAGES:
        return render(request, "forbidden.html", {"reason": "csrf", "home": "/"}, status_code=403)
    set_session_language(request, language)
    person = await session_person(request)
    if person is not None:
        await request.app.state.people.set_language(person.id, language)
    target = safe_next(next) or (home_of(person) if person else login_url(None))
    return RedirectResponse(target, status_code=303)


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"
