"""Jinja2 templates of the pages: one environment per language (its translations
installed), the filters for dates and numbers, and `render`, which every page calls."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from crm.people.service import Person
from crm.web.i18n import LANGUAGES, Formats, pick_language, translations
from crm.web.session import KEPT_FORM, csrf_token, session_language


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str  # English msgid: translated in the template
    roles: tuple[str, ...]


# Pages hold a person's data and a CSRF token: never cached, never framed by another site.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

# The navigation bar: each page helper adds its entry here (label translated in ru).
NAV: list[NavItem] = [
    NavItem("/wallboard", "Wallboard", ("supervisor",)),
    NavItem("/history", "History", ("supervisor",)),
    NavItem("/calls", "Calls", ("supervisor",)),
    NavItem("/agents", "Agents", ("supervisor",)),
    NavItem("/sla", "SLA at risk", ("supervisor",)),
    NavItem("/desk", "Desk", ("agent",)),
]


def _static_version() -> str:
    """A digest of the static files, appended to their URLs so a new release is fetched."""
    digest = hashlib.sha256()
    root = resources.files("crm.web").joinpath("static")
    stack = [root]
    while stack:
        folder = stack.pop()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_dir():
                stack.append(entry)
            else:
                digest.update(entry.name.encode())
                digest.update(entry.read_bytes())
    return digest.hexdigest()[:10]


class Pages:
    """The template environments of every language, built once by bootstrap."""

    def __init__(self, timezone: str, default_language: str = "ru") -> None:
        self.timezone = timezone
        self.default_language = default_language
        self.version = _static_version()
        self.environments = {language: self._environment(language) for language in LANGUAGES}

    def _environment(self, language: str) -> Environment:
        env = Environment(
            loader=PackageLoader("crm.web", "templates"),
            autoescape=select_autoescape(default=True),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
        formats = Formats(language, self.timezone)
        env.filters["datetime"] = formats.datetime
        env.filters["time"] = formats.time
        env.filters["number"] = formats.number
        env.filters["percent"] = formats.percent
        env.globals["lang"] = language
        env.globals["timezone"] = self.timezone
        env.globals["static"] = lambda path: f"/static/{path}?v={self.version}"
        return env

    def language_of(self, request: Request, person: Person | None) -> str:
        return pick_language(
            session_language(request),
            person.language if person else None,
            self.default_language,
        )

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        person: Person | None = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """`template` rendered for `person` in their language, with the page's CSRF token."""
        if person is None:
            person = request.scope.get("hotline.person")
        language = self.language_of(request, person)
        env = self.environments[language]
        nav = [item for item in NAV if person is not None and person.role in item.roles]
        html = env.get_template(template).render(
            request=request,
            person=person,
            nav=nav,
            csrf_token=csrf_token(request),
            kept_form=_kept_form(request),
            **(context or {}),
        )
        response = HTMLResponse(html, status_code=status_code, headers=headers)
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _kept_form(request: Request) -> dict[str, Any] | None:
    """The fields of a form posted after the session expired, once, on the page they
    belong to (hotline.js puts them back)."""
    kept = request.session.get(KEPT_FORM)
    if isinstance(kept, dict) and kept.get("path") == request.url.path:
        return request.session.pop(KEPT_FORM)
    return None


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, **kw: Any
) -> HTMLResponse:
    """Shortcut: `request.app.state.pages.render(...)`."""
    return request.app.state.pages.render(request, template, context, **kw)
