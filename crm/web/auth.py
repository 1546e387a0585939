"""Who may open a page: `page_user(*roles)` gives the logged-in person, sends anybody else
to `/login?next=...` (keeping a posted form's fields for after the login), and answers
403 to a person of another role. A page's own form posts are CSRF-checked here."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse, Response

from crm.people.service import Person
from crm.web.session import CSRF_FIELD, CSRF_HEADER, KEPT_FORM, csrf_matches, session_person
from crm.web.templates import render

HOME = {"supervisor": "/wallboard", "agent": "/desk"}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Form fields never kept across a login.
_NOT_KEPT = frozenset({CSRF_FIELD, "password"})


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class PageForbidden(Exception):
    def __init__(self, person: Person, reason: str) -> None:
        self.person, self.reason = person, reason


class CsrfRefused(Exception):
    pass


def home_of(person: Person) -> str:
    return HOME.get(person.role, "/login")


def safe_next(value: str | None) -> str | None:
    """`value` if it is a path on this site (never another host: no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in value):
        return None
    return value


def login_url(next_url: str | None) -> str:
    return "/login" + (f"?next={quote(next_url, safe='/')}" if next_url else "")


def page_user(*roles: str) -> Callable[..., Coroutine[Any, Any, Person]]:
    """Dependency of a page: its logged-in person, who must have one of `roles`."""

    async def _check(request: Request) -> Person:
        person = await session_person(request)
        if person is None:
            raise LoginRequired(_this_page(request))
        if person.role not in roles:
            raise PageForbidden(person, f"this page is for: {', '.join(roles)}")
        if request.method not in SAFE_METHODS:
            presented = request.headers.get(CSRF_HEADER)
            if presented is None:
                value = (await request.form()).get(CSRF_FIELD)
                presented = value if isinstance(value, str) else None
            if not csrf_matches(request, presented):
                raise CsrfRefused()
        return person

    return _check


def _this_page(request: Request) -> str:
    if request.method in SAFE_METHODS:
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")
    # A form posted after the session expired: back to the page it came from.
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    if parts.netloc == request.url.netloc and parts.path:
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.url.path


async def _kept_fields(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "")
    if request.method in SAFE_METHODS or not content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        return {}
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k not in _NOT_KEPT}


def install_page_auth(app: FastAPI) -> None:
    """The handlers that turn the page dependency's refusals into pages and redirects."""

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        fields = await _kept_fields(request)
        if fields:
            request.session[KEPT_FORM] = {"path": exc.next_url.split("?")[0], "fields": fields}
        target = login_url(exc.next_url)
        if request.headers.get("hx-request"):  # htmx follows HX-Redirect, not a 303
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, exc: PageForbidden) -> Response:
        return render(
            request,
            "forbidden.html",
            {"reason": exc.reason, "home": home_of(exc.person)},
            person=exc.person,
            status_code=403,
        )

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _exc: CsrfRefused) -> Response:
        return render(request, "forbidden.html", {"reason": "csrf", "home": "/"}, status_code=403)
