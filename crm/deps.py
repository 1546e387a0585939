"""FastAPI dependencies: the service objects and auth with roles: a bearer token (services)
or the session cookie of a logged-in person (the pages), CSRF-checked."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from core.settings import Role, Settings
from core.uin import InvalidUin, canonical_uin
from crm.people.service import Person
from crm.service import TicketService
from crm.web.session import CSRF_FIELD, CSRF_HEADER, csrf_matches, session_person

_bearer = HTTPBearer(auto_error=False, description="a token from HOTLINE_API_TOKENS")


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    role: Role
    # The agent (queue member) an `agent/NAME:token` names, or a logged-in agent's own;
    # "" for other tokens and for supervisors.
    agent: str = ""
    person: Person | None = None  # the logged-in person; None for a bearer token

    @property
    def actor(self) -> str:
        """Who the audit log names: the person's login, or a token's role."""
        return self.person.login if self.person is not None else self.role


# Dependencies are `async def`: FastAPI runs a plain `def` one in its thread pool, a thread
# hop per request that cost more than the whole database work of registering a ticket.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_tickets(request: Request) -> TicketService:
    return request.app.state.tickets


def role_of(token: str, digests: dict[bytes, Role]) -> Role | None:
    """The role of `token`, comparing its digest with every known one in constant time."""
    presented = hashlib.sha256(token.encode()).digest()
    found: Role | None = None
    for digest, role in digests.items():
        if hmac.compare_digest(presented, digest):
            found = role
    return found


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency: a valid bearer token, or else the session of an enabled person (401
    without either), whose role is one of `roles` (else 403). A session's unsafe request
    (POST, PUT, PATCH, DELETE) must carry its CSRF token, in the `X-CSRF-Token` header or
    the form field `csrf_token` (else 403); bearer requests are not exposed to CSRF."""

    async def _check(
        request: Request,
        settings: Annotated[Settings, Depends(get_settings)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        unauthorised = HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid bearer token, or a logged-in person's session, is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
        # No bearer token (none, or another scheme such as a proxy's Basic): the session.
        if credentials is None:
            person = await session_person(request)
            if person is None:
                raise unauthorised
            if person.role not in roles:
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    f"{person.login} ({person.role}) may not do this; "
                    f"needs one of: {', '.join(roles)}",
                )
            if request.method not in SAFE_METHODS and not csrf_matches(
                request, await _presented_csrf(request)
            ):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    f"missing or wrong CSRF token (header {CSRF_HEADER} or field {CSRF_FIELD})",
                )
            return Principal(role=person.role, agent=person.agent_member, person=person)  # type: ignore[arg-type]
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise unauthorised
        role = role_of(credentials.credentials, settings.api.token_digests)
        if role is None:
            raise unauthorised
        if role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {role} may not do this; needs one of: {', '.join(roles)}",
            )
        presented = hashlib.sha256(credentials.credentials.encode()).digest()
        return Principal(role=role, agent=settings.api.token_agents.get(presented, ""))

    return _check


async def _presented_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def path_uin(
    uin: Annotated[str, Path(max_length=40, description="the UIN, short (208) or padded")],
    settings: Annotated[Settings, Depends(get_settings)],
) -> str:
    """The canonical UIN of the path's `{uin}`: every route takes the short form too."""
    try:
        return canonical_uin(uin, settings.tickets.uin_digits)
    except InvalidUin as exc:
        raise RequestValidationError(
            [{"loc": ("path", "uin"), "msg": str(exc), "type": "value_error", "input": uin}]
        ) from None


async def uin_width(settings: Annotated[Settings, Depends(get_settings)]) -> int:
    return settings.tickets.uin_digits


BodyT = TypeVar("BodyT", bound=BaseModel)


def body_uin(typed: str, digits: int, field: str) -> str:
    """The canonical UIN a request body names in `field` (422 naming it if it cannot be one)."""
    try:
        return canonical_uin(typed, digits)
    except InvalidUin as exc:
        raise RequestValidationError(
            [{"loc": ("body", field), "msg": str(exc), "type": "value_error", "input": typed}]
        ) from None


def with_canonical_duplicate_of(body: BodyT, digits: int) -> BodyT:
    """The body with its `duplicate_of` (if any) made the canonical UIN (422 naming it)."""
    typed = getattr(body, "duplicate_of", None)
    if not typed:
        return body
    return body.model_copy(update={"duplicate_of": body_uin(typed, digits, "duplicate_of")})


TicketsDep = Annotated[TicketService, Depends(get_tickets)]
UinWidth = Annotated[int, Depends(uin_width)]
# A route's `uin: UinPath` is the canonical UIN whatever form the client typed.
UinPath = Annotated[str, Depends(path_uin)]
AnyRole = Annotated[Principal, Depends(require("agent", "supervisor", "service"))]
ServiceRole = Annotated[Principal, Depends(require("service"))]
StaffRole = Annotated[Principal, Depends(require("agent", "supervisor"))]
