"""The AGI server's HTTP client of the CRM: short timeouts, errors it can act on."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from core.calendar import CalendarOverrides
from core.settings import CrmClientSettings


class CrmUnavailable(Exception):
    """The CRM did not answer in time, or answered with a server error."""


class CrmRefused(CrmUnavailable):
    """The CRM answered this request with an error (`status`): it is up, but said no."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class UinNotReserved(Exception):
    """The CRM does not know this UIN as reserved (a stock older than its database)."""


class WithdrawalRefused(Exception):
    """The CRM will not withdraw this UIN (worked on meanwhile, or withdrawn elsewhere)."""


class TicketMissing(Exception):
    """The CRM has no ticket of this UIN (yet: an owed ticket is created later)."""


@dataclass(frozen=True)
class Ticketed:
    uin: str
    ticket_id: int | None


# Reserving a block of UINs and re-reading the calendar run in the background, with no
# caller waiting on them: they get a longer deadline than the caller-facing calls, so a
# busy CRM still answers them.
BACKGROUND_TIMEOUT_S = 10.0


class CrmClient:
    """`register`, `register_reserved`, `exists`, `withdraw`, `reserve_uins`,
    `calendar_overrides`."""

    def __init__(
        self, settings: CrmClientSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._timeout_s = settings.timeout_s
        self._http = httpx.AsyncClient(
            base_url=settings.url,
            timeout=settings.timeout_s,
            transport=transport,
            # Callers' registrations (`REGISTERING_MAX`), owed tickets and reservations
            # together stay under this: their connections are kept, not reopened.
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=40),
            headers={"Authorization": f"Bearer {settings.token}"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self, method: str, path: str, timeout_s: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        deadline_s = timeout_s or self._timeout_s
        try:
            # httpx's timeouts are per phase (connect, each read...): this bounds the whole.
            async with asyncio.timeout(deadline_s):
                response = await self._http.request(method, path, timeout=deadline_s, **kwargs)
        except TimeoutError as exc:
            raise CrmUnavailable(f"{method} {path}: no answer in {deadline_s} s") from exc
        except httpx.HTTPError as exc:  # refused connections, broken replies
            raise CrmUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code in (401, 403, 502, 503, 504):
            # A token the CRM refuses, or a CRM (or the proxy before it) that says it is not
            # there: true of every call, not of this one.
            raise CrmUnavailable(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code >= 500:
            # The CRM failed on this request (say, on what it holds): the others may pass.
            raise CrmRefused(response.status_code, f"{method} {path}: HTTP {response.status_code}")
        return response

    async def register(self, caller_phone: str | None, caller_name: str | None) -> Ticketed:
        body = _ticket_body(caller_phone, caller_name)
        response = await self._call("POST", "/api/tickets", json=body)
        if response.status_code == 422 and caller_phone:
            # A number the CRM cannot read (an extension, "anonymous"): keep it as text.
            response = await self._call(
                "POST", "/api/tickets", json=_ticket_body(None, caller_name, caller_phone)
            )
        _ok(response)
        data = response.json()
        return Ticketed(data["uin"], data.get("id"))

    async def register_reserved(
        self, uin: str, caller_phone: str | None, caller_name: str | None
    ) -> Ticketed:
        response = await self._call(
            "PUT", f"/api/tickets/{uin}", json=_ticket_body(caller_phone, caller_name)
        )
        if _names_the_uin(response):
            raise UinNotReserved(uin)
        if response.status_code == 422 and caller_phone:
            response = await self._call(
                "PUT", f"/api/tickets/{uin}", json=_ticket_body(None, caller_name, caller_phone)
            )
        _ok(response)
        return Ticketed(uin, response.json().get("id"))

    async def exists(self, uin: str) -> Ticketed | None:
        """The ticket a caller's typed UIN names: a withdrawn UIN names the ticket its call
        went to (the caller was told the withdrawn one, and may give it again)."""
        response = await self._call("GET", f"/api/tickets/{uin}")
        if response.status_code == 404:
            return None
        _ok(response)
        ticket = response.json()
        if ticket.get("status") == "withdrawn" and ticket.get("withdrawn_into"):
            return await self.exists(ticket["withdrawn_into"])
        return Ticketed(ticket.get("uin", uin), ticket.get("id"))

    async def withdraw(self, uin: str, into: str) -> None:
        """Withdraw the new ticket `uin`: the caller named their request `into`."""
        response = await self._call("POST", f"/api/tickets/{uin}/withdraw", json={"into": into})
        if response.status_code == 404:
            raise TicketMissing(uin)
        if response.status_code in (409, 422):
            raise WithdrawalRefused(f"{uin} into {into}: {response.text[:200]}")
        _ok(response)

    async def reserve_uins(self, count: int) -> list[str]:
        response = await self._call(
            "POST",
            "/api/uins/reserve",
            timeout_s=max(BACKGROUND_TIMEOUT_S, self._timeout_s),
            json={"count": count},
        )
        _ok(response)
        return list(response.json()["uins"])

    async def calendar_overrides(self, background: bool = True) -> CalendarOverrides:
        """The supervisor's calendar overrides (`GET /api/calendar/overrides`).

        `background=False` bounds it by the caller-facing deadline instead (at start-up,
        before the FastAGI server listens)."""
        response = await self._call(
            "GET",
            "/api/calendar/overrides",
            timeout_s=max(BACKGROUND_TIMEOUT_S, self._timeout_s) if background else None,
        )
        _ok(response)
        try:
            return CalendarOverrides.from_days(
                (date.fromisoformat(o["day"]), o["kind"]) for o in response.json()
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CrmUnavailable(f"GET /api/calendar/overrides: unreadable answer: {exc}") from exc


def _ticket_body(
    phone: str | None, name: str | None, raw_number: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "phone",
        "caller_phone": phone or None,
        "caller_name": (name or None) and name[:200],
    }
    if raw_number:
        body["description"] = f"caller number as received: {raw_number[:40]}"
    return body


def _names_the_uin(response: httpx.Response) -> bool:
    if response.status_code != 422:
        return False
    try:
        problems = response.json()["detail"]
        return any(p.get("loc") == ["path", "uin"] for p in problems)
    except (ValueError, KeyError, TypeError, AttributeError):
        return False


def _ok(response: httpx.Response) -> None:
    """Any answer but a success is the CRM being unavailable for this call: the caller then
    gets a UIN from the stock instead of no UIN at all."""
    if not response.is_success:
        raise CrmRefused(
            response.status_code,
            f"{response.request.method} {response.request.url.path}: "
            f"HTTP {response.status_code}: {response.text[:200]}",
        )
