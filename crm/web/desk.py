"""The agent desk, `/desk`: one page for the agent's call (screen pop, context, transfers),
the ticket (classification, lifecycle, SLA clock), search and the agent's calls today.

The page is rendered once; `static/desk.js` then works over the JSON API with the
session (`/api/agents/{agent}/queue|pause|events`, `/api/calls/...`, `/api/tickets/...`),
so the desk and any other client meet the same checks. The agent is the logged-in
person's queue member name: an agent acts and sees only as itself.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from core.agent_pause import PAUSE_REASONS
from core.settings import Settings, parse_targets
from crm.people.service import Person
from crm.sla.events import SuspendReason
from crm.web.auth import page_user
from crm.web.i18n import translations
from crm.web.templates import render

router = APIRouter(include_in_schema=False)


def N_(message: str) -> str:
    """gettext's marker: the message is extracted for the catalogue, translated per request."""
    return message


# Table 5 of the regulation, in the order it lists them.
SUSPEND_REASONS = {
    SuspendReason.diagnostics: N_("Diagnostics: more time for analysis"),
    SuspendReason.external_system: N_("Waiting for an external system's vendor"),
    SuspendReason.customer_agreement: N_("Postponed at the customer's request"),
    SuspendReason.force_majeure: N_("Force majeure"),
    SuspendReason.more_information: N_("Waiting for information from the caller"),
    SuspendReason.change_request: N_("Waiting for a change request (3rd line)"),
}
# Pause reasons as the phone codes name them (`core.agent_pause`), for the translation.
PAUSE_LABELS = (N_("break"), N_("lunch"), N_("training"), N_("after-call work"), N_("meeting"))

# The strings desk.js shows, by key (`{name}` filled in by the script).
DESK_TEXT = {
    "queue_out": N_("Not in the queue: calls do not come to you."),
    "queue_in": N_("In the queue ({queues}): calls come to you."),
    "queue_paused": N_("Paused: {reason}, since {since}."),
    "join_queue": N_("Log in to the queue"),
    "leave_queue": N_("Log out of the queue"),
    "inn_required": N_("The INN is required."),
    "inn_length": N_("An INN has 10 digits (organisation) or 12 (individual)."),
    "inn_checksum": N_("The INN's check digits do not match: a digit is wrong."),
    "no_call": N_("No call on the desk yet."),
    "context_invalid": N_("Fix the marked fields: nothing was saved."),
    "context_first": N_("Fill in the context first: the next specialist must get it."),
    "context_saved": N_("Context saved at {at}."),
    "transfers_left": N_("{left} of {limit} left"),
    "limit_reached": N_(
        "Transfer limit reached ({limit}): this caller cannot be transferred again."
    ),
    "handed_over": N_("The caller was transferred: the call has left your desk."),
    "chain_step": N_("Transfer {n}: {from} → {to}"),
    "previous_context": N_("Context: {summary}; caller {name}; INN {inn}"),
    "transferred_from": N_("transferred from {agent} ({n})"),
    "transferred": N_("Transferred to {to} (transfer {n} of {limit})."),
    "consulting": N_("Calling {to}: the transfer counts when you complete it."),
    "transfer_cancelled": N_("Transfer cancelled: the caller is yours again."),
    "hours_minutes": N_("{h} h {m} min"),
    "sla_running": N_("Time left: {left} business time (deadline {deadline})"),
    "sla_paused": N_("Clock stopped: {left} left (deadline {deadline})"),
    "sla_breached": N_("Deadline passed ({deadline})"),
    "sla_by_agreement": N_("Deadline by agreement (priority 4)"),
    "ticket_created": N_("Ticket {uin} opened for the new question."),
    "found": N_("Found: {n}"),
    "no_calls_today": N_("No calls today yet."),
    "status_registered": N_("registered"),
    "status_in_progress": N_("in progress"),
    "status_suspended": N_("suspended"),
    "status_resolved": N_("resolved"),
    "status_closed": N_("closed"),
    "status_refused": N_("refused"),
    "status_withdrawn": N_("withdrawn"),
    "outcome_in_progress": N_("in progress"),
    "outcome_answered": N_("answered"),
    "outcome_abandoned": N_("abandoned"),
    "outcome_out_of_hours": N_("out of hours"),
    "outcome_unanswered": N_("unanswered"),
}


def start_of_today(timezone: str, now: datetime) -> datetime:
    """Midnight of today in the hotline's time zone (the agent's "today")."""
    zone = ZoneInfo(timezone)
    return datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)


@router.get("/desk")
async def desk(
    request: Request, person: Annotated[Person, Depends(page_user("agent"))]
) -> Response:
    settings: Settings = request.app.state.settings
    pages = request.app.state.pages
    gettext = translations(pages.language_of(request, person)).gettext
    targets = [
        {"exten": exten, "kind": kind, "name": name}
        for exten, (kind, name) in parse_targets(settings.transfers.targets).items()
    ]
    context: dict[str, Any] = {
        "agent": person.agent_member,
        "targets": targets,
        "pause_reasons": list(PAUSE_REASONS.items()),
        "suspend_reasons": [(r.value, gettext(label)) for r, label in SUSPEND_REASONS.items()],
        "today_from": start_of_today(
            settings.calendar.timezone, request.app.state.clock()
        ).isoformat(),
        "desk_text": {key: gettext(text) for key, text in DESK_TEXT.items()},
    }
    return render(request, "desk.html", context, person=person)
